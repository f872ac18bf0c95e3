"""Firing workflow events on a dossier: the table check, version bump, history and audit rows, and the
notifications the event causes (written to the outbox in the same transaction)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.audit import record
from domain.db import SessionSql
from domain.dossiers.models import Dossier
from domain.errors import Conflict
from domain.outbox.enqueue import dossier_event
from domain.stats import rollups
from domain.workflow import Actor, InvalidTransition, Transition, find, target_of

HISTORY_INSERT = (  # a plain statement: it runs on every transition of every dossier
    "INSERT INTO dossier_history (dossier_id, at, actor_id, event, from_status, to_status, reason, form_revision_id, "
    "detail, internal) VALUES (:dossier_id, :at, :actor_id, :event, :from_status, :to_status, :reason, "
    ":form_revision_id, :detail, :internal)")


class WorkflowConflict(Conflict):
    """An action the table does not allow now (409), or a stale version (409 with the fresh state)."""


def fire(session: Session, dossier: Dossier, event: str, *, actor_id: int | None, actors: set[Actor],
         reason: str = "", expected_version: int | None = None, internal: bool = False,
         detail: dict[str, Any] | None = None, now: datetime | None = None, amr: str = "") -> Transition:
    """Apply one event in the caller's transaction; raise WorkflowConflict when not allowed.

    ``amr`` is how the actor authenticated (pwd | webauthn): the audit row counts the transaction
    as electronically authenticated."""
    if expected_version is not None and expected_version != dossier.version:
        raise WorkflowConflict(
            f"Hồ sơ vừa được người khác cập nhật (phiên bản {dossier.version}, bạn gửi {expected_version}). "
            "Hãy tải lại và thử lại.", field="version")
    try:
        row = find(event, dossier.status, actors)
    except InvalidTransition as exc:
        raise WorkflowConflict(exc.detail) from None
    if row.needs_reason and not reason.strip():
        raise WorkflowConflict(f"{event} needs a reason", field="reason")
    now = now or datetime.now(UTC)
    before = dossier.status
    dossier.status = target_of(row, before).value
    dossier.version += 1
    dossier.updated_at = now
    payload = json.dumps(detail or {}, ensure_ascii=False, default=str)
    SessionSql(session).run(HISTORY_INSERT, {
        "dossier_id": dossier.id, "at": now, "actor_id": actor_id, "event": event, "from_status": before,
        "to_status": dossier.status, "reason": reason.strip()[:4000], "form_revision_id": dossier.form_revision_id,
        "detail": payload, "internal": internal,
    })
    dossier_event(session, dossier, event, reason=reason.strip(), detail=detail, internal=internal)
    # the audit row last: on PostgreSQL it takes the chain's lock, held until commit
    audit = record(session, f"dossier.{event}", actor_id=actor_id, subject=f"dossier:{dossier.id}",
                   authenticated=amr, from_status=before, to_status=dossier.status, version=dossier.version)
    rollups.on_transition(session, dossier, event, before, now, audit=audit)
    session.flush()
    return row
