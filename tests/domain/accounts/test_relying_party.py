"""The relying party the core's passkey checks are given: RP ID and origin from the public URL."""

from __future__ import annotations

import pytest

from domain.accounts.passkeys import RelyingParty


@pytest.mark.parametrize(("url", "rp_id", "origin"), [
    ("https://dichvucong.example.vn", "dichvucong.example.vn", "https://dichvucong.example.vn"),
    ("https://DichVuCong.Example.vn:443/", "dichvucong.example.vn", "https://dichvucong.example.vn"),
    ("http://localhost:8000", "localhost", "http://localhost:8000"),
    ("https://example.vn:8443/base", "example.vn", "https://example.vn:8443"),
])
def test_of_public_url(url: str, rp_id: str, origin: str) -> None:
    assert RelyingParty.of(url) == RelyingParty(rp_id, origin)
