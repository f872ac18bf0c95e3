"""Officers' reminders: a dossier assigned to someone and due within a day (or already late) gets one
reminder to its assignee per day. The worker runs :func:`remind_officers` every few minutes; the
outbox itself is the memory of what was already sent, so several workers or a restart send no more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from domain.dossiers.models import Dossier
from domain.outbox.enqueue import enqueue
from domain.outbox.models import Notification
from domain.workflow import State

EVENT = "officer.reminder"
AHEAD = timedelta(hours=24)
EVERY = timedelta(hours=24)
WORKING = (State.RECEIVED.value, State.PROCESSING.value, State.AWAITING_APPROVAL.value, State.APPROVED.value)
MAX_PER_RUN = 500
LOCK_KEY = 70_070_007  # PostgreSQL advisory lock: one worker writes reminders at a time


def remind_officers(session: Session, now: datetime | None = None) -> int:
    """Enqueue due-date reminders; returns how many were written (at most 500 a run)."""
    now = now or datetime.now(UTC)
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and not session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar():
        return 0  # another worker is writing the reminders right now
    due = list(session.execute(
        select(Dossier.id, Dossier.assignee_id, Dossier.due_at)
        .where(Dossier.assignee_id.is_not(None), Dossier.status.in_(WORKING), Dossier.paused_at.is_(None),
               Dossier.due_at.is_not(None), Dossier.due_at <= now + AHEAD)
        .order_by(Dossier.due_at).limit(MAX_PER_RUN)))
    if not due:
        return 0
    recent = {(n.user_id, n.dossier_id) for n in session.execute(
        select(Notification.user_id, Notification.dossier_id).where(
            Notification.event == EVENT, Notification.created_at >= now - EVERY,
            Notification.dossier_id.in_([row[0] for row in due])))}
    written = 0
    for dossier_id, assignee_id, due_at in due:
        if assignee_id is None or (assignee_id, dossier_id) in recent:
            continue
        if enqueue(session, int(assignee_id), EVENT, {"due_date": due_at}, dossier_id=dossier_id, now=now):
            written += 1
    return written
