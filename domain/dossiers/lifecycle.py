"""Firing workflow events on a dossier: :func:`fire` is the one place a state change happens.

It checks the table (:mod:`domain.workflow`), bumps the version, then runs the event's effects
(:mod:`domain.dossiers.effects`: history row, outbox rows, audit row, roll-up counters) in the
caller's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from domain.dossiers import effects
from domain.dossiers.models import Dossier
from domain.errors import Conflict
from domain.workflow import Actor, InvalidTransition, Transition, find, target_of


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
    effects.run(effects.Fired(session, dossier, event, before, now, actor_id, reason.strip(), detail or {},
                              internal, amr))
    session.flush()
    return row
