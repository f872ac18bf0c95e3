"""The in-app inbox: every notification (bar one-time codes) is an inbox item, newest first, with an
unread count; reading one marks it read. Texts are rendered when read, in the reader's language."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from domain.clock import utc
from domain.errors import InvalidInput, NotFound
from domain.outbox import templates
from domain.outbox.models import Notification

MAX_PAGE = 100


class NotificationOut(msgspec.Struct, frozen=True):
    # returned as is by the API: its name is the OpenAPI component's, its fields the JSON's
    id: int
    message_id: str
    event: str
    title: str
    body: str
    url: str
    dossier_id: int | None
    created_at: datetime
    read: bool


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.inbox.is_(True), Notification.read_at.is_(None))) or 0


def item(n: Notification, lang: str) -> NotificationOut:
    values = json.loads(n.context or "{}")
    try:
        r = templates.get(n.event).render(lang, values)
        title, body, url = r.title, r.body, r.url
    except templates.TemplateError:
        title, body, url = n.event, "", "/thong-bao"
    return NotificationOut(id=n.id, message_id=n.message_id, event=n.event, title=title, body=body, url=url,
                           dossier_id=n.dossier_id, created_at=utc(n.created_at), read=n.read_at is not None)


def mine(session: Session, user_id: int, lang: str, *, limit: int = 20, before: int | None = None
         ) -> tuple[list[NotificationOut], int]:
    """My inbox, newest first (``before``: an id, for the next page), and my unread count."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"Số thông báo mỗi trang (limit) từ 1 đến {MAX_PAGE}.", field="limit")
    query = select(Notification).where(Notification.user_id == user_id, Notification.inbox.is_(True))
    if before is not None:
        query = query.where(Notification.id < before)
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(limit))
    return [item(n, lang) for n in rows], unread_count(session, user_id)


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    n = session.get(Notification, notification_id)
    if n is None or n.user_id != user_id or not n.inbox:
        raise NotFound("Không tìm thấy thông báo.")
    if n.read_at is None:
        n.read_at = datetime.now(UTC)
    return n


def mark_all_read(session: Session, user_id: int) -> int:
    result = session.execute(update(Notification).where(
        Notification.user_id == user_id, Notification.inbox.is_(True), Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC)))
    return int(getattr(result, "rowcount", 0) or 0)
