"""The postal operator's interface: the in-process sandbox, and the HTTP adapter against the sandbox process
(what it checks, what it answers)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from domain.postal.operator import HttpOperator, PostalError, PostalOperator, SandboxOperator, operator_for
from tests.domain.postal.sandbox import deliver, free_port, sandbox_process


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    with sandbox_process(fee_vnd=27_000) as url:
        yield url


def test_both_implementations_are_postal_operators() -> None:
    assert isinstance(SandboxOperator(), PostalOperator)
    assert isinstance(HttpOperator("http://127.0.0.1:1"), PostalOperator)
    assert isinstance(operator_for(""), SandboxOperator)
    assert isinstance(operator_for("http://127.0.0.1:1"), HttpOperator)


def test_the_in_process_sandbox_quotes_and_delivers() -> None:
    op = SandboxOperator(fee_vnd=30_000)
    assert op.quote("12 Lê Lợi, Tây Ninh") == 30_000
    with pytest.raises(PostalError):
        op.quote(" ")
    assert op.track("EM1234VN") is None
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    op.deliver("em1234vn", at)
    assert op.track("EM1234VN") == at


def test_the_http_adapter_talks_to_the_sandbox_process(sandbox_url: str) -> None:
    op = HttpOperator(sandbox_url, timeout=5)
    assert op.quote("12 Lê Lợi, Phường Tân Ninh, Tây Ninh") == 27_000
    assert op.track("EM20261201VN") is None
    deliver(sandbox_url, "EM20261201VN", "2026-12-02T08:15:00+07:00")
    assert op.track("em20261201vn") == datetime(2026, 12, 2, 1, 15, tzinfo=UTC)
    with pytest.raises(PostalError):
        op.track("not a waybill")
    with pytest.raises(PostalError):
        op.quote("x")


def test_the_sandbox_process_validates_what_it_receives(sandbox_url: str) -> None:
    for url, data in ((f"{sandbox_url}/v1/quote?address=ab", None), (f"{sandbox_url}/v1/shipments/a%20b", None),
                      (f"{sandbox_url}/sandbox/shipments/EM99999VN/deliver", b"[1]"),
                      (f"{sandbox_url}/sandbox/shipments/EM99999VN/deliver", b'{"delivered_at": "yesterday"}')):
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5)
        assert exc.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(f"{sandbox_url}/v2/anything", timeout=5)
    assert exc.value.code == 404


def test_an_unreachable_operator_is_a_postal_error() -> None:
    op = HttpOperator(f"http://127.0.0.1:{free_port()}", timeout=1)
    with pytest.raises(PostalError):
        op.track("EM1234VN")
    with pytest.raises(PostalError):
        op.quote("12 Lê Lợi, Tây Ninh")
