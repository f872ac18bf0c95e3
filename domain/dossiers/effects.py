"""What a workflow event causes, beside the transition table (:mod:`domain.workflow`).

:func:`domain.dossiers.lifecycle.fire` checks the table, bumps the version, then runs the event's
:data:`EFFECTS` in order, all in the caller's transaction:

1. :func:`history` — the ``dossier_history`` row;
2. :func:`notify` — the outbox rows of the people the event concerns (:mod:`domain.outbox.enqueue`);
3. :func:`audit` — the audit row (last of the writes: on PostgreSQL it takes the chain's lock, held
   until commit);
4. :func:`count` — the roll-up counters (the transaction is counted, the dossier marked for recount).

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
from domain.db import SessionSql
from domain.dossiers.models import Dossier
from domain.outbox import enqueue as outbox
from domain.stats import rollups
from domain.workflow import TABLE

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


def notify(f: Fired) -> None:
    outbox.dossier_event(f.session, f.dossier, f.event, reason=f.reason, detail=f.detail, internal=f.internal)


def audit(f: Fired) -> None:
    f.audit_row = record(f.session, f"dossier.{f.event}", actor_id=f.actor_id, subject=f"dossier:{f.dossier.id}",
                         authenticated=f.amr, from_status=f.before, to_status=f.dossier.status,
                         version=f.dossier.version)


def count(f: Fired) -> None:
    rollups.on_transition(f.session, f.dossier, f.event, f.before, f.now, audit=f.audit_row)


# every event writes its history, tells whom it concerns (domain.outbox.enqueue.DOSSIER_EVENTS and
# OFFICER_EVENTS say who that is, if anyone), is audited and counted, in this order
EVERY_EVENT: tuple[Effect, ...] = (history, notify, audit, count)
EFFECTS: dict[str, tuple[Effect, ...]] = {row.event: EVERY_EVENT for row in TABLE}


def run(f: Fired) -> None:
    """Run the event's effects in order."""
    for effect in EFFECTS[f.event]:
        effect(f)


# --- at commit: the session listeners -----------------------------------------------------------------
LISTENERS: tuple[tuple[str, Callable[..., None]], ...] = (
    ("before_flush", rollups.mark_changed),  # the roll-ups' safety net: a changed dossier is recounted
    ("before_commit", outbox.complete_at_commit),  # the dossier's values into its outbox rows
    ("before_commit", rollups.flush_pending),  # recount what the transaction marked, add the counters
    ("after_commit", outbox.wake_after_commit),
    ("after_rollback", outbox.forget_on_rollback),
    ("after_transaction_create", rollups.remember_savepoint),
    ("after_soft_rollback", rollups.restore_savepoint),
    ("after_transaction_end", db.end_transaction),  # last: the transaction's TxState goes
)


def install_listeners() -> None:
    """Put the listeners on the ``Session`` class, once per process (idempotent)."""
    for name, fn in LISTENERS:
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)
