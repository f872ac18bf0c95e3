"""What a workflow event causes, beside the transition table (:mod:`domain.workflow`).

:func:`domain.dossiers.lifecycle.fire` checks the table, bumps the version, then runs the event's
:data:`EFFECTS` in order, all in the caller's transaction:

1. :func:`history` — the ``dossier_history`` row;
2. :func:`domain.forms.issue.issue` — the form the event issues, numbered (``Transition.form``);
3. :class:`TellFiler` / :class:`TellOfficer` — the outbox rows of the people the event concerns
   (:data:`DOSSIER_EVENTS`, :data:`OFFICER_EVENTS`; written by :mod:`domain.outbox.enqueue`);
4. :func:`audit` — the audit row (last of the writes: on PostgreSQL it takes the chain's lock, held
   until commit);
5. :func:`count` — the roll-up counters (the transaction is counted, the dossier marked for recount).

What must wait until the use case has finished (it may still set the code or the due date after
firing) runs at commit, through the session listeners :func:`install_listeners` puts on the
``Session`` class: the outbox rows are completed, the roll-ups recounted, the worker woken. They share
one :class:`~domain.db.TxState` per transaction. :class:`~domain.db.Database` installs them when it is
opened; nothing is registered on import.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from domain import db
from domain.audit import AuditEvent, record
from domain.db import SessionSql, tx_state
from domain.dossiers.models import Dossier
from domain.forms import issue as forms
from domain.outbox import enqueue as outbox
from domain.stats import rollups
from domain.workflow import FORM_OF_EVENT, TABLE

HISTORY_INSERT = (  # a plain statement: it runs on every transition of every dossier
    "INSERT INTO dossier_history (dossier_id, at, actor_id, event, from_status, to_status, reason, form_revision_id, "
    "detail, internal) VALUES (:dossier_id, :at, :actor_id, :event, :from_status, :to_status, :reason, "
    ":form_revision_id, :detail, :internal)")


@dataclass
class Fired:
    """One event that has just moved a dossier (its new status and version are set)."""

    session: Session
    dossier: Dossier
    event: str
    before: str  # the status it left
    now: datetime
    actor_id: int | None
    reason: str  # stripped
    detail: dict[str, Any] = field(default_factory=dict)
    internal: bool = False  # a note between officers: the filer is not told
    amr: str = ""  # how the actor authenticated (pwd | webauthn)
    audit_row: AuditEvent | None = None  # set by audit()


Effect = Callable[[Fired], None]


def history(f: Fired) -> None:
    SessionSql(f.session).run(HISTORY_INSERT, {
        "dossier_id": f.dossier.id, "at": f.now, "actor_id": f.actor_id, "event": f.event, "from_status": f.before,
        "to_status": f.dossier.status, "reason": f.reason[:4000], "form_revision_id": f.dossier.form_revision_id,
        "detail": json.dumps(f.detail, ensure_ascii=False, default=str), "internal": f.internal,
    })


# whom an event concerns: the filer (a message with this template), an officer it is handed to, nobody
DOSSIER_EVENTS = {
    "submit": "dossier.submitted", "resubmit": "dossier.resubmitted", "receive": "dossier.received",
    "receive_at_counter": "dossier.received", "confirm_delivery": "dossier.returned",
    "send_by_post": "dossier.sent_by_post",
    "request_supplement": "dossier.supplement_requested", "refuse_intake": "dossier.refused",
    "approve": "dossier.approved", "reject": "dossier.rejected", "issue_result": "dossier.result_ready",
    "return_result": "dossier.returned", "apologize": "dossier.apology", "withdraw": "dossier.withdrawn",
    "request_withdrawal": "dossier.withdrawal_requested", "accept_withdrawal": "dossier.withdrawn",
    "stop": "dossier.stopped", "resume": "dossier.resumed", "request_fee": "dossier.fee_requested",
}
# (fee_paid tells nobody more: the payment's own message has told the filer)
OFFICER_EVENTS = {"assign": "officer.assigned", "route": "officer.assigned",
                  "request_withdrawal": "officer.withdrawal_requested"}


@dataclass(frozen=True)
class TellFiler:
    """The outbox rows telling the filer (the dossier's owner) what happened; none for an internal note."""

    template: str

    def __call__(self, f: Fired) -> None:
        if f.internal or f.dossier.owner_id is None:
            return
        context: dict[str, Any] = {"reason": f.reason or "—"}
        if f.event == "apologize" and f.detail.get("new_due_date"):
            context["new_due_date"] = datetime.fromisoformat(str(f.detail["new_due_date"]))
        if f.event == "request_fee":
            context["amount"] = outbox.money(int(f.detail.get("amount_vnd") or 0))
        if f.event == "send_by_post":
            context["waybill"] = str(f.detail.get("waybill") or "—")
        if f.event == "request_supplement" and f.detail.get("missing") and not f.reason:
            context["reason"] = "; ".join(str(m) for m in f.detail["missing"])
        outbox.enqueue(f.session, f.dossier.owner_id, self.template, context, dossier_id=f.dossier.id)
        # the session's identity map holds objects weakly: keep the dossier until the outbox rows are
        # completed at commit, which then reads it from memory instead of loading it again
        tx_state(f.session).outbox_dossiers.append(f.dossier)


@dataclass(frozen=True)
class TellOfficer:
    """The outbox rows telling the officer the dossier was handed to (``detail["to_user"]``)."""

    template: str

    def __call__(self, f: Fired) -> None:
        to_user = f.detail.get("to_user")
        if not f.internal and isinstance(to_user, int):
            outbox.enqueue(f.session, to_user, self.template, {}, dossier_id=f.dossier.id)


def audit(f: Fired) -> None:
    f.audit_row = record(f.session, f"dossier.{f.event}", actor_id=f.actor_id, subject=f"dossier:{f.dossier.id}",
                         authenticated=f.amr, from_status=f.before, to_status=f.dossier.status,
                         version=f.dossier.version)


def count(f: Fired) -> None:
    rollups.on_transition(f.session, f.dossier, f.event, f.before, f.now, audit=f.audit_row)


def effects_of(event: str) -> tuple[Effect, ...]:
    """Every event writes its history, issues its form (if the table gives it one), tells whom it concerns,
    is audited and counted, in this order."""
    tell: list[Effect] = [forms.issue] if FORM_OF_EVENT.get(event) else []
    if event in DOSSIER_EVENTS:
        tell.append(TellFiler(DOSSIER_EVENTS[event]))
    if event in OFFICER_EVENTS:
        tell.append(TellOfficer(OFFICER_EVENTS[event]))
    return (history, *tell, audit, count)


EFFECTS: dict[str, tuple[Effect, ...]] = {row.event: effects_of(row.event) for row in TABLE}


def run(f: Fired) -> None:
    """Run the event's effects in order."""
    for effect in EFFECTS[f.event]:
        effect(f)


# --- at commit: the session listeners -----------------------------------------------------------------
LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("before_flush", rollups.mark_changed),  # the roll-ups' safety net: a changed dossier is recounted
    ("before_commit", forms.complete_at_commit),  # what each issued form says, before its outbox rows
    ("before_commit", outbox.complete_at_commit),  # the dossier's values into its outbox rows
    ("before_commit", rollups.flush_pending),  # recount what the transaction marked, add the counters
    ("after_commit", outbox.wake_after_commit),
    ("after_commit", db.keep_after_commit),  # what must not run inside the transaction (a receipt's file)
    ("after_rollback", outbox.forget_on_rollback),
    ("after_rollback", forms.forget_on_rollback),
    ("after_transaction_create", rollups.remember_savepoint),
    ("after_soft_rollback", rollups.restore_savepoint),
    ("after_transaction_end", db.end_transaction),  # last: the transaction's TxState goes
)


def install_listeners() -> None:
    """Put the listeners on the ``Session`` class, once per process (idempotent)."""
    for name, fn in LISTENERS:
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
