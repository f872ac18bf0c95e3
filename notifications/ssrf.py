"""No server-side request forgery through push endpoints.

A push endpoint is a URL a browser handed us; the worker POSTs to it. So before any connection:

* the URL must be https (plain http only in dev/test), without user info, with a host name;
* every address the host resolves to must be public (``ipaddress.is_global``): private, loopback,
  link-local, shared (CGNAT), multicast, reserved and unspecified ranges are refused, as are IPv6
  forms that embed such an IPv4 address (mapped, 6to4, NAT64 well-known prefix);
* whole IPv6 ranges that reach IPv4 or private networks through a translator or that are not
  routable are refused outright, whatever they embed (:data:`REFUSED_V6`): IPv4-mapped and
  -compatible, NAT64 (``64:ff9b::/96`` and the local-use ``64:ff9b:1::/48``), 6to4, Teredo,
  link-local, unique-local, multicast, documentation and discard-only;
* the port must be 443 (others only when configured: ``ports``);
* loopback is let through only with ``MOTCUA_PUSH_ALLOW_LOOPBACK=1`` (the tests' local push service),
  and then on any port.

The check is made when a subscription is saved (a clear 400) and again at send time inside the
HTTP client's resolver (:class:`GuardedResolver`), which hands the client exactly the addresses it
checked, so a DNS answer cannot change between the check and the connection. Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult

MAX_ENDPOINT = 2048
RESOLVE_TIMEOUT = 5.0
NAT64 = ipaddress.ip_network("64:ff9b::/96")
PUSH_PORTS = (443,)
REFUSED_V6 = tuple(ipaddress.ip_network(n) for n in (
    "::ffff:0:0/96",  # IPv4-mapped
    "::/96",  # IPv4-compatible (deprecated), and :: itself
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64: well-known and local-use prefixes
    "2002::/16",  # 6to4
    "2001::/32",  # Teredo
    "fe80::/10", "fec0::/10",  # link-local, site-local (deprecated)
    "fc00::/7",  # unique-local
    "ff00::/8",  # multicast
    "2001:db8::/32", "3fff::/20",  # documentation
    "100::/64",  # discard-only
))

Resolver = Callable[[str, int], Awaitable[list[str]]]


class EndpointRefused(OSError):
    """The endpoint is malformed or points where the server must not connect."""


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def check_ip(address: str, *, allow_loopback: bool = False) -> None:
    """Raise EndpointRefused unless the address is public (or loopback when allowed)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise EndpointRefused(f"Không phải địa chỉ IP: {address!r}.") from None
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if not (ip.is_loopback and allow_loopback) and any(ip in net for net in REFUSED_V6):
            raise EndpointRefused("Địa chỉ nhận thông báo đẩy thuộc dải IPv6 nội bộ hoặc dành riêng (private "
                                  f"or reserved, {ip}).")
        inner = _embedded_v4(ip)
        if inner is not None:
            candidates.append(inner)
    for candidate in candidates:
        if candidate.is_loopback and allow_loopback:
            continue
        if not candidate.is_global or candidate.is_multicast:
            raise EndpointRefused("Địa chỉ nhận thông báo đẩy thuộc dải nội bộ hoặc dành riêng (private or "
                                  f"reserved, {ip}).")


def split_endpoint(url: str, *, allow_http: bool) -> tuple[str, int]:
    """Syntax of a push endpoint → (host, port), or EndpointRefused."""
    if not isinstance(url, str) or not url or len(url) > MAX_ENDPOINT:
        raise EndpointRefused(f"Địa chỉ nhận thông báo đẩy phải là URL dài tối đa {MAX_ENDPOINT} ký tự.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise EndpointRefused("Địa chỉ nhận thông báo đẩy chứa dấu cách hoặc ký tự điều khiển.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"Địa chỉ nhận thông báo đẩy không phải URL hợp lệ ({exc}).") from None
    if parts.scheme not in (("https", "http") if allow_http else ("https",)):
        raise EndpointRefused("Địa chỉ nhận thông báo đẩy phải là URL https://.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise EndpointRefused("Địa chỉ nhận thông báo đẩy không được chứa tên người dùng hay mật khẩu.")
    host = parts.hostname
    if not host:
        raise EndpointRefused("Địa chỉ nhận thông báo đẩy thiếu tên máy chủ (no host).")
    if parts.fragment:
        raise EndpointRefused("Địa chỉ nhận thông báo đẩy không được có phần #fragment.")
    return host, port or (443 if parts.scheme == "https" else 80)


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


async def system_resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_port(port: int, addresses: list[str], *, ports: tuple[int, ...], allow_loopback: bool) -> None:
    """Only the allowed ports (443 unless configured); any port on loopback when loopback is allowed."""
    if port in ports:
        return
    if allow_loopback and addresses and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback
                                            for a in addresses):
        return
    raise EndpointRefused(f"Địa chỉ nhận thông báo đẩy dùng cổng {port} không được phép (port not allowed).")


async def check_endpoint(url: str, *, allow_http: bool, allow_loopback: bool,
                         resolve: Resolver = system_resolve, ports: tuple[int, ...] = PUSH_PORTS) -> list[str]:
    """Full check (syntax, port, then every resolved address); returns the addresses. Never connects."""
    host, port = split_endpoint(url, allow_http=allow_http)
    if is_ip_literal(host):
        check_ip(host, allow_loopback=allow_loopback)
        check_port(port, [host], ports=ports, allow_loopback=allow_loopback)
        return [host]
    local = host.rstrip(".").lower().endswith((".localhost", ".local", ".internal")) or host.lower() == "localhost"
    if local and not allow_loopback:
        raise EndpointRefused("Địa chỉ nhận thông báo đẩy trỏ tới máy nội bộ (local host name).")
    if port not in ports and not allow_loopback:  # before resolving: a wrong port needs no DNS
        raise EndpointRefused(f"Địa chỉ nhận thông báo đẩy dùng cổng {port} không được phép (port not allowed).")
    try:
        addresses = await resolve(host, port)
    except (OSError, TimeoutError) as exc:
        raise EndpointRefused(f"Không phân giải được tên máy chủ {host!r} ({exc}).") from None
    if not addresses:
        raise EndpointRefused(f"Không tìm được địa chỉ của máy chủ {host!r} (no address).")
    for address in addresses:
        check_ip(address, allow_loopback=allow_loopback)
    check_port(port, addresses, ports=ports, allow_loopback=allow_loopback)
    return addresses


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses non-public addresses: the check and the connection use the same
    answer. (IP-literal URLs do not reach a resolver: :func:`check_endpoint` covers those before.)"""

    def __init__(self, *, allow_loopback: bool, resolve: Resolver = system_resolve,
                 ports: tuple[int, ...] = PUSH_PORTS) -> None:
        self.allow_loopback = allow_loopback
        self._resolve = resolve
        self.ports = ports

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[ResolveResult]:
        addresses = await check_endpoint(f"https://{host}:{port or 443}/", allow_http=False,
                                         allow_loopback=self.allow_loopback, resolve=self._resolve,
                                         ports=self.ports) \
            if not is_ip_literal(host) else [host]
        for address in addresses:
            check_ip(address, allow_loopback=self.allow_loopback)
        check_port(port or 443, addresses, ports=self.ports, allow_loopback=self.allow_loopback)
        results: list[ResolveResult] = []
        for address in addresses:
            fam = socket.AF_INET6 if ":" in address else socket.AF_INET
            results.append(ResolveResult(hostname=host, host=address, port=port, family=fam, proto=0,
                                         flags=socket.AI_NUMERICHOST))
        return results

    async def close(self) -> None:
        return None
