"""A statistics test world: a receiving unit of its own with an officer and a citizen, dossiers built
through the domain's own use cases at chosen times, and the scripted month whose figures the statistics
tests computed by hand (``story``). Used by the statistics tests of the core, the API and the dashboard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from auth import accounts as service
from domain.accounts.models import Passkey
from domain.calendar.due import processing_time
from domain.calendar.engine import TZ
from domain.catalog.models import Offering, Procedure
from domain.db import Database
from domain.dossiers import backoffice
from domain.dossiers.filing import compute_due, ensure_form, next_code
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.payments.models import Payment
from domain.stats import ratings, rollups
from domain.workflow import Actor
from tests.helpers import auth_cfg


# --- building dossiers through the domain's own use cases ---------------------------------------------
@dataclass
class World:
    db: Database
    unit: str
    officer: int
    citizen: int
    code: str  # a procedure of 5 working days (default schedule)


def pick_procedure(session: Session) -> str:
    for code, data, fld in session.execute(select(Procedure.code, Procedure.data, Procedure.field)
                                           .join(Offering, Offering.procedure_code == Procedure.code)
                                           .order_by(Procedure.code)):
        if fld != "Hộ tịch" and processing_time(json.loads(data)) == (5.0, "working_days"):
            return str(code)
    raise AssertionError("no offered procedure of 5 working days in the catalogue")


def make_world(database_url: str, unit: str, citizen_id: int | None = None) -> World:
    def run(s: Session) -> tuple[int, int, str]:
        service.create_unit(s, unit, f"Đơn vị thử thống kê {unit[4:9]}", "commune")
        phone = "0977" + unit[4:6] + unit[7:9] + "01"
        officer = service.find_user(s, phone) or service.create_user(s, "officer", phone, None,
                                                                      full_name="Cán bộ Thống Kê", cfg=auth_cfg())
        for role in ("receiver", "processor", "approver", "unit_admin"):
            service.grant_officer_role(s, officer, unit, role)
        if s.scalar(select(Passkey.id).where(Passkey.user_id == officer.id)) is None:
            s.add(Passkey(user_id=officer.id, credential_id=f"stats-test-{unit}", public_key=b"-", name="test",
                          created_at=datetime.now(UTC)))
        citizen = citizen_id
        if citizen is None:
            phone = "0977" + unit[4:6] + unit[7:9] + "02"
            citizen = (service.find_user(s, phone) or service.create_user(
                s, "citizen", phone, None, full_name="Nguyễn Văn Thống Kê", cfg=auth_cfg())).id
        return officer.id, citizen, pick_procedure(s)

    db = Database(database_url)
    officer, citizen, code = db.run(run)
    return World(db, unit, officer, citizen, code)


def draft(s: Session, w: World, at: datetime) -> Dossier:
    form = ensure_form(s, w.code)
    revision = s.scalar(select(Procedure.revision).where(Procedure.code == w.code))
    d = Dossier(procedure_code=w.code, procedure_revision=revision, form_revision_id=form.id, owner_id=w.citizen,
                unit_code=w.unit, status="draft", version=1, data=json.dumps({"applicant_name": "Nguyễn Văn Thống Kê"}),
                created_at=at, updated_at=at)
    s.add(d)
    s.flush()
    return d


def file(s: Session, w: World, at: datetime, *, fee: int | None = None, channel: str | None = None,
         amr: str = "pwd") -> Dossier:
    """What ``service.submit`` does for a first submission, at a chosen moment."""
    d = draft(s, w, at)
    fire(s, d, "submit", actor_id=w.citizen, actors={Actor.APPLICANT}, now=at, amr=amr)
    d.code, d.submitted_at, d.fee_vnd = next_code(s, d.unit_code, at), at, fee
    d.due_at = compute_due(s, d.procedure_code, at)
    if channel:
        rollups.set_channel(s, d.id, channel)
    return d


def act(s: Session, w: World, d: Dossier, action: str, at: datetime, **payload: Any) -> Dossier:
    result = backoffice.act(s, w.officer, d.id, action, {"version": d.version, **payload}, amr="webauthn", now=at)
    assert isinstance(result, Dossier), result
    return result


def approve(s: Session, w: World, d: Dossier, at: datetime) -> None:
    """Result prepared and proposed through the back office; the passkey-signed approval (tested with the
    back office) fired through the workflow table."""
    backoffice.attach_result(s, w.officer, d.id, storage_key="stats/test", sha256="0" * 64,
                             content_type="application/pdf", size=1, title="Kết quả")
    act(s, w, d, "propose", at - timedelta(minutes=20), decision="approve")
    fire(s, d, "approve", actor_id=w.officer, actors={Actor.APPROVER}, now=at, amr="webauthn")


def resubmit(s: Session, w: World, d: Dossier, at: datetime) -> None:
    """What ``service.submit`` does for a resubmission: the legal clock runs again."""
    fire(s, d, "resubmit", actor_id=w.citizen, actors={Actor.APPLICANT}, now=at, amr="pwd")
    backoffice.end_pause(s, d, at)


def pay(s: Session, d: Dossier, at: datetime) -> None:
    if s.scalar(select(Payment.id).where(Payment.dossier_id == d.id)) is not None:
        return
    at = at.astimezone(UTC)  # the payment tables keep UTC
    p = Payment(reference=f"TTSTATS{d.id:09d}", dossier_id=d.id, open_dossier_id=d.id, payer_id=d.owner_id,
                unit_code=d.unit_code, gateway="sandbox", amount_vnd=d.fee_vnd or 0, fee_name="Lệ phí",
                status="success", created_at=at, updated_at=at, expires_at=at + timedelta(minutes=90), paid_at=at,
                finished_at=at)
    s.add(p)
    s.flush()
    rollups.on_payment_change(s, p, "created", "success")


def story(w: World, monday: date) -> dict[str, int]:  # noqa: C901  (the scripted month, one dossier after another)
    """Eight dossiers of one month (see the expected figures in test_summary_matches_hand_computed_figures)."""
    def t(offset: int, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(monday + timedelta(days=offset), time(hh, mm), TZ)

    ids: dict[str, int] = {}

    def d1(s: Session) -> None:  # early, paid online, rated 5-5-4-4
        d = file(s, w, t(0, 8, 30), fee=50_000)
        pay(s, d, t(0, 8, 45))
        act(s, w, d, "receive", t(0, 9))
        act(s, w, d, "assign", t(0, 9, 30), to_user=w.officer)
        approve(s, w, d, t(2, 9, 30))
        act(s, w, d, "issue_result", t(2, 10, 30))
        act(s, w, d, "return_result", t(2, 11))
        ids["d1"] = d.id

    def d2(s: Session) -> None:  # at the counter, on the due day, rated 3-3-3-3
        d = file(s, w, t(0, 8, 40), channel="in_person", amr="")
        act(s, w, d, "receive", t(0, 9))
        act(s, w, d, "assign", t(0, 9, 30), to_user=w.officer)
        approve(s, w, d, t(7, 14))
        act(s, w, d, "issue_result", t(7, 15))
        act(s, w, d, "return_result", t(7, 16))
        ids["d2"] = d.id

    def d3_d4(s: Session) -> None:  # both due on day 8; both get an apology and a new date (day 11)
        for name, minute in (("d3", 30), ("d4", 45)):
            d = file(s, w, t(1, 8, minute), fee=50_000 if name == "d3" else None)
            act(s, w, d, "receive", t(1, 9))
            act(s, w, d, "assign", t(1, 9, 30), to_user=w.officer)
            ids[name] = d.id

    def apologies(s: Session) -> None:
        for name in ("d3", "d4"):
            d = s.get(Dossier, ids[name])
            assert d is not None
            act(s, w, d, "apologize", t(7, 10), reason="Cần xác minh thêm.",
                new_due_date=(monday + timedelta(days=11)).isoformat())

    def d4_done(s: Session) -> None:  # on the rescheduled due day: on time
        d = s.get(Dossier, ids["d4"])
        assert d is not None
        approve(s, w, d, t(11, 9))
        act(s, w, d, "issue_result", t(11, 10, 30))
        act(s, w, d, "return_result", t(11, 11))

    def d3_done(s: Session) -> None:  # after the rescheduled date too: late
        d = s.get(Dossier, ids["d3"])
        assert d is not None
        approve(s, w, d, t(14, 9))
        act(s, w, d, "issue_result", t(14, 10, 30))
        act(s, w, d, "return_result", t(14, 11))

    def d5_start(s: Session) -> None:  # supplement requested on day 1, resubmitted on day 7 (a Monday)
        d = file(s, w, t(0, 8, 50))
        act(s, w, d, "receive", t(0, 9))
        act(s, w, d, "assign", t(0, 9, 30), to_user=w.officer)
        ids["d5"] = d.id

    def d5_pause(s: Session) -> None:
        d = s.get(Dossier, ids["d5"])
        assert d is not None
        act(s, w, d, "request_supplement", t(1, 9), missing=["Bản sao giấy tờ"])

    def d5_rest(s: Session) -> None:
        d = s.get(Dossier, ids["d5"])
        assert d is not None
        resubmit(s, w, d, t(7, 9))
        act(s, w, d, "receive", t(7, 9, 10))
        act(s, w, d, "assign", t(7, 9, 20), to_user=w.officer)
        approve(s, w, d, t(9, 10))
        act(s, w, d, "issue_result", t(9, 10, 30))
        act(s, w, d, "return_result", t(9, 11))

    def d6_d7_d8(s: Session) -> None:
        d = file(s, w, t(0, 10), channel="postal")  # refused at intake
        act(s, w, d, "refuse_intake", t(0, 10, 30), reason="Không thuộc thẩm quyền.")
        ids["d6"] = d.id
        d = file(s, w, t(2, 8))  # withdrawn
        act(s, w, d, "receive", t(2, 9))
        fire(s, d, "request_withdrawal", actor_id=w.citizen, actors={Actor.APPLICANT}, reason="Không còn nhu cầu.",
             now=t(3, 9, 30), amr="pwd")
        fire(s, d, "accept_withdrawal", actor_id=w.officer, actors={Actor.RECEIVER}, now=t(3, 10), amr="webauthn")
        d.finished_at = t(3, 10)
        ids["d7"] = d.id
        d = file(s, w, t(10, 8))  # still open
        act(s, w, d, "receive", t(10, 9))
        ids["d8"] = d.id

    def rate(s: Session) -> None:
        ratings.rate(s, w.citizen, ids["d1"], {"timeliness": 5, "attitude": 5, "clarity": 4, "ease": 4},
                     "Cán bộ hướng dẫn tận tình.", now=t(2, 15))
        ratings.rate(s, w.citizen, ids["d2"], {"timeliness": 3, "attitude": 3, "clarity": 3, "ease": 3}, "",
                     now=t(8, 9))

    for step in (d1, d2, d3_d4, apologies, d4_done, d3_done, d5_start, d5_pause, d5_rest, d6_d7_d8, rate):
        w.db.run(step)
    return ids
