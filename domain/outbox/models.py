"""Notification tables: the outbox (notifications + one delivery per channel and device), attempts,
browsers' push subscriptions and people's preferences.

A :class:`Notification` is written in the same transaction as the event that causes it; it is also
the in-app inbox item. Each outward channel gets a :class:`Delivery` whose status moves, in the
GOV.UK Notify style, ``created → sending → delivered | temporary-failure | permanent-failure |
technical-failure``; every try is an :class:`Attempt`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.db import Base

TS = DateTime(timezone=True)

CREATED, SENDING, DELIVERED = "created", "sending", "delivered"
TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE = "temporary-failure", "permanent-failure", "technical-failure"
PENDING = (CREATED, SENDING)
FAILED = (TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE)
STATUSES = (*PENDING, DELIVERED, *FAILED)
CHANNELS = ("inbox", "webpush", "email", "sms")


class Notification(Base):
    """One message to one person about one event; the inbox item too (one-time codes are not shown)."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_inbox_read", "user_id", "inbox", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)  # receivers de-duplicate by it
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(48))
    dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id", ondelete="SET NULL"), nullable=True,
                                                   index=True)
    context: Mapped[str] = mapped_column(Text, default="{}")  # JSON: the template's named values, as shown
    inbox: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    read_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class PushSubscription(Base):
    """A browser's Web Push subscription (one per device and browser profile)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text)
    endpoint_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the endpoint
    p256dh: Mapped[str] = mapped_column(String(100))  # base64url, 65-byte uncompressed P-256 point
    auth: Mapped[str] = mapped_column(String(32))  # base64url, 16 bytes
    lang: Mapped[str] = mapped_column(String(2), default="vi")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(TS)
    last_success_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Delivery(Base):
    """A notification on one outward channel (for Web Push: on one subscribed device)."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # webpush | email | sms
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("push_subscriptions.id", ondelete="SET NULL"), nullable=True, index=True)
    destination: Mapped[str] = mapped_column(String(255), default="")  # e-mail address or phone number
    status: Mapped[str] = mapped_column(String(20), default=CREATED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TS)
    locked_until: Mapped[datetime | None] = mapped_column(TS, nullable=True)  # a worker's lease while sending
    locked_by: Mapped[str] = mapped_column(String(64), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    delivered_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)

    notification: Mapped[Notification] = relationship(lazy="raise")  # set when written (one flush per event)


class Attempt(Base):
    """One try of a delivery: opened when a worker takes it, closed with the outcome."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # delivered | retry | temporary-failure | permanent-failure | technical-failure | interrupted
    outcome: Mapped[str] = mapped_column(String(24), default="")
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")


class Preference(Base):
    """A person's choice for one event type on one channel (absent: the event's default)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    event: Mapped[str] = mapped_column(String(48), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


class NotificationProfile(Base):
    """The language a person reads e-mails and text messages in (push uses the device's page language)."""

    __tablename__ = "notification_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    lang: Mapped[str] = mapped_column(String(2), default="vi")
    updated_at: Mapped[datetime] = mapped_column(TS)
