"""Per-person choices: which events reach them on which outward channel, and their language.

The inbox always gets everything (it cannot be turned off); one-time codes are not configurable.
Officers' events are offered to officers and admins only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounts.models import User
from domain.errors import InvalidInput, NotFound
from domain.outbox import templates
from domain.outbox.enqueue import DEFAULTS, preferences, wants
from domain.outbox.models import NotificationProfile, Preference

CONFIGURABLE = ("webpush", "email", "sms")


@dataclass(frozen=True)
class Row:
    event: str
    label: str
    channels: dict[str, bool]  # webpush / email / sms → on; only the channels the event may use


def configurable_events(user: User) -> list[templates.Template]:
    audiences = {"citizen"} | ({"officer"} if user.kind in ("officer", "admin") else set())
    return [t for t in templates.events() if t.audience in audiences]


def language(session: Session, user_id: int) -> str:
    profile = session.get(NotificationProfile, user_id)
    return profile.lang if profile is not None else "vi"


def table(session: Session, user_id: int, lang: str) -> tuple[list[Row], str]:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    prefs = preferences(session, user_id)
    rows = [Row(event=t.event, label=t.label(lang),
                channels={c: wants(prefs, t.event, c) for c in CONFIGURABLE if c in t.channels})
            for t in configurable_events(user)]
    return rows, language(session, user_id)


def update(session: Session, user_id: int, choices: dict[tuple[str, str], bool], lang: str | None = None) -> None:
    """Set some (event, channel) choices; unknown events or channels are a 400."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    allowed = {t.event: t.channels for t in configurable_events(user)}
    for (event, channel), enabled in choices.items():
        if event not in allowed:
            raise InvalidInput(f"Không có loại thông báo {event!r} để cài đặt.", field="event")
        if channel not in CONFIGURABLE or channel not in allowed[event]:
            raise InvalidInput(f"Thông báo {event} không gửi được qua kênh {channel!r}.", field="channel")
        row = session.get(Preference, (user_id, event, channel))
        if enabled == DEFAULTS[channel]:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Preference(user_id=user_id, event=event, channel=channel, enabled=enabled))
        else:
            row.enabled = enabled
    if lang is not None:
        if lang not in ("vi", "en"):
            raise InvalidInput("Ngôn ngữ phải là vi hoặc en.", field="lang")
        profile = session.get(NotificationProfile, user_id)
        if profile is None:
            session.add(NotificationProfile(user_id=user_id, lang=lang, updated_at=datetime.now(UTC)))
        else:
            profile.lang, profile.updated_at = lang, datetime.now(UTC)
    session.flush()


def stored(session: Session, user_id: int) -> list[Preference]:
    return list(session.scalars(select(Preference).where(Preference.user_id == user_id)))
