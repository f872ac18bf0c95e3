"""Fee rules from the bundled catalogue: fixed per channel, free, per page with tiers and a cap, council."""

from __future__ import annotations

import gzip
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.catalog.procedures import BUNDLE
from domain.payments import fees
from domain.payments.machine import FINAL, LIVE, TABLE, InvalidPaymentTransition, Status, next_status


@cache
def catalogue() -> dict[str, dict[str, Any]]:
    with gzip.open(BUNDLE, "rt", encoding="utf-8") as fh:
        return {r["data"]["code"]: r["data"] for r in map(json.loads, fh)}


def rule(code: str, channel: str = "online") -> fees.FeeRule:
    return fees.rule_for(catalogue()[code], channel)


def test_fixed_fee_online_is_cheaper_than_in_person_1_004222() -> None:
    online, in_person = rule("1.004222"), rule("1.004222", "in_person")
    assert (online.kind, online.amount_vnd) == (fees.FIXED, 10_000)
    assert (in_person.kind, in_person.amount_vnd) == (fees.FIXED, 20_000)
    q = fees.compute(online, {}, name="Lệ phí đăng ký thường trú")
    assert q.amount_vnd == 10_000 and q.payable and q.lines[0].amount_vnd == 10_000


def test_free_procedure_1_001193() -> None:
    r = rule("1.001193")
    assert r.kind == fees.FREE
    q = fees.compute(r)
    assert q.amount_vnd == 0 and not q.payable


def test_per_page_tiers_and_cap_2_000815() -> None:
    r = rule("2.000815")  # no online channel: the in-person row with an amount
    assert r.kind == fees.PER_PAGE
    assert r.tiers == ((1, 2_000), (3, 1_000)) and r.cap_per_copy == 200_000
    assert [fees.per_copy(r, n) for n in (1, 2, 3, 10)] == [2_000, 4_000, 5_000, 12_000]
    assert fees.per_copy(r, 196) == 198_000 and fees.per_copy(r, 197) == 199_000
    assert fees.per_copy(r, 198) == 200_000 and fees.per_copy(r, 500) == 200_000  # the cap per copy
    q = fees.compute(r, {"papers": [{"doc_name": "Bằng tốt nghiệp", "pages": 2, "copies": 3},
                                    {"doc_name": "Học bạ", "pages": 12, "copies": "2"}]})
    assert [x.amount_vnd for x in q.lines] == [3 * 4_000, 2 * 14_000] and q.amount_vnd == 40_000


@pytest.mark.parametrize("papers", [[], [{"pages": 0, "copies": 1}], [{"pages": "x", "copies": 1}],
                                    [{"pages": 3, "copies": -1}], [{"pages": 10**9, "copies": 1}]])
def test_per_page_needs_sane_pages_and_copies(papers: list[dict[str, Any]]) -> None:
    assert fees.compute(rule("2.000815"), {"papers": papers}).amount_vnd is None


@given(st.integers(min_value=1, max_value=2000))
def test_per_copy_never_decreases_and_never_passes_the_cap(pages: int) -> None:
    r = rule("2.000815")
    assert fees.per_copy(r, pages) >= fees.per_copy(r, pages - 1)
    assert 0 < fees.per_copy(r, pages) <= 200_000


def test_council_decided_fee_has_no_amount_and_says_no_refund_1_001612() -> None:
    r = rule("1.001612")
    assert r.kind == fees.COUNCIL and r.amount_vnd is None and r.no_refund
    assert fees.compute(r).amount_vnd is None


def test_council_text_saying_free_is_not_free_1_013225() -> None:
    assert rule("1.013225").kind == fees.COUNCIL


def test_every_catalogue_channel_gets_a_rule_with_a_sane_amount() -> None:
    kinds: dict[str, int] = {}
    for data in catalogue().values():
        for channel in data.get("channels") or []:
            r = fees.rule_from_channel(channel)
            kinds[r.kind] = kinds.get(r.kind, 0) + 1
            if r.kind == fees.FIXED:
                assert r.amount_vnd is not None and 0 < r.amount_vnd < 10**9
            if r.kind == fees.PER_PAGE:
                assert r.tiers and all(v > 0 for _, v in r.tiers)
    assert kinds[fees.FIXED] > 100 and kinds[fees.FREE] > 100 and kinds[fees.PER_PAGE] >= 1


def test_refund_rules() -> None:
    assert fees.refund_due("refused_at_intake", received=False, no_refund=False)[0]
    assert fees.refund_due("withdrawn", received=False, no_refund=False)[0]
    assert not fees.refund_due("withdrawn", received=True, no_refund=False)[0]
    assert not fees.refund_due("rejected", received=True, no_refund=False)[0]
    assert not fees.refund_due("refused_at_intake", received=False, no_refund=True)[0]
    assert not fees.refund_due("processing", received=True, no_refund=False)[0]


def test_state_machine_table() -> None:
    assert next_status("created", "start") == Status.STARTED
    assert next_status("started", "succeed") == Status.SUCCESS
    for final in FINAL:  # final states never move
        for event in TABLE:
            with pytest.raises(InvalidPaymentTransition):
                next_status(final, event)
    for live in LIVE:  # no dead state: every live state can reach every final one
        assert {TABLE[e][1] for e in TABLE if live in TABLE[e][0]} >= FINAL
