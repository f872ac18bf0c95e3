"""The 2025 rules through the domain's own use cases at chosen moments: the legal clock stops while a dossier
is stopped, waits for a fee or for a supplement, and the due date moves by exactly the working time it stood
still; each history's states, dates and national status (the indicators' values are another task)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.calendar.due import due_for_procedure
from domain.calendar.engine import TZ
from domain.dossiers import filing
from domain.dossiers.models import Dossier, DossierHistory, DossierPause
from domain.errors import Conflict, InvalidInput
from domain.outbox.models import Notification
from domain.payments import operations
from domain.payments.gateways.base import Notice
from domain.payments.models import Payment
from domain.workflow import national_status
from tests.domain.stats.world import World, act, file, make_world, resubmit
from tests.helpers import payment_context

UNIT = "000.99.14.H56"
MONDAY = date(2030, 3, 4)  # 4–8 and 11–15 March 2030 are working days


def t(offset: int, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(MONDAY + timedelta(days=offset), time(hh, mm), TZ)


@pytest.fixture(scope="module")
def w(catalogue_db: str) -> World:
    return make_world(catalogue_db, UNIT)


def processing(s: Session, w: World, day: int = 0) -> Dossier:
    d = file(s, w, t(day, 8, 30))
    act(s, w, d, "receive", t(day, 9))
    act(s, w, d, "assign", t(day, 9, 30), to_user=w.officer)
    return d


def pauses(s: Session, d: Dossier) -> list[tuple[str, datetime, datetime | None]]:
    return [(p.kind, p.started_at, p.ended_at) for p in s.scalars(
        select(DossierPause).where(DossierPause.dossier_id == d.id).order_by(DossierPause.id))]


def events(s: Session, d: Dossier) -> list[str]:
    return list(s.scalars(select(DossierHistory.event).where(DossierHistory.dossier_id == d.id)
                          .order_by(DossierHistory.id)))


def same_moment(a: datetime | None, b: datetime | None) -> bool:
    assert a is not None and b is not None
    return a.astimezone(UTC) == b.astimezone(UTC)


def test_a_stop_moves_the_due_date_by_the_working_days_it_lasted(w: World) -> None:
    def run(s: Session) -> None:
        d = processing(s, w)
        due = d.due_at
        assert due is not None and d.received_at is not None
        act(s, w, d, "stop", t(1, 9), reason="Chờ kết luận giải quyết tranh chấp của Tòa án.")
        assert (d.status, national_status(d.status), d.paused_at is not None) == ("stopped", 8, True)
        assert same_moment(d.due_at, due)  # nothing moves while it is stopped
        act(s, w, d, "resume", t(4, 9))  # Tuesday to Friday: three working days
        assert (d.status, national_status(d.status), d.paused_at) == ("processing", 4, None)
        [(kind, start, end)] = pauses(s, d)
        assert kind == "stop" and same_moment(start, t(1, 9)) and same_moment(end, t(4, 9))
        expected = due_for_procedure(s, w.code, d.received_at, [(t(1, 9), t(4, 9))])
        assert same_moment(d.due_at, expected) and same_moment(d.original_due_at, expected)
        assert d.due_at is not None and d.due_at > due
        # five working days from Monday 4 March: Monday 11 March; stopped three working days: Thursday 14 March
        assert same_moment(due, t(7, 17)) and same_moment(d.due_at, t(10, 17))
        assert events(s, d)[-2:] == ["stop", "resume"]

    w.db.run(run)


def test_a_fee_asked_after_intake_stops_the_clock_until_it_is_paid(w: World) -> None:
    def run(s: Session) -> None:
        d = processing(s, w)
        act(s, w, d, "request_fee", t(1, 9), amount_vnd=120_000, reason="Lệ phí theo Nghị quyết của HĐND tỉnh.")
        assert (d.status, national_status(d.status), d.fee_vnd) == ("fee_requested", 6, 120_000)
        p = Payment(reference=f"TTRULES{d.id:09d}", dossier_id=d.id, open_dossier_id=d.id, payer_id=d.owner_id,
                    unit_code=d.unit_code, gateway="sandbox", amount_vnd=120_000, fee_name="Lệ phí",
                    status="started", created_at=t(3, 8), updated_at=t(3, 8), expires_at=t(3, 8) + timedelta(hours=2))
        s.add(p)
        s.flush()
        applied = operations.apply_notice(s, "sandbox", Notice(p.reference, "success", 120_000, True, "SBX",
                                                               paid_at=t(3, 9)),
                                          kind="callback", now=t(3, 9), ctx=payment_context())
        assert applied.status == "success"
        assert (d.status, national_status(d.status), d.paused_at) == ("processing", 4, None)
        [(kind, start, end)] = pauses(s, d)
        assert kind == "fee" and same_moment(start, t(1, 9)) and same_moment(end, t(3, 9))
        assert d.received_at is not None
        assert same_moment(d.due_at, due_for_procedure(s, w.code, d.received_at, [(t(1, 9), t(3, 9))]))
        assert events(s, d)[-2:] == ["request_fee", "fee_paid"]

    w.db.run(run)


def test_on_time_with_one_supplement_and_late_with_two(w: World) -> None:
    def run(s: Session) -> None:
        d = processing(s, w)
        act(s, w, d, "request_supplement", t(1, 9), missing=["Bản sao CCCD"])
        assert (d.status, national_status(d.status), d.supplement_count) == ("supplement_requested", 5, 1)
        due_paused = d.due_at
        resubmit(s, w, d, t(3, 9))  # two working days later
        assert d.received_at is not None and due_paused is not None and d.due_at is not None
        assert same_moment(d.due_at, due_for_procedure(s, w.code, d.received_at, [(t(1, 9), t(3, 9))]))
        assert d.due_at > due_paused
        [(kind, _, end)] = pauses(s, d)
        assert kind == "supplement" and same_moment(end, t(3, 9))
        # a second request: refused without a reason, nothing written
        with pytest.raises(InvalidInput) as refused:
            act(s, w, d, "request_supplement", t(3, 10), missing=["Bản chính"])
        assert "lý do" in refused.value.detail and d.supplement_count == 1
        act(s, w, d, "request_supplement", t(3, 10), missing=["Bản chính"], reason="Bản sao nộp lại bị mờ.")
        assert d.supplement_count == 2  # the indicators count this dossier late
        rows = list(s.scalars(select(DossierHistory).where(DossierHistory.dossier_id == d.id,
                                                           DossierHistory.event == "request_supplement")
                              .order_by(DossierHistory.id)))
        first, second = (json.loads(r.detail) for r in rows)
        assert first["request_number"] == 1 and "repeat" not in first
        assert second["request_number"] == 2 and second["repeat"] is True

    w.db.run(run)


def test_bad_inputs_change_nothing(w: World) -> None:
    d_id = w.db.run(lambda s: processing(s, w).id)

    def state(s: Session) -> tuple[int, str, int, datetime | None, int]:
        d = s.get(Dossier, d_id)
        assert d is not None
        return d.version, d.status, len(events(s, d)), d.due_at, len(pauses(s, d))

    before = w.db.run(state)
    refusals: tuple[tuple[str, dict[str, object], type[Exception]], ...] = (
            ("stop", {"reason": ""}, InvalidInput),
            ("request_fee", {"amount_vnd": 10_000}, InvalidInput),
            ("apologize", {"new_due_date": "2030-03-20"}, InvalidInput),  # no reason
            ("apologize", {"new_due_date": "2030-03-20", "reason": "Chậm"}, Conflict),  # after the deadline
            ("resume", {}, Conflict),  # not stopped
            ("accept_withdrawal", {}, Conflict))  # nobody asked
    for action, payload, error in refusals:
        def attempt(s: Session, action: str = action, payload: dict[str, object] = payload) -> None:
            d = s.get(Dossier, d_id)
            assert d is not None
            act(s, w, d, action, t(20, 9), **payload)

        with pytest.raises(error):
            w.db.run(attempt)
        assert w.db.run(state) == before, action


def test_stopped_refused_and_withdrawn_histories(w: World) -> None:
    def run(s: Session) -> None:
        refused = file(s, w, t(0, 8, 40))
        act(s, w, refused, "refuse_intake", t(0, 9), reason="Không thuộc thẩm quyền.")
        assert (refused.status, national_status(refused.status)) == ("refused_at_intake", 3)
        assert same_moment(refused.finished_at, t(0, 9))
        stopped = processing(s, w)
        act(s, w, stopped, "stop", t(1, 10), reason="Chờ kết quả giám định.")
        assert (stopped.status, national_status(stopped.status)) == ("stopped", 8)
        # withdrawn: asked by the applicant, accepted by an officer; the dossier ends then
        withdrawn = processing(s, w)
        filing.withdraw(s, w.citizen, withdrawn.id, "Không còn nhu cầu.", amr="pwd")
        assert (withdrawn.status, national_status(withdrawn.status), withdrawn.finished_at) == (
            "withdrawal_requested", 7, None)
        # the officer handling it is told; the applicant gets the confirmation
        told = {(user, event) for user, event in s.execute(
            select(Notification.user_id, Notification.event).where(Notification.dossier_id == withdrawn.id))}
        assert (w.officer, "officer.withdrawal_requested") in told
        assert (w.citizen, "dossier.withdrawal_requested") in told
        act(s, w, withdrawn, "accept_withdrawal", t(2, 9))
        assert (withdrawn.status, national_status(withdrawn.status)) == ("withdrawn", 7)
        assert same_moment(withdrawn.finished_at, t(2, 9))

    w.db.run(run)
