"""Security review finding 10: push endpoints on IPv6 translator/private ranges or on ports other than 443
are refused before any connection (also when a host name resolves there)."""
from __future__ import annotations

import pytest

from notifications import ssrf

REFUSED = [
    "https://[::127.0.0.1]/",  # IPv4-compatible form of loopback
    "https://[::8.8.8.8]/",  # IPv4-compatible, even of a public address
    "https://[::ffff:8.8.8.8]/",  # IPv4-mapped
    "https://[64:ff9b:1::a9fe:a9fe]/",  # local-use NAT64 to 169.254.169.254
    "https://[64:ff9b::808:808]/",  # well-known NAT64, even to a public address
    "https://[2002:808:808::1]/",  # 6to4
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://[fe80::1]/", "https://[fd12:3456::1]/", "https://[ff02::1]/",
    "https://[2001:db8::1]/", "https://[3fff::1]/", "https://[100::1]/",
    "https://8.8.8.8:6379/",  # a public address on another port
    "https://push.example:8443/x",
]


async def resolve(host: str, port: int) -> list[str]:
    return {"push.example": ["8.8.8.8"], "nat.example": ["64:ff9b:1::a00:1"], "six.example": ["2002:a00:1::1"]}[host]


@pytest.mark.parametrize("url", REFUSED + ["https://nat.example/", "https://six.example/"])
async def test_refused_before_connecting(url: str) -> None:
    with pytest.raises(ssrf.EndpointRefused):
        await ssrf.check_endpoint(url, allow_http=False, allow_loopback=False, resolve=resolve)


async def test_public_https_on_443_is_accepted() -> None:
    assert await ssrf.check_endpoint("https://push.example/x", allow_http=False, allow_loopback=False,
                                     resolve=resolve) == ["8.8.8.8"]
    assert await ssrf.check_endpoint("https://push.example:443/x", allow_http=False, allow_loopback=False,
                                     resolve=resolve) == ["8.8.8.8"]
    assert await ssrf.check_endpoint("https://[2606:4700::1111]/", allow_http=False, allow_loopback=False,
                                     resolve=resolve) == ["2606:4700::1111"]


async def test_other_ports_only_when_configured() -> None:
    assert await ssrf.check_endpoint("https://push.example:8443/x", allow_http=False, allow_loopback=False,
                                     resolve=resolve, ports=(443, 8443)) == ["8.8.8.8"]


async def test_the_local_push_service_of_the_tests_may_use_any_port_on_loopback_only() -> None:
    assert await ssrf.check_endpoint("http://127.0.0.1:9/x", allow_http=True, allow_loopback=True) == ["127.0.0.1"]
    with pytest.raises(ssrf.EndpointRefused):  # loopback allowed does not open other hosts' ports
        await ssrf.check_endpoint("https://push.example:6379/x", allow_http=False, allow_loopback=True,
                                  resolve=resolve)


async def test_the_send_time_resolver_applies_the_same_rules() -> None:
    guard = ssrf.GuardedResolver(allow_loopback=False, resolve=resolve)
    assert [r["host"] for r in await guard.resolve("push.example", 443)] == ["8.8.8.8"]
    for host, port in (("push.example", 6379), ("nat.example", 443), ("six.example", 443)):
        with pytest.raises(ssrf.EndpointRefused):
            await guard.resolve(host, port)
