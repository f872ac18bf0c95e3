"""Realistic demo history: ``motcua demo-data --dossiers N --years Y``.

Why a bulk path
    Real use changes a dossier through ``fire()`` and the back office's ``act()``: a few dozen SQL
    statements per event, about seven events a dossier. For the 1,000,000 dossiers of the benchmark that
    is hours. Here the *same rules* are applied in Python and the rows are written in batches (PostgreSQL
    ``COPY``, SQLite ``executemany``), several thousand dossiers per transaction:

    * every event is checked against the workflow table (:func:`domain.workflow.find`) from the
      dossier's current state with the actor's role, and the state moves to the table's target;
    * due dates come from the working-day calendar (:meth:`Calendar.due_date` with the procedure's
      processing time, its field's schedule and the supplement pauses — what ``recompute_due`` does),
      lateness from :meth:`Calendar.classify`, processing times from ``working_days_between``;
    * dossier codes follow ``{unit}-{yyMMdd}-{NNNN}``, one counter per unit per local day, continuing
      the ``dossier_counters`` rows; fees are those of :func:`domain.dossiers.filing.fee_for`;
    * each event writes its history row and its audit row, the audit hash chain continued exactly as
      :func:`domain.audit.record` does (taking the same advisory lock on PostgreSQL);
    * the roll-ups and facts are computed with :func:`domain.stats.rollups.compute` — the function the
      incremental path uses — and, at the end, compared with a full recount (:func:`rollups.differences`).

What it makes
    Dossiers across the province's units and the procedures it offers, by popularity; more filed in the
    months before Tết and in summer, fewer during Tết; counters open on working days only while the
    portal takes dossiers every day; a growing share filed online and paid online; supplements (the
    clock paused until resubmission), refusals at intake, withdrawals, decisions not to grant, late
    results (most with an apology and a new appointment, some late even then), online payments with
    e-receipt numbers (a few failed first attempts), and ratings of returned results. The most recent
    dossiers are still open. Not made: result files and the approvers' passkey-signed decisions (they
    cannot be forged), payment gateway messages, the e-receipts' stored copies (receipt rows and numbers
    are made). Run it while the app is idle (SQLite: dossier ids are numbered by this process).
"""

from __future__ import annotations

import functools
import json
import queue
import random
import secrets
import threading
import time as _time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from domain.accounts import users
from domain.accounts.identifiers import normalise_username
from domain.accounts.models import OfficerRole, User
from domain.audit import GENESIS, AuditEvent, _digest
from domain.calendar.engine import TZ, Calendar, WorkSchedule, schedule_for_field
from domain.calendar.store import load_calendar
from domain.catalog.models import Offering, Procedure, Unit
from domain.catalog.times import processing_time_of
from domain.db import Database
from domain.dossiers.filing import ensure_form, fee_for
from domain.dossiers.models import (
    Apology,
    Dossier,
    DossierCounter,
    DossierHistory,
    DossierPause,
    Handoff,
)
from domain.payments.models import Payment, Receipt, ReceiptCounter
from domain.stats import rollups
from domain.stats.models import Rating, StatsFact
from domain.stats.rollups import MemoCalendar
from domain.workflow import Actor, State, Transition, find, target_of

A = Actor
MAX_DOSSIERS = 5_000_000
MAX_YEARS = 10
SEASON = {1: 1.18, 2: 0.72, 3: 1.0, 4: 0.95, 5: 1.0, 6: 1.05, 7: 1.12, 8: 1.1, 9: 1.0, 10: 1.0, 11: 1.02, 12: 1.12}
GROWTH_PER_YEAR = 0.12
POPULAR_FIELDS = (
    "Hộ tịch",
    "Chứng thực",
    "Đăng ký, quản lý cư trú",
    "Đất đai",
    "Lý lịch tư pháp",
    "Thành lập và hoạt động của doanh nghiệp",
    "Hoạt động xây dựng",
    "Thành lập và hoạt động của hộ kinh doanh",
)
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ", "Ngô",
            "Hồ", "Dương", "Lý")
MIDDLE = ("Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Đức", "Thu", "Hoài", "Quốc", "Gia", "Kim", "Bảo")
GIVEN = ("An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hiếu", "Hoa", "Hùng", "Hương", "Khang",
         "Lan", "Linh", "Long", "Mai", "Nam", "Ngân", "Nhung", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo",
         "Trang", "Trí", "Tuấn", "Uyên", "Việt", "Vy", "Yến")
WARDS = ("Phường Tân Ninh", "Phường Long An", "Phường Trảng Bàng", "Xã Đức Hòa", "Phường Bình Minh",
         "Xã Hòa Thành", "Phường Gò Dầu")
MISSING = ("Bản sao giấy khai sinh", "Giấy xác nhận tình trạng hôn nhân", "Bản vẽ thiết kế có chữ ký",
           "Ảnh chân dung 4x6", "Giấy ủy quyền có chứng thực", "Bản sao sổ đỏ rõ nét")
APOLOGY_REASONS = ("Hồ sơ cần xác minh thêm với cơ quan liên quan.", "Chờ ý kiến phối hợp của Sở chuyên ngành.",
                   "Số lượng hồ sơ tăng đột biến trong dịp cuối năm.", "Cần kiểm tra thực địa.")
REFUSALS = ("Thủ tục không thuộc thẩm quyền của đơn vị.", "Người nộp không đủ điều kiện theo quy định.")
REJECTIONS = ("Không đủ điều kiện cấp theo quy định hiện hành.", "Kết quả thẩm định không đạt.")
COMMENTS = ("Cán bộ hướng dẫn tận tình.", "Nhận kết quả sớm hơn hẹn, rất hài lòng.", "Thủ tục nhanh gọn.",
            "Trả kết quả trễ hẹn, mong cải thiện.", "Nộp trực tuyến thuận tiện, không phải đi lại.",
            "Hướng dẫn bổ sung giấy tờ chưa rõ.", "Thanh toán trực tuyến dễ dàng.", "Rất tốt.")
GATEWAYS = ("vnpay", "paygov", "vietqr")
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Options:
    dossiers: int
    years: float = 3.0
    seed: int = 2026
    batch: int = 20_000
    verify: bool = True
    now: datetime | None = None  # the end of the history (default: now)

    def check(self) -> Options:
        if not 1 <= self.dossiers <= MAX_DOSSIERS:
            raise ValueError(f"--dossiers must be between 1 and {MAX_DOSSIERS:,}")
        if not 0.05 <= self.years <= MAX_YEARS:
            raise ValueError(f"--years must be between 0.05 and {MAX_YEARS}")
        if not 100 <= self.batch <= 100_000:
            raise ValueError("batch must be between 100 and 100,000")
        return self


@dataclass
class Report:
    dossiers: int = 0
    events: int = 0
    payments: int = 0
    ratings: int = 0
    by_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    differences: list[str] | None = None
    seconds: float = 0.0


@dataclass
class Proc:
    code: str
    name: str
    unit: str
    mode: str
    field_name: str
    field_slug: str
    amount: float | None
    duration_unit: str | None
    fee: int | None
    revision: int
    form_id: int
    levels: int
    schedule: WorkSchedule


@dataclass
class Citizen:
    id: int
    name: str
    phone: str
    cccd: str
    address: str


@dataclass
class Staff:
    receiver: int
    approver: int


@dataclass
class Setting:
    procs: list[Proc]
    weights: list[float]
    citizens: list[Citizen]
    staff: dict[str, Staff]
    unit_names: dict[str, str]
    counters: dict[tuple[str, str], int]
    receipt_counters: dict[tuple[str, str], int]
    late_factor: dict[str, float]


# --- preparing (ORM, the domain's own use cases) -------------------------------------------------------
def _popularity(procs: list[Proc], rng: random.Random) -> list[float]:
    order = list(range(len(procs)))
    rng.shuffle(order)
    order.sort(key=lambda i: 0 if procs[i].field_name in POPULAR_FIELDS else 1)
    weights = [0.0] * len(procs)
    for rank, i in enumerate(order):
        weights[i] = 1.0 / (rank + 4) ** 1.05 * (0.35 if procs[i].mode == "in_person" else 1.0)
    return weights


def _citizen_count(n: int) -> int:
    return max(10, min(5000, n // 40))


def prepare(session: Session, opts: Options) -> Setting:
    """Forms, demo citizens and officers (through the domain's use cases), counters."""
    rng = random.Random(opts.seed)
    procs: list[Proc] = []
    rows = session.execute(select(Offering, Procedure).join(Procedure, Procedure.code == Offering.procedure_code)
                           .order_by(Offering.procedure_code)).all()
    for offering, proc in rows:
        data = json.loads(proc.data)
        time = processing_time_of(data, offering)  # the record's, else the province's offer's
        limit = (time.value, time.unit) if time else None
        fee = fee_for(session, cast(Dossier, _Code(proc.code)))
        procs.append(Proc(code=proc.code, name=proc.name, unit=offering.unit_code, mode=offering.mode,
                          field_name=proc.field, field_slug=proc.field_slug, amount=limit[0] if limit else None,
                          duration_unit=limit[1] if limit else None, fee=fee, revision=proc.revision, form_id=0,
                          levels=max(1, offering.approval_levels or 1), schedule=schedule_for_field(proc.field)))
    if not procs:
        raise ValueError("the province offers no procedure: run `motcua setup` (load-catalogue, load-offer) first")
    units = sorted({p.unit for p in procs})
    unit_names = dict(session.execute(select(Unit.code, Unit.name)).all())
    citizens = []
    for i in range(_citizen_count(opts.dossiers)):
        phone = f"0988{i:06d}"
        user = users.find_user(session, phone)
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        if user is None:
            user = users.create_user(session, "citizen", phone, full_name=name)
        cccd = f"{rng.randint(1, 96):03d}{rng.randint(0, 3)}{rng.randint(0, 99_999_999):08d}"
        citizens.append(Citizen(user.id, user.full_name, phone, cccd,
                                f"{rng.randint(1, 300)} đường {rng.choice(GIVEN)}, {rng.choice(WARDS)}"))
    staff: dict[str, Staff] = {}
    for index, unit in enumerate(units):
        ids = []
        for role_index, (roles, label) in enumerate(((("receiver", "processor"), "Cán bộ tiếp nhận"),
                                                     (("approver",), "Lãnh đạo"))):
            existing = session.scalar(select(OfficerRole.user_id).where(OfficerRole.unit_code == unit,
                                                                          OfficerRole.role == roles[0])
                                      .order_by(OfficerRole.user_id).limit(1))
            if existing is None:
                phone = f"0966{index:03d}{role_index:03d}"
                user = users.find_user(session, phone) or users.create_user(
                    session, "officer", phone, full_name=f"{label} demo {unit_names.get(unit, unit)}"[:255])
                for role in roles:
                    users.grant_officer_role(session, user, unit, role)
                existing = user.id
            ids.append(existing)
        staff[unit] = Staff(receiver=ids[0], approver=ids[1])
    counters = {(u, d): last for u, d, last in session.execute(
        select(DossierCounter.unit_code, DossierCounter.day, DossierCounter.last))}
    receipt_counters = {(u, s): last for u, s, last in session.execute(
        select(ReceiptCounter.unit_code, ReceiptCounter.series, ReceiptCounter.last))}
    late_factor = {u: rng.uniform(0.5, 1.7) for u in units}
    return Setting(procs, _popularity(procs, rng), citizens, staff, unit_names, counters, receipt_counters,
                   late_factor)


def ensure_forms(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """The current form revision of each procedure (made as for a citizen's first draft when missing)."""
    return {code: ensure_form(session, code).id for code in codes}


@dataclass
class _Code:
    """What the fee rules read of a dossier: a new one of this procedure (no officer assessment yet)."""

    procedure_code: str
    id: int = -1
    data: str = "{}"
    submitted_at: datetime | None = None


# --- simulating one dossier ------------------------------------------------------------------------------
@dataclass
class Rows:
    dossiers: list[tuple[Any, ...]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)  # without id/prev/hash: chained at insert
    pauses: list[tuple[Any, ...]] = field(default_factory=list)
    apologies: list[tuple[Any, ...]] = field(default_factory=list)
    handoffs: list[tuple[Any, ...]] = field(default_factory=list)
    payments: list[list[Any]] = field(default_factory=list)  # payment id filled at insert
    receipts: list[list[Any]] = field(default_factory=list)
    ratings: list[tuple[Any, ...]] = field(default_factory=list)
    delta: rollups.Delta = field(default_factory=rollups.Delta)


DOSSIER_COLS = ("id", "code", "procedure_code", "procedure_revision", "form_revision_id", "owner_id",
                "organisation_id", "unit_code", "status", "version", "data", "fee_vnd", "created_at", "updated_at",
                "submitted_at", "received_at", "due_at", "finished_at", "assignee_id", "original_due_at", "paused_at",
                "supplement_count", "approval_level", "lateness", "channel")
FACT_COLS = ("dossier_id", "unit_code", "field_slug", "channel", "submitted_day", "finished_day", "outcome",
             "lateness", "supplement", "fee_due", "paid_online", "rescheduled", "proc_centidays")
HISTORY_COLS = ("dossier_id", "at", "actor_id", "event", "from_status", "to_status", "reason", "form_revision_id",
                "detail", "internal")
AUDIT_COLS = ("id", "at", "event", "actor_id", "subject", "ip", "authenticated", "detail", "prev_hash", "hash")
PAUSE_COLS = ("dossier_id", "started_at", "ended_at", "reason")
APOLOGY_COLS = ("dossier_id", "reason", "old_due_at", "new_due_at", "by", "at")
HANDOFF_COLS = ("dossier_id", "kind", "from_unit", "to_unit", "from_user", "to_user", "at", "note")
PAYMENT_COLS = ("id", "reference", "dossier_id", "open_dossier_id", "payer_id", "unit_code", "gateway",
                "amount_vnd", "fee_name", "status", "client_ip", "gateway_txn", "failure_code", "created_at",
                "updated_at", "expires_at", "started_at", "submitted_at", "paid_at", "finished_at")
RECEIPT_COLS = ("payment_id", "public_id", "unit_code", "unit_name", "series", "number", "payer_name", "amount_vnd",
                "fee_name", "dossier_code", "gateway", "gateway_txn", "issued_at")
RATING_COLS = ("dossier_id", "user_id", "unit_code", "field_slug", "created_at", "timeliness", "attitude", "clarity",
               "ease", "comment")


@functools.lru_cache(maxsize=1024)
def _find(event: str, state: str, actors: frozenset[Actor]) -> Transition:
    """:func:`domain.workflow.find`, memoised (the table is immutable)."""
    return find(event, state, actors)


class Sim:
    """One dossier's life, event by event, through the workflow table; cut at ``now``."""

    def __init__(self, dossier_id: int, proc: Proc, citizen: Citizen, staff: Staff, channel: str, cal: Calendar,
                 now: datetime, rng: random.Random) -> None:
        self.id, self.p, self.c, self.staff, self.channel = dossier_id, proc, citizen, staff, channel
        self.cal, self.now, self.rng = cal, now, rng
        self.state = State.DRAFT.value
        self.last: datetime | None = None
        self.events: list[tuple[datetime, str, int, str, str, str, dict[str, Any], str]] = []
        self.f: dict[str, Any] = {"submitted_at": None, "received_at": None, "due_at": None, "finished_at": None,
                                  "assignee_id": None, "original_due_at": None, "paused_at": None,
                                  "supplement_count": 0, "approval_level": 0, "lateness": None}
        self.pauses: list[list[Any]] = []  # [start, end|None, reason]
        self.first_receipt: datetime | None = None
        self.apologies: list[tuple[str, datetime | None, datetime, int, datetime]] = []
        self.handoffs: list[tuple[Any, ...]] = []
        self.stopped = False

    # -- the table --------------------------------------------------------------------------------------
    def fire(self, event: str, at: datetime, actor_id: int, actors: set[Actor], amr: str, reason: str = "",
             detail: dict[str, Any] | None = None) -> bool:
        """Apply an event if it happened before ``now``; False (and the story stops) otherwise."""
        if self.stopped:
            return False
        if self.last is not None and at <= self.last:
            at = self.last + timedelta(minutes=self.rng.randint(3, 40))
        if at > self.now:
            self.stopped = True
            return False
        row = _find(event, self.state, frozenset(actors))
        if row.needs_reason and not reason:
            raise AssertionError(f"{event} needs a reason")
        before = self.state
        self.state = target_of(row, before).value
        self.events.append((at, event, actor_id, before, self.state, reason, detail or {}, amr))
        self.last = at
        return True

    # -- calendar helpers ---------------------------------------------------------------------------------
    def later(self, at: datetime, hours: float) -> datetime:
        """About ``hours`` office hours after ``at`` (people's pace, not a legal deadline: whole working
        days are counted on the calendar, the rest added within the day's 07:00–17:00)."""
        cal, t = self.cal, at.astimezone(TZ)
        day = t.date()
        if not cal.is_working_day(day) or t.time() >= time(17, 0):
            day = cal.next_working_day(day)
            t = datetime.combine(day, time(7, 0), TZ)
        elif t.time() < time(7, 0):
            t = datetime.combine(day, time(7, 0), TZ)
        whole, rest = divmod(max(0.05, hours), 8.0)
        if whole:
            day = cal.add_working_day_count(day, int(whole))
            t = datetime.combine(day, t.time(), TZ)
        t += timedelta(hours=rest)
        close = datetime.combine(day, time(17, 0), TZ)
        if t > close:
            t = datetime.combine(cal.next_working_day(day), time(7, 0), TZ) + (t - close)
        return t

    def at_work(self, day: date) -> datetime:
        minutes = self.rng.choice((self.rng.randint(30, 255), self.rng.randint(405, 585)))  # 7:30–11:15, 13:45–16:45
        return datetime.combine(day, time(7, 0), TZ) + timedelta(minutes=minutes)

    def due(self) -> datetime | None:
        if self.p.amount is None or self.p.duration_unit is None or self.f["received_at"] is None:
            return None
        pauses = [(s, e) for s, e, _ in self.pauses]
        return self.cal.due_date(self.f["received_at"], self.p.amount, self.p.duration_unit, self.p.schedule, pauses)

    def recompute_due(self) -> None:
        due = self.due()
        if due is not None:
            self.f["original_due_at"] = due
            latest = max((a[2] for a in self.apologies), default=None)
            self.f["due_at"] = max(due, latest) if latest is not None else due

    # -- the story ---------------------------------------------------------------------------------------
    def applicant_amr(self) -> str:
        if self.channel != "online":
            return ""
        return "webauthn" if self.rng.random() < 0.2 else "pwd"

    def officer_amr(self) -> str:
        return "webauthn" if self.rng.random() < 0.93 else "pwd"

    def run(  # noqa: C901  (one branch per step of a simulated dossier)
        self, submitted: datetime, progress: float, late_rate: float
    ) -> None:
        rng, officer = self.rng, self.staff.receiver
        clerk = {A.RECEIVER, A.PROCESSOR}
        if not self.fire("submit", submitted, self.c.id, {A.APPLICANT}, self.applicant_amr()):
            return
        self.f["submitted_at"] = submitted
        if self.p.amount is not None and self.p.duration_unit is not None:
            self.f["due_at"] = self.cal.due_date(submitted, self.p.amount, self.p.duration_unit, self.p.schedule)
        # intake: at the counter at once; online within a working day or so
        intake = submitted + timedelta(minutes=rng.randint(4, 25)) if self.channel == "in_person" \
            else self.later(submitted, rng.uniform(0.3, 10.0))
        if rng.random() < 0.025:
            if self.fire("refuse_intake", intake, officer, clerk, self.officer_amr(), rng.choice(REFUSALS)):
                self.f["finished_at"] = intake
            return
        if rng.random() < 0.06 and not self.supplement(intake):
            return
        if not self.receive(intake if self.f["supplement_count"] == 0 else self.later(self.last or intake, 1.0)):
            return
        assign = self.later(self.f["received_at"], rng.uniform(0.2, 3.0))
        if not self.fire("assign", assign, officer, clerk, self.officer_amr(), "Phân công xử lý",
                         {"to_user": officer}):
            return
        self.f["assignee_id"] = officer
        self.handoffs.append(("assign", self.p.unit, self.p.unit, officer, officer, assign, "Phân công xử lý"))
        if self.f["supplement_count"] == 0 and rng.random() < 0.03:
            ask = self.later(assign, rng.uniform(2, 16))
            if not self.supplement(ask):
                return
            if not self.receive(self.later(self.last or ask, rng.uniform(0.5, 4))):
                return
            if not self.fire("assign", self.later(self.f["received_at"], 0.5), officer, clerk, self.officer_amr(),
                             "Tiếp tục xử lý", {"to_user": officer}):
                return
        if rng.random() < 0.008:
            # a received dossier: the applicant asks, the receiver accepts
            if self.fire("request_withdrawal", self.later(self.last or assign, rng.uniform(1, 24)), self.c.id,
                         {A.APPLICANT}, self.applicant_amr(), "Tôi không còn nhu cầu giải quyết.") \
                    and self.fire("accept_withdrawal", self.later(cast(datetime, self.last), 2), officer, clerk,
                                  self.officer_amr()):
                self.f["finished_at"] = self.last
            return
        self.decide(progress, late_rate)

    def receive(self, at: datetime) -> bool:
        if not self.fire("receive", at, self.staff.receiver, {A.RECEIVER, A.PROCESSOR}, self.officer_amr()):
            return False
        self.f["received_at"] = self.last
        self.first_receipt = self.first_receipt or self.last
        self.recompute_due()
        return True

    def supplement(self, at: datetime) -> bool:
        """A supplement request (form 02): the clock stops until the citizen resubmits (or gives up)."""
        rng = self.rng
        missing = [rng.choice(MISSING)]
        if not self.fire("request_supplement", at, self.staff.receiver, {A.RECEIVER, A.PROCESSOR},
                         self.officer_amr(), "; ".join(missing), {"missing": missing}):
            return False
        start = cast(datetime, self.last)
        self.f["supplement_count"] += 1
        self.f["paused_at"] = start
        self.pauses.append([start, None, "; ".join(missing)])
        if rng.random() < 0.12:  # never resubmitted: withdrawn a month later
            if self.fire("withdraw", start + timedelta(days=rng.randint(20, 45), hours=rng.randint(0, 8)), self.c.id,
                         {A.APPLICANT}, self.applicant_amr(), "Không bổ sung được giấy tờ."):
                self.f["finished_at"] = self.last
            return False
        back = start + timedelta(days=rng.randint(1, 12), hours=rng.randint(0, 10))
        if not self.fire("resubmit", back, self.c.id, {A.APPLICANT}, self.applicant_amr()):
            return False
        self.pauses[-1][1] = self.last
        self.f["paused_at"] = None
        self.recompute_due()
        return True

    def decide(  # noqa: C901  (one branch per decision of a simulated dossier)
        self, progress: float, late_rate: float
    ) -> None:
        rng, cal, sched = self.rng, self.cal, self.p.schedule
        received, due = self.f["received_at"], self.f["due_at"]
        clerk, leader = {A.RECEIVER, A.PROCESSOR}, {A.APPROVER}
        start = cast(datetime, self.last)
        if due is None:  # a procedure without a stated time: about a week
            finish = self.later(start, rng.uniform(4, 60))
        else:
            due_day = due.astimezone(TZ).date()
            roll = rng.random()
            if roll < late_rate:
                if rng.random() < 0.55 + 0.3 * progress:  # foreseen: apology and a new appointment (form 04)
                    ask_day = cal.previous_working_day(due_day)
                    ask = max(self.at_work(ask_day), self.later(start, 0.5))
                    new_day = cal.add_working_day_count(due_day, rng.randint(2, 8))
                    new_due = datetime.combine(new_day, time(17, 0), TZ)
                    reason = rng.choice(APOLOGY_REASONS)
                    if not self.fire("apologize", ask, self.staff.receiver, clerk, self.officer_amr(), reason,
                                     {"new_due_date": new_due.isoformat()}):
                        return
                    self.apologies.append(
                        (reason, self.f["due_at"], new_due, self.staff.receiver, cast(datetime, self.last))
                    )
                    self.f["due_at"] = new_due
                    if rng.random() < 0.65:
                        finish = self.at_work(cal.add_working_day_count(due_day, rng.randint(1, new_day.toordinal()
                                                                                             - due_day.toordinal())))
                        finish = min(finish, new_due - timedelta(minutes=20))
                    else:
                        finish = self.at_work(cal.add_working_day_count(new_day, rng.randint(1, 5)))
                else:
                    finish = self.at_work(cal.add_working_day_count(due_day, rng.randint(1, 8)))
            elif roll < late_rate + (1 - late_rate) * 0.62:
                budget = cal.working_days_between(received, due, sched)
                lo = self.later(received, max(0.5, budget * 0.25) * 8)
                last_day = cal.previous_working_day(due_day)
                if lo.astimezone(TZ).date() <= last_day:
                    span = cal.working_days_between(lo, datetime.combine(last_day, time(16, 45), TZ), sched)
                    finish = self.later(lo, rng.uniform(0, max(0.1, span)) * 8)
                else:
                    finish = self.at_work(due_day)
            else:
                finish = min(self.at_work(due_day), due - timedelta(minutes=10))
        finish = max(finish, start + timedelta(minutes=30))
        propose = finish - timedelta(minutes=rng.randint(60, 240))
        reject = rng.random() < 0.025
        if not self.fire("propose", propose, self.staff.receiver, clerk, self.officer_amr(), "",
                         {"decision": "reject" if reject else "approve"}):
            return
        self.f["approval_level"] = 0
        decide_at = max(cast(datetime, self.last) + timedelta(minutes=10), finish - timedelta(minutes=30))
        for level in range(1, self.p.levels):
            if not self.fire("approve_level", decide_at, self.staff.approver, leader, "webauthn", "",
                             {"level": level, "of": self.p.levels}):
                return
            self.f["approval_level"] = level
        if reject:
            if self.fire("reject", decide_at, self.staff.approver, leader, "webauthn", rng.choice(REJECTIONS),
                         {"level": self.p.levels}):
                self.f["approval_level"] = self.p.levels
                self.finish()
            return
        if not self.fire("approve", decide_at, self.staff.approver, leader, "webauthn", "", {"level": self.p.levels}):
            return
        self.f["approval_level"] = self.p.levels
        if not self.fire("issue_result", finish, self.staff.receiver, clerk, self.officer_amr()):
            return
        self.finish()
        back = finish + timedelta(minutes=rng.randint(5, 90)) if self.channel == "online" \
            else self.later(finish, rng.uniform(0.5, 24))
        self.fire("return_result", back, self.staff.receiver, {A.RECEIVER}, self.officer_amr())

    def finish(self) -> None:
        at = cast(datetime, self.last)
        self.f["finished_at"] = at
        due = self.f["due_at"]
        self.f["lateness"] = self.cal.classify(at, due) if due is not None else None


# --- generating --------------------------------------------------------------------------------------------
def _submission_moments(opts: Options, cal: Calendar, now: datetime, rng: random.Random) -> list[datetime]:
    """N submission moments over the years before ``now``: seasons, growth, working days (sorted)."""
    last = now.astimezone(TZ).date()
    first = last - timedelta(days=max(1, int(opts.years * 365.25)))
    days, weights = [], []
    day = first
    total_days = (last - first).days or 1
    for _ in range(total_days + 1):
        working = cal.is_working_day(day)
        age = (day - first).days / 365.25
        w = SEASON[day.month] * (1 + GROWTH_PER_YEAR) ** age * (1.0 if working else 0.16)
        if day.month == 1 and day.day >= 15 and working:
            w *= 1.15  # the weeks before Tết
        days.append(day)
        weights.append(w)
        day += timedelta(days=1)
    chosen = rng.choices(days, weights=weights, k=opts.dossiers)
    out = []
    for d in chosen:
        if cal.is_working_day(d) and rng.random() < 0.8:
            minutes = rng.choice((rng.randint(25, 265), rng.randint(395, 590)))
        else:  # online at any hour, evenings busiest
            minutes = int(rng.triangular(6 * 60, 23 * 60 + 50, 20 * 60))
        moment = datetime.combine(d, time(0), TZ) + timedelta(minutes=minutes, seconds=rng.randint(0, 59))
        out.append(min(moment, now - timedelta(minutes=1)))
    out.sort()
    return out


def _channel(proc: Proc, moment: datetime, progress: float, cal: Calendar, rng: random.Random) -> str:
    working_hours = cal.is_working_day(moment.astimezone(TZ).date()) and \
        time(7, 0) <= moment.astimezone(TZ).time() <= time(17, 0)
    if proc.mode == "in_person":
        return "postal" if rng.random() < 0.07 or not working_hours else "in_person"
    if not working_hours or rng.random() < 0.42 + 0.45 * progress:
        return "online"
    return "postal" if rng.random() < 0.08 else "in_person"


def _name_data(c: Citizen) -> str:
    return json.dumps({"applicant_name": c.name, "applicant_phone": c.phone, "applicant_cccd": c.cccd,
                       "applicant_address": c.address}, ensure_ascii=False)


def _reference(_rng: random.Random) -> str:
    """Like the payment service's references: unguessable (not from the seed: a rerun adds new ones)."""
    return "TT" + "".join(secrets.choice(REF_ALPHABET) for _ in range(14))


def _event_rows(sim: Sim, rows: Rows) -> None:
    """The dossier's history and audit rows, its authentications counted in the roll-ups; its pauses, apologies
    and hand-offs."""
    p, did = sim.p, sim.id
    for at, event, actor, before, after, reason, detail, _amr in sim.events:
        rows.history.append((did, at, actor, event, before, after, reason, p.form_id,
                             json.dumps(detail, ensure_ascii=False, default=str) if detail else "{}", False))
    version = 1
    for at, event, actor, before, after, _reason, _detail, amr in sim.events:
        version += 1  # what record(**detail) writes: json.dumps(detail, sort_keys=True)
        payload = f'{{"from_status": "{before}", "to_status": "{after}", "version": {version}}}'
        rows.audit.append((at, f"dossier.{event}", actor, f"dossier:{did}", "", amr, payload))
        rollups_key = (rollups.local_day(at), p.unit, p.field_slug)
        rows.delta.add(rollups_key, "tx", 1)
        if amr:
            rows.delta.add(rollups_key, "tx_auth", 1)
    for start, end, reason in sim.pauses:
        rows.pauses.append((did, start, end, reason))
    for reason, old, new, by, at in sim.apologies:
        rows.apologies.append((did, reason, old, new, by, at))
    for kind, from_unit, to_unit, from_user, to_user, at, note in sim.handoffs:
        rows.handoffs.append((did, kind, from_unit, to_unit, from_user, to_user, at, note))


def _online_payment(sim: Sim, setting: Setting, rows: Rows, submitted: datetime, progress: float,
                    rng: random.Random, code: str, now: datetime) -> bool:
    """The fee paid online (the share grows), sometimes after a first attempt that expired, with its e-receipt;
    answers whether it was paid."""
    p, c, did, fee = sim.p, sim.c, sim.id, sim.p.fee
    if not (fee and fee > 0 and sim.channel == "online" and sim.state not in ("refused_at_intake",)
            and rng.random() < 0.5 + 0.42 * progress):
        return False
    gateway = rng.choices(GATEWAYS, weights=(0.5 - 0.2 * progress, 0.25 + 0.3 * progress, 0.25))[0]
    t = (submitted + timedelta(minutes=rng.randint(2, 180))).astimezone(UTC)  # payments keep UTC
    if rng.random() < 0.1 and t < now:
        rows.payments.append([None, _reference(rng), did, None, c.id, p.unit, gateway, fee, _fee_name(p),
                              "expired", "", None, "expired", t, t + timedelta(minutes=90),
                              t + timedelta(minutes=90), t, None, None, t + timedelta(minutes=90)])
        t += timedelta(minutes=rng.randint(95, 600))
    if t >= now:
        return False
    txn = f"{rng.randint(10**11, 10**12 - 1)}"
    rows.payments.append([None, _reference(rng), did, did, c.id, p.unit, gateway, fee, _fee_name(p), "success",
                          "", txn, None, t, t, t + timedelta(minutes=90), t, t, t, t])
    series = f"BL{t.astimezone(TZ):%y}E"
    number = setting.receipt_counters.get((p.unit, series), 0) + 1
    setting.receipt_counters[(p.unit, series)] = number
    rows.receipts.append([None, secrets.token_urlsafe(12), p.unit, setting.unit_names.get(p.unit, p.unit),
                          series, number, c.name, fee, _fee_name(p), code, gateway, txn, t])
    return True


def _rating(sim: Sim, rows: Rows, last_at: datetime, rng: random.Random, now: datetime) -> None:
    """Sometimes a rating of the returned result (more often online), counted in the roll-ups."""
    p, f = sim.p, sim.f
    if not (sim.state == State.RETURNED.value and rng.random() < (0.3 if sim.channel == "online" else 0.08)):
        return
    at = last_at + timedelta(minutes=rng.randint(10, 4000))
    if at < now:
        base = {"early": 4.6, "on_time": 4.2, "late": 2.9}.get(f["lateness"] or "", 4.0)
        scores = [max(1, min(5, round(rng.gauss(base, 0.8)))) for _ in rollups.CRITERIA]
        comment = rng.choice(COMMENTS) if rng.random() < 0.3 else ""
        rows.ratings.append((sim.id, sim.c.id, p.unit, p.field_slug, at, *scores, comment))
        rollups.add_rating(rows.delta, (rollups.local_day(at), p.unit, p.field_slug), scores)


def _contribution(sim: Sim, rows: Rows, paid: bool) -> None:
    """What the dossier adds to the roll-ups, and its fact row."""
    p, f = sim.p, sim.f
    contribution = rollups.compute(
        status=sim.state, submitted_at=f["submitted_at"], received_at=sim.first_receipt, finished_at=f["finished_at"],
        fee_vnd=p.fee, supplement_count=f["supplement_count"], lateness=f["lateness"], unit_code=p.unit,
        field_slug=p.field_slug, field_name=p.field_name, channel=sim.channel, rescheduled=bool(sim.apologies),
        paid=paid, pauses=[(s, e) for s, e, _ in sim.pauses], calendar=sim.cal)
    if contribution is not None:
        contribution.add_to(rows.delta, 1)
        v = contribution.fact_values()
        rows.facts.append((sim.id, *(v[k] for k in FACT_COLS[1:])))


def build(
    sim: Sim, setting: Setting, rows: Rows, submitted: datetime, progress: float, rng: random.Random, code: str,
    now: datetime,
) -> str:
    """Rows of one dossier (and its contribution to the roll-ups); returns its final status."""
    p, c, f = sim.p, sim.c, sim.f
    late_rate = min(0.35, (0.13 - 0.08 * progress) * setting.late_factor.get(p.unit, 1.0))
    sim.run(submitted, progress, late_rate)
    _event_rows(sim, rows)
    last_at = sim.events[-1][0] if sim.events else submitted
    paid = _online_payment(sim, setting, rows, submitted, progress, rng, code, now)
    _rating(sim, rows, last_at, rng, now)
    _contribution(sim, rows, paid)
    created = submitted - timedelta(minutes=rng.randint(5, 90))
    rows.dossiers.append((sim.id, code, p.code, p.revision, p.form_id, c.id, None, p.unit, sim.state,
                          1 + len(sim.events), _name_data(c), p.fee, created, last_at, f["submitted_at"],
                          f["received_at"], f["due_at"], f["finished_at"], f["assignee_id"], f["original_due_at"],
                          f["paused_at"], f["supplement_count"], f["approval_level"], f["lateness"],
                          rollups.DOSSIER_CHANNEL[sim.channel]))
    return sim.state


def _fee_name(p: Proc) -> str:
    return f"Phí, lệ phí: {p.name}"[:255]


# --- writing ----------------------------------------------------------------------------------------------
def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _copy(session: Session, table: Table, columns: Sequence[str], records: Sequence[Sequence[Any]]) -> None:
    """COPY on PostgreSQL (asyncpg), executemany on SQLite; in the session's transaction."""
    if not records:
        return
    if _is_pg(session):
        raw = session.connection().connection.driver_connection
        assert raw is not None
        await_only(raw.copy_records_to_table(table.name, records=[tuple(r) for r in records],
                                             columns=list(columns)))
        return
    session.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in records])


def _reserve_ids(session: Session, table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for explicit inserts (PostgreSQL: from the table's sequence)."""
    if n <= 0:
        return []
    if _is_pg(session):
        seq = session.scalar(text(f"SELECT pg_get_serial_sequence('{table.name}', 'id')"))
        return list(session.scalars(text(f"SELECT nextval('{seq}') FROM generate_series(1, :n)"), {"n": n}))
    start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + n))


def _write_batch(session: Session, rows: Rows, counters: dict[tuple[str, str], int],
                 receipt_counters: dict[tuple[str, str], int]) -> None:
    pg = _is_pg(session)
    session.execute(text("SELECT 1"))  # the transaction is open (COPY joins it)
    _copy(session, Dossier.__table__, DOSSIER_COLS, rows.dossiers)  # type: ignore[arg-type]
    _copy(session, StatsFact.__table__, FACT_COLS, rows.facts)  # type: ignore[arg-type]
    _copy(session, DossierHistory.__table__, HISTORY_COLS, rows.history)  # type: ignore[arg-type]
    _copy(session, DossierPause.__table__, PAUSE_COLS, rows.pauses)  # type: ignore[arg-type]
    _copy(session, Apology.__table__, APOLOGY_COLS, rows.apologies)  # type: ignore[arg-type]
    _copy(session, Handoff.__table__, HANDOFF_COLS, rows.handoffs)  # type: ignore[arg-type]
    # payments: explicit ids so that receipts point at them
    ids = _reserve_ids(session, Payment.__table__, len(rows.payments))  # type: ignore[arg-type]
    receipt_rows = []
    success = iter(r for r in rows.receipts)
    for pid, pay in zip(ids, rows.payments, strict=True):
        pay[0] = pid
        if pay[9] == "success":
            receipt = next(success)
            receipt[0] = pid
            receipt_rows.append(receipt)
    _copy(session, Payment.__table__, PAYMENT_COLS, rows.payments)  # type: ignore[arg-type]
    _copy(session, Receipt.__table__, RECEIPT_COLS, receipt_rows)  # type: ignore[arg-type]
    _copy(session, Rating.__table__, RATING_COLS, rows.ratings)  # type: ignore[arg-type]
    # the audit chain, continued under the same lock as domain.audit.record
    if pg:
        session.execute(text("SELECT pg_advisory_xact_lock(424242)"))
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    next_id, prev = ((last[0] + 1, last[1]) if last else (1, GENESIS))
    audit = []
    for at, event, actor, subject, ip, amr, payload in rows.audit:
        digest = _digest(prev, at, event, actor, subject, ip, amr, payload)
        audit.append((next_id, at, event, actor, subject, ip, amr, payload, prev, digest))
        prev, next_id = digest, next_id + 1
    _copy(session, AuditEvent.__table__, AUDIT_COLS, audit)  # type: ignore[arg-type]
    if pg:  # the audit ids were numbered here (dossiers and payments took theirs from their sequences)
        session.execute(text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), "
                             "(SELECT COALESCE(MAX(id), 1) FROM audit_events))"))
    insert = pg_insert if pg else sqlite_insert
    greatest = func.greatest if pg else func.max  # SQLite's two-argument max() is PostgreSQL's greatest()
    if counters:
        values = [{"unit_code": u, "day": d, "last": n} for (u, d), n in sorted(counters.items())]
        stmt = insert(DossierCounter).values(values)
        session.execute(stmt.on_conflict_do_update(index_elements=["unit_code", "day"], set_={
            "last": greatest(DossierCounter.last, stmt.excluded.last)}))
    if receipt_counters:
        values = [{"unit_code": u, "series": s, "last": n} for (u, s), n in sorted(receipt_counters.items())]
        stmt = insert(ReceiptCounter).values(values)
        session.execute(stmt.on_conflict_do_update(index_elements=["unit_code", "series"], set_={
            "last": greatest(ReceiptCounter.last, stmt.excluded.last)}))
    rollups.apply(session, rows.delta)


class _Writer:
    """Writes batches on its own thread (and its own connections) while the next batch is built."""

    def __init__(self, url: str, progress: Callable[[str], None], total: int, started: float) -> None:
        self.db = Database(url)
        self.queue: queue.Queue[tuple[Rows, dict[tuple[str, str], int], dict[tuple[str, str], int]] | None] = \
            queue.Queue(maxsize=1)
        self.error: BaseException | None = None
        self.written = 0
        self.progress, self.total, self.started = progress, total, started
        self.thread = threading.Thread(target=self._run, name="demo-writer", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is not None:
                continue  # drain: the producer stops at its next put
            rows, counters, receipt_counters = item
            try:
                self.db.run(_write_batch, rows, counters, receipt_counters)
            except BaseException as exc:  # handed to the producer thread
                self.error = exc
                continue
            self.written += len(rows.dossiers)
            self.progress(f"  {self.written:,}/{self.total:,} dossiers written "
                          f"({_time.monotonic() - self.started:.0f} s)")

    def put(self, rows: Rows, counters: dict[tuple[str, str], int],
            receipt_counters: dict[tuple[str, str], int]) -> None:
        self.check()
        self.queue.put((rows, counters, receipt_counters))

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        self.check()


def generate(db: Database, opts: Options, progress: Callable[[str], None] = print) -> Report:
    """Fill the database with ``opts.dossiers`` dossiers of history (see the module docstring)."""
    opts = opts.check()
    started = _time.monotonic()
    now = (opts.now or datetime.now(UTC)).astimezone(UTC)
    setting = db.run(prepare, opts)
    cal = MemoCalendar(list(db.read_sync(load_calendar).overrides))
    rng = random.Random(opts.seed + 1)
    moments = _submission_moments(opts, cal, now, rng)
    first = moments[0] if moments else now
    span = max(1.0, (now - first).total_seconds())
    report = Report()
    next_id = None if not db.is_sqlite else db.read_sync(
        lambda s: (s.scalar(select(func.max(Dossier.id))) or 0) + 1)
    writer = _Writer(db.url, progress, opts.dossiers, started)
    try:
        for start in range(0, len(moments), opts.batch):
            chunk = moments[start:start + opts.batch]
            if next_id is None:  # PostgreSQL: from the sequence
                ids = db.run(_reserve_ids, cast(Table, Dossier.__table__), len(chunk))
            else:  # SQLite: one writer at a time, numbered here
                ids, next_id = list(range(next_id, next_id + len(chunk))), next_id + len(chunk)
            rows = Rows()
            counters: dict[tuple[str, str], int] = {}
            proc_choices = rng.choices(range(len(setting.procs)), weights=setting.weights, k=len(chunk))
            formless = sorted({setting.procs[i].code for i in proc_choices if not setting.procs[i].form_id})
            if formless:  # forms only for the procedures used (a small history touches a few hundred)
                forms = db.run(ensure_forms, formless)
                for p in setting.procs:
                    p.form_id = forms.get(p.code, p.form_id)
            for did, submitted, pi in zip(ids, chunk, proc_choices, strict=True):
                p = setting.procs[pi]
                frac = (submitted - first).total_seconds() / span
                channel = _channel(p, submitted, frac, cal, rng)
                citizen = setting.citizens[rng.randrange(len(setting.citizens))]
                day = submitted.astimezone(TZ).strftime("%y%m%d")
                number = setting.counters.get((p.unit, day), 0) + 1
                setting.counters[(p.unit, day)] = counters[(p.unit, day)] = number
                code = f"{p.unit}-{day}-{number:04d}"
                sim = Sim(did, p, citizen, setting.staff[p.unit], channel, cal, now, rng)
                status = build(sim, setting, rows, submitted, frac, rng, code, now)
                report.by_status[status] += 1
            report.dossiers += len(chunk)
            report.events += len(rows.history)
            report.payments += sum(1 for p in rows.payments if p[9] == "success")
            report.ratings += len(rows.ratings)
            writer.put(rows, counters, dict(setting.receipt_counters))
    finally:
        writer.close()
    if opts.verify:
        progress("  checking the roll-ups against a full recount…")
        report.differences = db.read_sync(rollups.differences)
    report.seconds = _time.monotonic() - started
    return report


def already_loaded(session: Session) -> bool:
    """Demo history is there (a demo citizen, +84988xxxxxx, has dossiers)."""
    username, _ = normalise_username("0988000000")
    return session.scalar(select(Dossier.id).join(User, User.id == Dossier.owner_id)
                          .where(User.username.like(username[:-6] + "%")).limit(1)) is not None

