"""Security review finding 13: behind a reverse proxy each person keeps their own address (for limits and
the audit log), and only the configured proxies may say who the client is."""
from __future__ import annotations

import os
from typing import Any

import pytest

from api.web.proxies import TrustedProxiesMiddleware, client_address, parse_networks
from domain.settings import SettingsError, load_settings

PROXIES = parse_networks(["10.0.0.5", "10.1.0.0/16", "::1"])


def h(**headers: str) -> list[tuple[bytes, bytes]]:
    return [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]


def test_only_a_trusted_peer_may_name_the_client() -> None:
    assert client_address("10.0.0.5", h(x_forwarded_for="203.0.113.7"), PROXIES) == "203.0.113.7"
    assert client_address("198.51.100.9", h(x_forwarded_for="203.0.113.7"), PROXIES) == "198.51.100.9"
    assert client_address("10.0.0.5", h(x_forwarded_for="203.0.113.7"), ()) == "10.0.0.5"  # none configured


def test_the_right_most_untrusted_hop_is_the_client() -> None:
    # the client typed a fake first hop; our two proxies appended the real one and themselves
    chain = h(x_forwarded_for="1.2.3.4, 203.0.113.7, 10.1.2.3")
    assert client_address("10.0.0.5", chain, PROXIES) == "203.0.113.7"
    assert client_address("10.0.0.5", h(x_forwarded_for="garbage, 203.0.113.7"), PROXIES) == "203.0.113.7"
    assert client_address("10.0.0.5", h(x_forwarded_for="203.0.113.7, unknown"), PROXIES) == "10.0.0.5"


def test_forwarded_rfc7239_wins_over_x_forwarded_for() -> None:
    headers = h(forwarded='for="[2001:db8:cafe::17]:4711";proto=https, for=10.1.0.9', x_forwarded_for="9.9.9.9")
    assert client_address("::1", headers, PROXIES) == "2001:db8:cafe::17"
    assert client_address("10.0.0.5", h(forwarded="for=198.51.100.2:8080;by=10.0.0.5"), PROXIES) == "198.51.100.2"


async def test_the_middleware_rewrites_the_scope_for_trusted_peers_only() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"])

    mw = TrustedProxiesMiddleware(app, PROXIES)
    for peer in ("10.0.0.5", "198.51.100.9"):
        scope: Any = {"type": "http", "client": (peer, 5000), "headers": h(x_forwarded_for="203.0.113.7")}
        none: Any = None
        await mw(scope, none, none)
    assert seen == [("203.0.113.7", 0), ("198.51.100.9", 5000)]


def test_the_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert load_settings(os.environ).web.trusted_proxies == ("10.0.0.5/32", "10.1.0.0/16")
    monkeypatch.setenv("MOTCUA_TRUSTED_PROXIES", "10.0.0.5, proxy.local")
    with pytest.raises(SettingsError, match="MOTCUA_TRUSTED_PROXIES"):
        load_settings(os.environ)
