"""The audit log: append-only rows, each hash covering the previous row's hash (tamper-evident).

The chain is keyed: a row's hash is HMAC-SHA256(audit key, canonical row with the previous row's hash).
The key (``MOTCUA_AUDIT_KEY``, domain/settings.py) never enters the database, so whoever can write the
database can still edit a row but cannot recompute the hashes after it: ``verify_chain`` (``motcua
verify-audit``) names the first row that does not match.

Rows written before the chain was keyed (``chain`` 1, plain SHA-256, migration 0060) still verify the old
way, but only as a prefix of the log: the first keyed row seals them (its keyed hash covers the last
unkeyed hash), an unkeyed row after a keyed one is a rewrite, and unkeyed rows at the end of the log
(nothing keyed after them) are reported too (a rewrite of the whole log into the unkeyed form looks
exactly like that).

The key reaches :func:`record` with the session (``Database(url, audit_key=...)`` puts it in
``session.info``) or, for sessions opened without one, as installed for the process by the composition
root (``domain.settings.configure_core`` calls :func:`use_key`). :func:`verify_chain` takes it as a parameter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.db import AUDIT_KEY, Base, SessionSql, UTCDateTime

GENESIS = "0" * 64
CHAIN_UNKEYED = 1  # plain SHA-256: rows written before migration 0060 (verified the old way, as a prefix)
CHAIN_KEYED = 2  # HMAC-SHA256 with the audit key
INSERT = ("INSERT INTO audit_events (at, event, actor_id, subject, ip, authenticated, detail, prev_hash, hash, "
          "chain) VALUES (:at, :event, :actor_id, :subject, :ip, :authenticated, :detail, :prev_hash, :hash, "
          ":chain) RETURNING id")


class AuditKeyMissing(RuntimeError):
    """No audit key: the composition root must open the database with one or install the settings."""


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
    chain: Mapped[int] = mapped_column(Integer, default=CHAIN_KEYED, server_default=str(CHAIN_UNKEYED))


_process_key: bytes | None = None


def use_key(key: bytes) -> None:
    """The key for sessions opened without one (called by ``domain.settings.configure_core``)."""
    global _process_key
    if not key:
        raise AuditKeyMissing("an empty audit key")
    _process_key = key


def _key_of(session: Session) -> bytes:
    key = session.info.get(AUDIT_KEY) or _process_key
    if not key:
        raise AuditKeyMissing("no audit key: open the database with Database(url, audit_key=settings.audit.key) or "
                              "configure the core (domain.settings.configure_core) before writing audit rows")
    return bytes(key)


def _canonical(prev: str, at: datetime, event: str, actor: int | None, subject: str, ip: str, amr: str,
               detail: str) -> bytes:
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)  # SQLite gives naive UTC back
    return json.dumps([prev, at.isoformat(), event, actor, subject, ip, amr, detail],
                      ensure_ascii=False, separators=(",", ":")).encode()


def _digest(prev: str, at: datetime, event: str, actor: int | None, subject: str, ip: str, amr: str,
            detail: str) -> str:
    """The unkeyed hash of the rows written before the chain was keyed (``chain`` 1)."""
    return hashlib.sha256(_canonical(prev, at, event, actor, subject, ip, amr, detail)).hexdigest()


def keyed_digest(key: bytes, prev: str, at: datetime, event: str, actor: int | None, subject: str, ip: str,
                 amr: str, detail: str) -> str:
    """HMAC-SHA256(key, canonical row with the previous hash): the hash of every row written now."""
    body = b"motcua audit v2\0" + _canonical(prev, at, event, actor, subject, ip, amr, detail)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def record(session: Session, event: str, *, actor_id: int | None = None, subject: str = "", ip: str = "",
           authenticated: str = "", **detail: Any) -> AuditEvent:
    """Append one audit row in the caller's transaction (serialised: one chain, no forks)."""
    key = _key_of(session)
    sql = SessionSql(session)
    if sql.dialect == "postgresql":
        sql.run("SELECT pg_advisory_xact_lock(424242)", {})
    last = sql.run("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1", {})
    prev = last[0][0] if last else GENESIS
    at = datetime.now(UTC)
    payload = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    values = dict(at=at, event=event, actor_id=actor_id, subject=subject, ip=ip[:64], authenticated=authenticated,
                  detail=payload, prev_hash=prev, chain=CHAIN_KEYED,
                  hash=keyed_digest(key, prev, at, event, actor_id, subject, ip[:64], authenticated, payload))
    # a plain statement (it runs in nearly every transaction); the row returned is not in the session
    (row_id,), = sql.run(INSERT, values)
    return AuditEvent(id=row_id, **values)


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None
    reason: str = ""
    unkeyed: int = 0  # rows from before the chain was keyed, verified the old way


def _row_refusal(row: AuditEvent, prev: str, key: bytes, keyed_seen: bool) -> str | None:
    if row.prev_hash != prev:
        return "previous hash does not match the row before"
    fields = (prev, row.at, row.event, row.actor_id, row.subject, row.ip, row.authenticated, row.detail)
    if row.chain == CHAIN_KEYED:
        if not hmac.compare_digest(row.hash, keyed_digest(key, *fields)):
            return "row content does not match its keyed hash (edited, or rehashed without the audit key)"
        return None
    if row.chain != CHAIN_UNKEYED:
        return f"unknown chain version {row.chain}"
    if keyed_seen:
        return "an unkeyed row after keyed rows (the chain was rewritten without the audit key)"
    if row.hash != _digest(*fields):
        return "row content does not match its hash"
    return None


def verify_chain(session: Session, key: bytes | None = None) -> ChainReport:
    """Walk the chain in order with the audit key (``key``, or the key of the session or process); report
    the first row whose link or content does not match."""
    key = key or _key_of(session)
    prev = GENESIS
    checked = unkeyed = 0
    last_unkeyed: int | None = None
    keyed_seen = False
    for row in session.scalars(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)):
        checked += 1
        refusal = _row_refusal(row, prev, key, keyed_seen)
        if refusal is not None:
            return ChainReport(checked, row.id, refusal, unkeyed)
        if row.chain == CHAIN_KEYED:
            keyed_seen = True
        else:
            unkeyed, last_unkeyed = unkeyed + 1, row.id
        prev = row.hash
    if last_unkeyed is not None and not keyed_seen:
        return ChainReport(checked, last_unkeyed, "the unkeyed rows are not sealed by a keyed row after them (the "
                           "app seals them with its first audit row after migration 0060; if it has run since, "
                           "the keyed rows were rewritten)", unkeyed)
    return ChainReport(checked, None, "", unkeyed)


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
