"""The client's address behind reverse proxies (security review finding 13).

Without this, every user behind the province's reverse proxy would share the proxy's address, and 20
failed sign-ins from anyone would block sign-in for all. ``MOTCUA_TRUSTED_PROXIES`` lists the proxies
(addresses or networks); only a request that *arrives from* one of them may say who the client is, in
``Forwarded`` (RFC 7239) or else ``X-Forwarded-For``. The address taken is the right-most one that is not
itself a trusted proxy: a client can prepend anything it likes, but not what our proxies append.
A request from anywhere else keeps its own peer address, whatever headers it sends.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]+)', re.I)


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``10.0.0.5``, ``10.0.0.0/24``, ``::1`` → networks; ValueError names a bad one."""
    out: list[Network] = []
    for value in values:
        text = value.strip()
        if text:
            try:
                out.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(f"not an IP address or network: {text!r}") from None
    return tuple(out)


def _address(token: str) -> str | None:
    """One hop of a header: ``203.0.113.7``, ``"[2001:db8::1]:4711"``, ``198.51.100.2:8080`` → the IP."""
    text = token.strip().strip('"').strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None  # "unknown", an obfuscated identifier, garbage: not an address


def forwarded_chain(headers: list[tuple[bytes, bytes]]) -> list[str | None]:
    """The hops the proxies reported, client first: ``Forwarded`` if present, else ``X-Forwarded-For``."""
    forwarded = [v.decode("latin-1") for k, v in headers if k.lower() == b"forwarded"]
    if forwarded:
        return [_address(m.group(1)) for m in _FOR.finditer(",".join(forwarded))]
    xff = [v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-for"]
    return [_address(part) for part in ",".join(xff).split(",") if part.strip()]


def client_address(peer: str, headers: list[tuple[bytes, bytes]], trusted: tuple[Network, ...]) -> str:
    """Who the client is, given the connection's peer and what trusted proxies appended."""

    def is_trusted(address: str | None) -> bool:
        if address is None:
            return False
        ip = ipaddress.ip_address(address)
        return any(ip in net for net in trusted)

    if not trusted or not _is_ip(peer) or not is_trusted(peer):
        return peer
    for hop in reversed(forwarded_chain(headers)):
        if hop is None:
            return peer  # a hop we cannot read: stop at the last proxy we trust
        if not is_trusted(hop):
            return hop
    return peer


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class TrustedProxiesMiddleware:
    """ASGI middleware: rewrites ``scope["client"]`` from the proxies' headers, for trusted peers only."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...] = ()) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client: Any = scope.get("client")
        if self.trusted and scope["type"] in ("http", "websocket") and client:
            address = client_address(str(client[0]), list(scope.get("headers", [])), self.trusted)
            if address != client[0]:
                scope = dict(scope)  # type: ignore[assignment]  # a shallow copy of the same scope
                scope["client"] = (address, 0)
        await self.app(scope, receive, send)
