"""The audit log: append-only rows, each hash covering the previous row's hash (tamper-evident)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.db import Base, SessionSql, UTCDateTime

GENESIS = "0" * 64
INSERT = ("INSERT INTO audit_events (at, event, actor_id, subject, ip, authenticated, detail, prev_hash, hash) "
          "VALUES (:at, :event, :actor_id, :subject, :ip, :authenticated, :detail, :prev_hash, :hash) RETURNING id")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)  # e.g. auth.login_ok
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    subject: Mapped[str] = mapped_column(String(128), default="")  # e.g. user:12, dossier:7
    ip: Mapped[str] = mapped_column(String(64), default="")
    authenticated: Mapped[str] = mapped_column(String(16), default="")  # pwd | webauthn | "" (none)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _digest(prev: str, at: datetime, event: str, actor: int | None, subject: str, ip: str, amr: str,
            detail: str) -> str:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # SQLite gives naive UTC back
    body = json.dumps([prev, at.isoformat(), event, actor, subject, ip, amr, detail],
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def record(session: Session, event: str, *, actor_id: int | None = None, subject: str = "", ip: str = "",
           authenticated: str = "", **detail: Any) -> AuditEvent:
    """Append one audit row in the caller's transaction (serialised: one chain, no forks)."""
    sql = SessionSql(session)
    if sql.dialect == "postgresql":
        sql.run("SELECT pg_advisory_xact_lock(424242)", {})
    last = sql.run("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1", {})
    prev = last[0][0] if last else GENESIS
    at = datetime.now(UTC)
    payload = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    values = dict(at=at, event=event, actor_id=actor_id, subject=subject, ip=ip[:64], authenticated=authenticated,
                  detail=payload, prev_hash=prev,
                  hash=_digest(prev, at, event, actor_id, subject, ip[:64], authenticated, payload))
    # a plain statement (it runs in nearly every transaction); the row returned is not in the session
    (row_id,), = sql.run(INSERT, values)
    return AuditEvent(id=row_id, **values)


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None
    reason: str = ""


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain in order; report the first row whose link or content does not match."""
    prev = GENESIS
    checked = 0
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)):
        checked += 1
        if row.prev_hash != prev:
            return ChainReport(checked, row.id, "previous hash does not match the row before")
        expected = _digest(prev, row.at, row.event, row.actor_id, row.subject, row.ip, row.authenticated,
                           row.detail)
        if row.hash != expected:
            return ChainReport(checked, row.id, "row content does not match its hash")
        prev = row.hash
    return ChainReport(checked, None)


@dataclass
class AuthenticationShare:
    transactions: int
    authenticated: int

    @property
    def share(self) -> float:
        return self.authenticated / self.transactions if self.transactions else 0.0


def authentication_share(
    session: Session, start: datetime, end: datetime, prefix: str = "dossier."
) -> AuthenticationShare:
    """Share of transactions (audit rows of dossier actions) made by an electronically authenticated actor."""
    base = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.event.like(f"{prefix}%"), AuditEvent.at >= start, AuditEvent.at < end)
    total = session.scalar(base) or 0
    done = session.scalar(base.where(AuditEvent.authenticated != "")) or 0
    return AuthenticationShare(total, done)
