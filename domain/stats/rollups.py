"""Incremental daily (and monthly) roll-ups of the dossier figures, kept equal to a full recount.

How a change reaches the roll-ups
    Every state change passes :func:`domain.dossiers.lifecycle.fire`, whose last effect
    (:func:`domain.dossiers.effects.count`) calls :func:`on_transition`;
    rescheduling and due-date recomputation (``domain.dossiers.backoffice``) call :func:`on_due_change`; the
    payment state machine calls :func:`on_payment_change`; a rating calls :func:`on_rating`. These only
    *mark* the dossier (and count the transaction); the work happens once per transaction, just before
    commit (:func:`flush_pending`, a ``before_commit`` listener; ``Database`` installs the listeners through
    :func:`domain.dossiers.effects.install_listeners`, and what is pending lives in the transaction's
    :class:`~domain.db.TxState`), when every field the use case set after
    ``fire()`` — ``finished_at``, ``lateness``, the new due date — is final.

    For each marked dossier the new *contribution* (:class:`Contribution`: which day, unit and field
    it counts in, with what outcome) is computed from the dossier and compared with the stored one
    (``stats_facts``, read ``FOR UPDATE``); only the difference is added to ``stats_daily`` and
    ``stats_monthly`` (one upsert per table with ``col = col + excluded.col``), at four levels: the
    (unit, field) row and the aggregates (unit, *), (*, field), (*, *). So a dossier that moves
    from "processing" to "result issued, late" adds one to ``settled`` and ``late`` on the day of the
    result, and an apology after the result was issued only moves ``rescheduled``. A ``before_flush``
    listener also marks any dossier whose counted columns changed through the ORM, and any payment whose
    status changed, so a path that forgets a hook still cannot drift.

Recount
    :func:`recount` computes the same tables from the base tables (dossiers, pauses, apologies, payments,
    audit rows, ratings) with the same :func:`compute` function; :func:`differences` compares;
    :func:`rebuild` replaces the roll-ups by a recount (after a bulk ``UPDATE`` that bypassed the ORM).
    The channel of a dossier is its own (``Dossier.channel``: counter, online, post), counted as in_person,
    online, postal (:data:`STATS_CHANNEL`): the statistics' split by channel comes from it, never a guess.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    String,
    Table,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    inspect,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain.audit import AuditEvent
from domain.calendar.engine import (
    DEFAULT_SCHEDULE,
    TZ,
    Calendar,
    Pause,
    WorkSchedule,
    local,
    schedule_for_field,
)
from domain.calendar.store import load_calendar
from domain.catalog.facts import procedure_facts
from domain.catalog.models import Procedure
from domain.db import SessionSql, read_date, tx_state
from domain.dossiers.models import Apology, Dossier, DossierHistory, DossierPause
from domain.payments.models import Payment
from domain.stats.models import (
    CHANNELS,
    MEASURES,
    Rating,
    StatsDaily,
    StatsDailyDuration,
    StatsFact,
    StatsMonthly,
    StatsMonthlyDuration,
)

SETTLED_STATES = frozenset({"rejected", "result_issued", "returned"})
# dossier columns whose change may change a contribution (the before_flush safety net watches them)
WATCHED = ("status", "submitted_at", "received_at", "finished_at", "fee_vnd", "supplement_count", "lateness",
           "unit_code", "procedure_code", "due_at", "channel")
CRITERIA = ("timeliness", "attitude", "clarity", "ease")
OVERFLOW_BUCKET = 999
UPSERT_CHUNK = 5000

RowKey = tuple[date, str, str]  # (day, unit, field)
DurationKey = tuple[date, str, str, int]  # (day, unit, field, half_days)


def local_day(moment: datetime) -> date:
    """The day in Vietnam of a moment (a naive value is taken as UTC, as SQLite returns it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(TZ).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


def bucket(centidays: int) -> int:
    """Histogram bucket of a processing time given in 1/100 working days: the bucket's upper bound in
    half days — to the half day up to 10 days, to the whole day up to 200, beyond that one overflow."""
    c = max(0, centidays)
    if c <= 1000:
        return -(-c // 50)
    if c <= 20000:
        return -(-c // 100) * 2
    return OVERFLOW_BUCKET


# --- deltas -------------------------------------------------------------------------------------
@dataclass
class Delta:
    """Additions to roll-up rows: measures per (day, unit, field), histogram counts per bucket."""

    measures: dict[RowKey, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    durations: dict[DurationKey, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, key: RowKey, measure: str, amount: int) -> None:
        if amount:
            row = self.measures[key]
            row[measure] = row.get(measure, 0) + amount

    def add_duration(self, key: RowKey, half_days: int, amount: int) -> None:
        if amount:
            self.durations[(*key, half_days)] += amount

    def merge(self, other: Delta) -> None:
        for key, values in other.measures.items():
            for m, v in values.items():
                self.add(key, m, v)
        for dkey, n in other.durations.items():
            self.durations[dkey] += n

    def pruned(self) -> Delta:
        out = Delta()
        for key, values in self.measures.items():
            kept = {m: v for m, v in values.items() if v}
            if kept:
                out.measures[key] = kept
        for dkey, n in self.durations.items():
            if n:
                out.durations[dkey] = n
        return out

    def is_empty(self) -> bool:
        return not any(any(v for v in row.values()) for row in self.measures.values()) and \
            not any(self.durations.values())


ALL = "*"  # the unit or field of the aggregate rows ("every unit", "every field")


def with_totals(delta: Delta) -> Delta:
    """The delta plus its aggregate levels: each (unit, field) row is also added to (unit, *), (*, field)
    and (*, *), so a summary without a filter, or with one, reads a few rows instead of every pair."""
    out = Delta()
    for (day, unit, fld), values in delta.measures.items():
        for u, f in ((unit, fld), (unit, ALL), (ALL, fld), (ALL, ALL)):
            for m, v in values.items():
                out.add((day, u, f), m, v)
    for (day, unit, fld, half), n in delta.durations.items():
        for u, f in ((unit, fld), (unit, ALL), (ALL, fld), (ALL, ALL)):
            out.add_duration((day, u, f), half, n)
    return out.pruned()


# --- contributions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Contribution:
    """What one submitted dossier adds to the roll-ups (mirrored by a ``stats_facts`` row)."""

    unit_code: str
    field_slug: str
    channel: str
    submitted_day: date
    finished_day: date | None = None
    outcome: str | None = None  # settled | refused | withdrawn
    lateness: str | None = None  # early | on_time | late (settled only)
    supplement: bool = False
    fee_due: bool = False
    paid_online: bool = False
    rescheduled: bool = False
    proc_centidays: int | None = None

    def add_to(self, delta: Delta, sign: int) -> None:
        key = (self.submitted_day, self.unit_code, self.field_slug)
        delta.add(key, f"filed_{self.channel}", sign)
        if self.supplement:
            delta.add(key, "supplement", sign)
        if self.fee_due:
            delta.add(key, "fee_due", sign)
            if self.paid_online:
                delta.add(key, "paid_online", sign)
        if self.outcome is None or self.finished_day is None:
            return
        done = (self.finished_day, self.unit_code, self.field_slug)
        if self.outcome in ("refused", "withdrawn"):
            delta.add(done, self.outcome, sign)
            return
        delta.add(done, "settled", sign)
        if self.lateness in ("early", "on_time", "late"):
            delta.add(done, self.lateness, sign)
        if self.rescheduled:
            delta.add(done, "rescheduled", sign)
            if self.lateness == "late":
                delta.add(done, "late_apology", sign)
        if self.proc_centidays is not None:
            delta.add(done, "proc_count", sign)
            delta.add(done, "proc_centidays", sign * self.proc_centidays)
            delta.add_duration(done, bucket(self.proc_centidays), sign)

    @classmethod
    def of_row(cls, row: Sequence[Any]) -> Contribution:
        """A ``stats_facts`` row read by a plain statement (``FACT_FIELDS``; SQLite gives dates as text)."""
        values = dict(zip(FACT_FIELDS, row, strict=True))
        for name in ("submitted_day", "finished_day"):
            values[name] = read_date(values[name])
        for name in ("supplement", "fee_due", "paid_online", "rescheduled"):
            values[name] = bool(values[name])
        return cls(**values)

    def fact_values(self) -> dict[str, Any]:
        return {"unit_code": self.unit_code, "field_slug": self.field_slug, "channel": self.channel,
                "submitted_day": self.submitted_day, "finished_day": self.finished_day, "outcome": self.outcome,
                "lateness": self.lateness, "supplement": self.supplement, "fee_due": self.fee_due,
                "paid_online": self.paid_online, "rescheduled": self.rescheduled,
                "proc_centidays": self.proc_centidays}


def processing_days(calendar: Calendar, received_at: datetime, finished_at: datetime, field_name: str | None,
                    pauses: Sequence[Pause] = ()) -> float:
    """Processing time: working days from the (first) receipt to the result, the time the clock stood
    still for a supplement excluded (the back office receives a resubmitted dossier again, so the
    dossier's own ``received_at`` is the *last* receipt: the first one comes from its history)."""
    return max(0.0, calendar.working_days_between(_aware(received_at), _aware(finished_at),
                                                  schedule_for_field(field_name),
                                                  [(_aware(s), _aware(e) if e else None) for s, e in pauses]))


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def compute(*, status: str, submitted_at: datetime | None, received_at: datetime | None,
            finished_at: datetime | None, fee_vnd: int | None, supplement_count: int, lateness: str | None,
            unit_code: str, field_slug: str, field_name: str | None, channel: str, rescheduled: bool,
            paid: bool, pauses: Sequence[Pause], calendar: Calendar) -> Contribution | None:
    """The contribution of a dossier in this state; None for a draft (not filed yet).

    Filed on its submission day; refused, withdrawn or settled (result issued, or rejected) on the day it
    ended. Early / on time / late is the lateness the back office recorded at the result, against the
    due date in force then (an apology's new date included)."""
    if submitted_at is None or status == "draft":
        return None
    outcome: str | None = None
    if finished_at is not None:
        if status == "refused_at_intake":
            outcome = "refused"
        elif status == "withdrawn":
            outcome = "withdrawn"
        elif status in SETTLED_STATES:
            outcome = "settled"
    settled = outcome == "settled"
    proc: int | None = None
    if settled and received_at is not None and finished_at is not None:
        proc = round(processing_days(calendar, received_at, finished_at, field_name, pauses) * 100)
    fee_due = (fee_vnd or 0) > 0
    return Contribution(
        unit_code=unit_code, field_slug=field_slug, channel=channel if channel in CHANNELS else "online",
        submitted_day=local_day(submitted_at),
        finished_day=local_day(finished_at) if outcome and finished_at is not None else None,
        outcome=outcome, lateness=lateness if settled else None, supplement=supplement_count > 0,
        fee_due=fee_due, paid_online=fee_due and paid, rescheduled=settled and rescheduled, proc_centidays=proc)


def _procedure_field(session: Session, code: str) -> tuple[str, str]:
    """(slug, name) of a procedure's field (read once per transaction, see ``procedure_facts``)."""
    proc = procedure_facts(session, code)
    return (proc.field_slug, proc.field) if proc is not None else ("", "")


# a dossier's channel (Dossier.channel) as the statistics name it (stats_facts.channel, CHANNELS)
STATS_CHANNEL = {"online": "online", "counter": "in_person", "post": "postal"}
DOSSIER_CHANNEL = {v: k for k, v in STATS_CHANNEL.items()}


def stats_channel(channel: str | None) -> str:
    return STATS_CHANNEL.get(channel or "online", "online")


def contribution_of(session: Session, d: Dossier, channel: str | None = None) -> Contribution | None:
    """The contribution of a dossier as the database (and this transaction) has it now (its channel is the
    dossier's own unless ``channel`` names one of :data:`CHANNELS`)."""
    channel = channel or stats_channel(d.channel)
    if d.submitted_at is None or d.status == "draft":
        return None
    slug, name = _procedure_field(session, d.procedure_code)
    settled = d.status in SETTLED_STATES and d.finished_at is not None
    rescheduled = settled and bool(session.scalar(select(exists().where(Apology.dossier_id == d.id))))
    first_receipt = d.received_at
    if settled and d.supplement_count:
        first_receipt = session.scalar(select(func.min(DossierHistory.at)).where(
            DossierHistory.dossier_id == d.id, DossierHistory.event == "receive")) or d.received_at
    paid = (d.fee_vnd or 0) > 0 and bool(session.scalar(select(exists().where(
        Payment.dossier_id == d.id, Payment.status == "success"))))
    pauses: list[Pause] = []
    if settled and d.supplement_count:
        pauses = [(s, e) for s, e in session.execute(
            select(DossierPause.started_at, DossierPause.ended_at).where(DossierPause.dossier_id == d.id)
            .order_by(DossierPause.id))]
    return compute(status=d.status, submitted_at=d.submitted_at, received_at=first_receipt,
                   finished_at=d.finished_at, fee_vnd=d.fee_vnd, supplement_count=d.supplement_count or 0,
                   lateness=d.lateness, unit_code=d.unit_code, field_slug=slug, field_name=name, channel=channel,
                   rescheduled=rescheduled, paid=paid, pauses=pauses,
                   calendar=load_calendar(session) if settled else _NO_CALENDAR)


_NO_CALENDAR = Calendar()


# --- hooks ------------------------------------------------------------------------------------------
@dataclass
class Pending:
    dirty: set[int] = field(default_factory=set)
    delta: Delta = field(default_factory=Delta)


def _pending(session: Session) -> Pending:
    state = tx_state(session)
    if state.stats is None:
        state.stats = Pending()
    return state.stats


def mark(session: Session, dossier_id: int | None) -> None:
    """Recompute this dossier's contribution before the transaction commits."""
    if dossier_id is not None:
        _pending(session).dirty.add(int(dossier_id))


def on_transition(session: Session, dossier: Dossier, event: str, before: str, now: datetime | None = None,
                  *, audit: AuditEvent | None = None) -> None:
    """Called by ``fire()`` after each workflow event: the dossier is marked, the transaction counted.

    The transaction is the audit row ``fire()`` has just written (same time, same authentication), so
    the ``tx``/``tx_auth`` measures equal a count of the audit log's ``dossier.*`` rows. ``fire()``
    passes that row (``audit``); without it, the dossier's latest audit row is read."""
    mark(session, dossier.id)
    subject = f"dossier:{dossier.id}"
    if audit is not None and audit.subject == subject:
        row: Any = (audit.at, audit.authenticated)
    else:
        row = session.execute(select(AuditEvent.at, AuditEvent.authenticated)
                              .where(AuditEvent.subject == subject)
                              .order_by(AuditEvent.id.desc()).limit(1)).first()
    at, amr = (row[0], row[1]) if row is not None else (now or datetime.now(UTC), "")
    slug, _name = _procedure_field(session, dossier.procedure_code)
    key = (local_day(at), dossier.unit_code, slug)
    delta = _pending(session).delta
    delta.add(key, "tx", 1)
    if amr:
        delta.add(key, "tx_auth", 1)


def on_due_change(session: Session, dossier: Dossier) -> None:
    """Called when a due date is recomputed or rescheduled (apology, form 04)."""
    mark(session, dossier.id)


def on_payment_change(session: Session, payment: Payment, before_status: str, after_status: str) -> None:
    """Call from the payment state machine on every status change (the "paid online" share)."""
    if before_status != after_status:
        mark(session, payment.dossier_id)


def on_rating(session: Session, rating: Rating) -> None:
    """A new rating: counted on the day it was given, in the dossier's unit and field."""
    key = (local_day(rating.created_at), rating.unit_code, rating.field_slug)
    add_rating(_pending(session).delta, key, [getattr(rating, c) for c in CRITERIA])


def add_rating(delta: Delta, key: RowKey, scores: Sequence[int], sign: int = 1) -> None:
    delta.add(key, "ratings", sign)
    if sum(scores) / len(scores) >= 4:
        delta.add(key, "rating_satisfied", sign)
    for name, score in zip(CRITERIA, scores, strict=True):
        delta.add(key, f"r_{name}", sign * score)


def set_channel(session: Session, dossier_id: int, channel: str) -> None:
    """Set how a dossier reached the unit, named as the statistics name it (``in_person``, ``online``,
    ``postal``): it is the dossier's ``channel`` (counter, online, post), and the dossier is recounted."""
    if channel not in CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(CHANNELS)}")
    d = session.get(Dossier, dossier_id)
    if d is None:
        raise ValueError(f"no dossier {dossier_id}")
    d.channel = DOSSIER_CHANNEL[channel]
    mark(session, dossier_id)


def flush_pending(session: Session) -> None:
    """Apply what this transaction changed: facts diffed, roll-ups upserted. Idempotent."""
    session.flush()  # the before_flush net marks what changed since the last flush
    state = tx_state(session)
    pending, state.stats = state.stats, None
    if pending is None:
        return
    delta = pending.delta
    sql = SessionSql(session)
    lock = " FOR UPDATE" if sql.dialect == "postgresql" else ""  # SQLite: the writer holds the database
    for dossier_id in sorted(pending.dirty):
        found = sql.run(f"SELECT {', '.join(FACT_FIELDS)} FROM stats_facts WHERE dossier_id = :id{lock}",
                        {"id": dossier_id})
        old = Contribution.of_row(found[0]) if found else None
        d = session.execute(_DOSSIER, {"id": dossier_id}).scalar_one_or_none()
        new = contribution_of(session, d) if d is not None else None
        if new == old:
            continue
        if old is not None:
            old.add_to(delta, -1)
        if new is not None:
            new.add_to(delta, +1)
        if new is None:
            sql.run("DELETE FROM stats_facts WHERE dossier_id = :id", {"id": dossier_id})
        elif old is None:
            sql.run(f"INSERT INTO stats_facts (dossier_id, {', '.join(FACT_FIELDS)}) "
                    f"VALUES (:dossier_id, {', '.join(':' + c for c in FACT_FIELDS)})",
                    {"dossier_id": dossier_id, **new.fact_values()})
        else:
            sql.run(f"UPDATE stats_facts SET {', '.join(f'{c} = :{c}' for c in FACT_FIELDS)} "
                    "WHERE dossier_id = :dossier_id", {"dossier_id": dossier_id, **new.fact_values()})
    apply(session, delta)


_DOSSIER = select(Dossier).where(Dossier.id == bindparam("id")).execution_options(populate_existing=True)


# --- writing roll-ups -------------------------------------------------------------------------------
def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


_UPSERTS: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], str] = {}


def _upsert_statement(dialect: str, table: Table, keys: Sequence[str], cols: Sequence[str]) -> str:
    """The upsert of :func:`_upsert`, written once per table and dialect."""
    cache_key = (dialect, table.name, tuple(keys), tuple(cols))
    stmt = _UPSERTS.get(cache_key)
    if stmt is None:
        names = [*keys, *cols]
        updates = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in cols)
        if dialect == "postgresql":
            types = {c.name: ("date" if c.type.python_type is date else "text" if c.type.python_type is str
                              else "bigint") for c in table.columns}
            rows = (
                "SELECT * FROM unnest(" + ", ".join(f"CAST(:p{i} AS {types[n]}[])" for i, n in enumerate(names)) + ")"
            )
        else:
            rows = "VALUES (" + ", ".join(f":{n}" for n in names) + ")"
        stmt = (f"INSERT INTO {table.name} ({', '.join(names)}) {rows} "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}")
        _UPSERTS[cache_key] = stmt
    return stmt


def _upsert(session: Session, table: Table, keys: Sequence[str], cols: Sequence[str],
            rows: list[dict[str, Any]]) -> None:
    """``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` for every row: on PostgreSQL one
    statement over ``unnest`` of column arrays, on SQLite one executemany (plain statements: every
    submit runs two)."""
    if not rows:
        return
    sql = SessionSql(session)
    stmt = _upsert_statement(sql.dialect, table, keys, cols)
    if sql.dialect == "postgresql":
        names = [*keys, *cols]
        sql.run(stmt, {f"p{i}": [r[n] for r in rows] for i, n in enumerate(names)})
        return
    for start in range(0, len(rows), UPSERT_CHUNK):
        sql.many(stmt, rows[start:start + UPSERT_CHUNK])


def apply(session: Session, delta: Delta) -> None:
    """Add a delta (and its aggregate levels) to the daily and monthly tables, rows in key order (no
    lock-order deadlocks between concurrent transactions)."""
    delta = with_totals(delta.pruned())
    if delta.is_empty():
        return
    monthly: dict[RowKey, dict[str, int]] = defaultdict(lambda: dict.fromkeys(MEASURES, 0))
    daily_rows = []
    for (day, unit, fld), values in sorted(delta.measures.items()):
        full = {**dict.fromkeys(MEASURES, 0), **values}
        daily_rows.append({"day": day, "unit_code": unit, "field_slug": fld, **full})
        month = monthly[(month_of(day), unit, fld)]
        for m, v in values.items():
            month[m] += v
    month_rows = [{"month": m, "unit_code": u, "field_slug": f, **values}
                  for (m, u, f), values in sorted(monthly.items())]
    _upsert(session, StatsDaily.__table__, ("day", "unit_code", "field_slug"), MEASURES, daily_rows)  # type: ignore[arg-type]
    _upsert(session, StatsMonthly.__table__, ("month", "unit_code", "field_slug"), MEASURES, month_rows)  # type: ignore[arg-type]
    if delta.durations:
        mdur: dict[DurationKey, int] = defaultdict(int)
        drows = []
        for (day, unit, fld, half), n in sorted(delta.durations.items()):
            drows.append({"day": day, "unit_code": unit, "field_slug": fld, "half_days": half, "n": n})
            mdur[(month_of(day), unit, fld, half)] += n
        mrows = [{"month": m, "unit_code": u, "field_slug": f, "half_days": h, "n": n}
                 for (m, u, f, h), n in sorted(mdur.items())]
        _upsert(session, StatsDailyDuration.__table__, ("day", "unit_code", "field_slug", "half_days"), ("n",), drows)  # type: ignore[arg-type]
        _upsert(session, StatsMonthlyDuration.__table__, ("month", "unit_code", "field_slug", "half_days"), ("n",),  # type: ignore[arg-type]
                mrows)


# --- listeners (installed by domain.dossiers.effects.install_listeners) ------------------------------
def remember_savepoint(session: Session, transaction: Any) -> None:
    """``after_transaction_create``: at a savepoint, keep what was pending, to forget what a rolled-back
    savepoint counted."""
    if transaction.nested:
        state = tx_state(session)
        state.stats_savepoints[id(transaction)] = copy.deepcopy(state.stats)


def restore_savepoint(session: Session, previous_transaction: Any) -> None:
    """``after_soft_rollback``: a savepoint rolled back; what it counted is forgotten."""
    state = tx_state(session)
    if previous_transaction.nested and id(previous_transaction) in state.stats_savepoints:
        state.stats = state.stats_savepoints.pop(id(previous_transaction))


def mark_changed(session: Session, _context: Any, _instances: Any) -> None:
    """``before_flush``: the safety net; any dossier whose counted columns changed through the ORM, and
    any payment whose status changed, is recounted, whether or not its path called a hook."""
    for obj in list(session.dirty) + list(session.new):
        if isinstance(obj, Dossier):
            changed = obj in session.new or any(inspect(obj).attrs[name].history.has_changes() for name in WATCHED)
            if changed and obj.submitted_at is not None and obj.id is not None:
                mark(session, obj.id)
        elif isinstance(obj, Payment) and (obj in session.new or inspect(obj).attrs["status"].history.has_changes()):
            mark(session, obj.dossier_id)


# --- recount ------------------------------------------------------------------------------------------
@dataclass
class Tables:
    """Roll-up tables as plain dicts (a recount, or what is stored)."""

    daily: dict[RowKey, dict[str, int]]
    monthly: dict[RowKey, dict[str, int]]
    daily_durations: dict[DurationKey, int]
    monthly_durations: dict[DurationKey, int]


def _tables_from_delta(delta: Delta) -> Tables:
    d = with_totals(delta.pruned())
    monthly: dict[RowKey, dict[str, int]] = defaultdict(dict)
    for (day, unit, fld), values in d.measures.items():
        row = monthly[(month_of(day), unit, fld)]
        for m, v in values.items():
            row[m] = row.get(m, 0) + v
    mdur: dict[DurationKey, int] = defaultdict(int)
    for (day, unit, fld, half), n in d.durations.items():
        mdur[(month_of(day), unit, fld, half)] += n
    clean = {k: {m: v for m, v in row.items() if v} for k, row in monthly.items()}
    return Tables(dict(d.measures), {k: v for k, v in clean.items() if v}, dict(d.durations),
                  {k: v for k, v in mdur.items() if v})


class MemoCalendar(Calendar):
    """The same calendar with its day lookups memoised (recounts and demo history call them millions
    of times)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._working: dict[date, bool] = {}
        self._day_periods: dict[tuple[date, WorkSchedule], list[tuple[datetime, datetime]]] = {}
        self._prefix: dict[int, list[int]] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = super().is_working_day(day)
        return known

    def _periods(self, day: date, schedule: WorkSchedule) -> list[tuple[datetime, datetime]]:
        key = (day, schedule)
        known = self._day_periods.get(key)
        if known is None:
            known = self._day_periods[key] = super()._periods(day, schedule)
        return known

    def _working_days_before(self, day: date) -> int:
        """How many working days fall before ``day`` in its year (a prefix count, built once a year)."""
        table = self._prefix.get(day.year)
        if table is None:
            counts, seen, cursor = [], 0, date(day.year, 1, 1)
            while cursor.year == day.year:
                counts.append(seen)
                seen += self.is_working_day(cursor)
                cursor += timedelta(days=1)
            counts.append(seen)
            table = self._prefix[day.year] = counts
        return table[day.timetuple().tm_yday - 1]

    def _working_days_in(self, first: date, last: date) -> int:
        """Working days in [first, last] (0 when empty)."""
        if last < first:
            return 0
        total = 0
        for year in range(first.year, last.year + 1):
            lo = first if year == first.year else date(year, 1, 1)
            hi = last if year == last.year else date(year, 12, 31)
            total += self._working_days_before(hi) + self.is_working_day(hi) - self._working_days_before(lo)
        return total

    def working_time(self, a: datetime, b: datetime, schedule: WorkSchedule = DEFAULT_SCHEDULE) -> timedelta:
        """The parent's sum, with the whole days in between counted from a prefix table."""
        a, b = local(a), local(b)
        if b <= a or b.date() - a.date() < timedelta(days=3):
            return super().working_time(a, b, schedule)
        first_end = datetime.combine(a.date() + timedelta(days=1), time(0), TZ)
        last_start = datetime.combine(b.date(), time(0), TZ)
        middle = self._working_days_in(a.date() + timedelta(days=1), b.date() - timedelta(days=1))
        return (super().working_time(a, first_end, schedule) + schedule.day_length * middle
                + super().working_time(last_start, b, schedule))


def recount_contributions(session: Session, batch: int = 5000,
                          unit_code: str | None = None) -> Iterator[tuple[int, Contribution]]:
    """Every filed dossier's contribution computed from the base tables (in id order, by id ranges);
    only one receiving unit's with ``unit_code``."""
    calendar = MemoCalendar(list(load_calendar(session).overrides))
    fields = {code: (slug, name) for code, slug, name in session.execute(
        select(Procedure.code, Procedure.field_slug, Procedure.field))}
    scope = [Dossier.submitted_at.is_not(None)] + ([Dossier.unit_code == unit_code] if unit_code else [])
    lo = session.scalar(select(func.min(Dossier.id)).where(*scope))
    hi = session.scalar(select(func.max(Dossier.id)).where(*scope))
    if lo is None or hi is None:
        return
    for first in range(lo, hi + 1, batch):
        last = first + batch - 1
        rescheduled = set(session.scalars(select(Apology.dossier_id).where(Apology.dossier_id.between(first, last))))
        paid = set(session.scalars(select(Payment.dossier_id).where(Payment.dossier_id.between(first, last),
                                                                     Payment.status == "success")))
        pauses: dict[int, list[Pause]] = defaultdict(list)
        for did, ps, pe in session.execute(select(DossierPause.dossier_id, DossierPause.started_at,
                                                  DossierPause.ended_at)
                                           .where(DossierPause.dossier_id.between(first, last))
                                           .order_by(DossierPause.id)):
            pauses[did].append((ps, pe))
        receipts = dict(session.execute(
            select(DossierHistory.dossier_id, func.min(DossierHistory.at))
            .where(DossierHistory.dossier_id.between(first, last), DossierHistory.event == "receive")
            .group_by(DossierHistory.dossier_id)).all())
        query = select(
            Dossier.id, Dossier.status, Dossier.submitted_at, Dossier.received_at, Dossier.finished_at,
            Dossier.fee_vnd, Dossier.supplement_count, Dossier.lateness, Dossier.unit_code,
            Dossier.procedure_code, Dossier.channel).where(Dossier.id.between(first, last),
                                                           Dossier.submitted_at.is_not(None))
        if unit_code is not None:
            query = query.where(Dossier.unit_code == unit_code)
        for did, status, sub, rec, fin, fee, sup, late, unit, proc, chan in session.execute(query.order_by(Dossier.id)):
            rec = (receipts.get(did) or rec) if sup else rec  # processing time runs from the first receipt
            slug, name = fields.get(proc, ("", ""))
            c = compute(status=status, submitted_at=sub, received_at=rec, finished_at=fin, fee_vnd=fee,
                        supplement_count=sup or 0, lateness=late, unit_code=unit, field_slug=slug, field_name=name,
                        channel=stats_channel(chan), rescheduled=did in rescheduled, paid=did in paid,
                        pauses=pauses.get(did, []), calendar=calendar)
            if c is not None:
                yield did, c


def _local_date(session: Session, column: Any) -> Any:
    """SQL for the local (Vietnam, UTC+7 all year) date of a stored UTC moment."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Ho_Chi_Minh", column))
    return func.date(column, "+7 hours")  # SQLite keeps naive UTC text


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def recount(session: Session, unit_code: str | None = None) -> tuple[Tables, dict[int, Contribution]]:
    """The roll-up tables and facts as they should be (see :func:`recount_delta`)."""
    delta, facts = recount_delta(session, unit_code)
    return _tables_from_delta(delta), facts


def recount_delta(session: Session, unit_code: str | None = None) -> tuple[Delta, dict[int, Contribution]]:
    """The roll-ups and facts as they should be, from the base tables only.

    Contributions are recomputed dossier by dossier (:func:`compute`); transactions are counted in SQL
    from the audit log's ``dossier.*`` rows, ratings from ``stats_ratings`` — independently of how the
    incremental path counted them."""
    delta = Delta()
    facts: dict[int, Contribution] = {}
    for did, c in recount_contributions(session, unit_code=unit_code):
        c.add_to(delta, 1)
        facts[did] = c
    day = _local_date(session, AuditEvent.at)
    authenticated = func.sum(case((AuditEvent.authenticated != "", 1), else_=0))
    tx = (select(day, Dossier.unit_code, Procedure.field_slug, func.count(), authenticated)
          .select_from(AuditEvent)
          .join(Dossier, AuditEvent.subject == literal("dossier:").concat(cast(Dossier.id, String)))
          .join(Procedure, Procedure.code == Dossier.procedure_code)
          .where(AuditEvent.event.like("dossier.%")).group_by(day, Dossier.unit_code, Procedure.field_slug))
    if unit_code is not None:
        tx = tx.where(Dossier.unit_code == unit_code)
    for d, unit, slug, n, n_auth in session.execute(tx):
        key = (_as_date(d), unit, slug)
        delta.add(key, "tx", int(n))
        delta.add(key, "tx_auth", int(n_auth or 0))
    rday = _local_date(session, Rating.created_at)
    points = Rating.timeliness + Rating.attitude + Rating.clarity + Rating.ease
    rq = (select(rday, Rating.unit_code, Rating.field_slug, func.count(),
                 func.sum(case((points >= 4 * len(CRITERIA), 1), else_=0)),
                 *[func.sum(getattr(Rating, c)) for c in CRITERIA])
          .group_by(rday, Rating.unit_code, Rating.field_slug))
    if unit_code is not None:
        rq = rq.where(Rating.unit_code == unit_code)
    for d, unit, slug, n, satisfied, *sums in session.execute(rq):
        key = (_as_date(d), unit, slug)
        delta.add(key, "ratings", int(n))
        delta.add(key, "rating_satisfied", int(satisfied or 0))
        for criterion, total in zip(CRITERIA, sums, strict=True):
            delta.add(key, f"r_{criterion}", int(total or 0))
    return delta, facts


def stored(session: Session, unit_code: str | None = None) -> Tables:
    """The roll-up tables as they are (one unit's rows with ``unit_code``)."""
    def scoped(stmt: Any, table: Any) -> Any:  # (a unit's own rows; the "*" unit mixes every unit)
        return stmt.where(table.c.unit_code == unit_code) if unit_code is not None else stmt

    def rows(table: Any, day_col: str) -> dict[RowKey, dict[str, int]]:
        out: dict[RowKey, dict[str, int]] = {}
        cols = [table.c[m] for m in MEASURES]
        for row in session.execute(scoped(select(table.c[day_col], table.c.unit_code, table.c.field_slug, *cols),
                                          table)):
            values = {m: int(v) for m, v in zip(MEASURES, row[3:], strict=True) if v}
            if values:
                out[(row[0], row[1], row[2])] = values
        return out

    def durations(table: Any, day_col: str) -> dict[DurationKey, int]:
        return {(r[0], r[1], r[2], r[3]): int(r[4]) for r in session.execute(scoped(
            select(table.c[day_col], table.c.unit_code, table.c.field_slug, table.c.half_days, table.c.n), table))
            if r[4]}

    return Tables(rows(StatsDaily.__table__, "day"), rows(StatsMonthly.__table__, "month"),
                  durations(StatsDailyDuration.__table__, "day"), durations(StatsMonthlyDuration.__table__, "month"))


FACT_FIELDS = ("unit_code", "field_slug", "channel", "submitted_day", "finished_day", "outcome", "lateness",
               "supplement", "fee_due", "paid_online", "rescheduled", "proc_centidays")


def _fact_types(values: Sequence[Any]) -> list[Any]:
    out = list(values)
    for i in (7, 8, 9, 10):  # booleans (SQLite gives 0/1)
        out[i] = bool(out[i])
    return out


def differences(session: Session, limit: int = 20, unit_code: str | None = None) -> list[str]:
    """Where the stored roll-ups (and facts) differ from a full recount; empty when they agree.
    With ``unit_code``, only that receiving unit's dossiers and roll-up rows are compared."""
    expected, facts = recount(session, unit_code)
    actual = stored(session, unit_code)
    out: list[str] = []
    for name in ("daily", "monthly", "daily_durations", "monthly_durations"):
        want, have = getattr(expected, name), getattr(actual, name)
        if unit_code is not None:  # the "*" unit's rows hold every unit's dossiers: not comparable here
            want = {k: v for k, v in want.items() if k[1] == unit_code}
        for key in sorted(set(want) | set(have), key=str):
            if want.get(key) != have.get(key):
                out.append(f"{name} {key}: recount {want.get(key)} != stored {have.get(key)}")
                if len(out) >= limit:
                    return out
    cols = [StatsFact.dossier_id, *(getattr(StatsFact, name) for name in FACT_FIELDS)]
    query = select(*cols) if unit_code is None else select(*cols).where(StatsFact.unit_code == unit_code)
    stored_facts = {row[0]: Contribution(**dict(zip(FACT_FIELDS, _fact_types(row[1:]), strict=True)))
                    for row in session.execute(query)}
    for did in sorted(set(facts) | set(stored_facts)):
        if facts.get(did) != stored_facts.get(did):
            out.append(f"fact {did}: recount {facts.get(did)} != stored {stored_facts.get(did)}")
            if len(out) >= limit:
                break
    return out


def rebuild(session: Session) -> int:
    """Replace facts and roll-ups by a full recount (channels are the dossiers' own); returns dossiers counted."""
    delta, facts = recount_delta(session)
    for table in (StatsDaily, StatsMonthly, StatsDailyDuration, StatsMonthlyDuration, StatsFact):
        session.execute(delete(table))
    insert = _insert(session)
    fact_rows = [{"dossier_id": did, **c.fact_values()} for did, c in sorted(facts.items())]
    for start in range(0, len(fact_rows), 1000):
        session.execute(insert(StatsFact.__table__), fact_rows[start:start + 1000])
    apply(session, delta)
    tx_state(session).stats = None
    return len(facts)

