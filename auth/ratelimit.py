"""Abuse limits with counters in the database (shared by every app process)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain.accounts.models import RateCounter
from domain.clock import utc


@dataclass(frozen=True)
class Limit:
    """``max_count`` events in ``window`` block the subject for ``block``. With ``backoff_cap`` the block
    grows: it doubles with each lock of the last :data:`STRIKE_MEMORY` up to the cap, so a guesser slows
    down fast while the holder, locked out only briefly the first time, is not kept out for long."""

    name: str
    max_count: int
    window: timedelta
    block: timedelta
    backoff_cap: timedelta | None = None


STRIKE_MEMORY = timedelta(hours=24)
# Keyed on the canonical identifier (auth.accounts.login_subject), so no other spelling of a phone
# number escapes it; passkey sign-in does not count against it (an officer locked out by a guesser
# still signs in with the passkey).
LOGIN_ACCOUNT = Limit("login-account", 5, timedelta(minutes=15), timedelta(minutes=1),
                      backoff_cap=timedelta(minutes=60))
LOGIN_CLIENT = Limit("login-client", 20, timedelta(minutes=15), timedelta(minutes=15))
CODE_ACCOUNT = Limit("code-account", 3, timedelta(minutes=10), timedelta(minutes=10))
CODE_CLIENT = Limit("code-client", 10, timedelta(hours=1), timedelta(hours=1))
REGISTER_CLIENT = Limit("register-client", 10, timedelta(hours=1), timedelta(hours=1))
# The public lookup (api/web/lookup.py): every lookup counts per address; a lookup that finds nothing
# (an unknown code, a wrong check value) counts again, so guessing codes meets a 429 after a few misses;
# a wrong check value counts against the code as well, from whatever address, with a growing lock.
LOOKUP_CLIENT = Limit("lookup-client", 60, timedelta(minutes=1), timedelta(minutes=1))
LOOKUP_MISS_CLIENT = Limit("lookup-miss-client", 10, timedelta(minutes=10), timedelta(minutes=10),
                           backoff_cap=timedelta(hours=4))
LOOKUP_CHECK_CODE = Limit("lookup-check-code", 5, timedelta(hours=1), timedelta(minutes=15),
                          backoff_cap=timedelta(hours=24))


def _max(limit: Limit, factor: int) -> int:
    """Per-client-address limits scale with ``factor``, MOTCUA_CLIENT_LIMIT_FACTOR (many people share one
    address): the caller hands it in (``AuthSettings.client_limit_factor``, ``settings.limits``)."""
    if limit.name.endswith("-client"):
        return limit.max_count * factor
    return limit.max_count


def _key(limit: Limit, subject: str) -> str:
    return f"{limit.name}:{subject}"[:255]


def retry_after(session: Session, limit: Limit, subject: str, now: datetime | None = None) -> int | None:
    """Seconds to wait when the subject is blocked, else None."""
    now = now or datetime.now(UTC)
    row = session.get(RateCounter, _key(limit, subject))
    if row is not None and row.blocked_until is not None and utc(row.blocked_until) > now:
        return int((utc(row.blocked_until) - now).total_seconds()) + 1
    return None


def hit(session: Session, limit: Limit, subject: str, now: datetime | None = None, *, factor: int) -> int | None:
    """Count one event; returns the wait in seconds when this event crossed (or found) the limit.
    ``factor`` multiplies the limits per client address (:func:`_max`)."""
    now = now or datetime.now(UTC)
    key = _key(limit, subject)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(RateCounter).values(key=key, window_start=now, count=0).on_conflict_do_nothing()
    )
    row = session.scalar(select(RateCounter).where(RateCounter.key == key).with_for_update())
    assert row is not None
    if row.blocked_until is not None and utc(row.blocked_until) > now:
        return int((utc(row.blocked_until) - now).total_seconds()) + 1
    if utc(row.window_start) + limit.window <= now:
        row.window_start, row.count, row.blocked_until = now, 0, None
    row.count += 1
    if row.count >= _max(limit, factor):
        block = _block(session, limit, subject, now)
        row.blocked_until = now + block
        session.flush()
        return int(block.total_seconds())
    session.flush()
    return None


def _strike_key(limit: Limit, subject: str) -> str:
    return f"{limit.name}-strikes:{subject}"[:255]


def _block(session: Session, limit: Limit, subject: str, now: datetime) -> timedelta:
    """How long this lock lasts: fixed, or doubling with each recent lock up to the cap."""
    if limit.backoff_cap is None:
        return limit.block
    key = _strike_key(limit, subject)
    row = session.get(RateCounter, key)
    if row is None:
        row = RateCounter(key=key, window_start=now, count=0)
        session.add(row)
    elif utc(row.window_start) + STRIKE_MEMORY <= now:
        row.window_start, row.count = now, 0
    row.count += 1
    return min(limit.block * (1 << min(row.count - 1, 20)), limit.backoff_cap)


def reset(session: Session, limit: Limit, subject: str) -> None:
    """Forget the subject's count (and its back-off): the holder proved who they are."""
    for key in (_key(limit, subject), _strike_key(limit, subject)):
        row = session.get(RateCounter, key)
        if row is not None:
            session.delete(row)
    session.flush()


# The public verification of a result (POST /xac-minh/{id}): anonymous uploads, per client address
VERIFY_CLIENT = Limit("verify-client", 30, timedelta(hours=1), timedelta(hours=1))
# Each account's upload quota (MOTCUA_UPLOAD_QUOTA_MB) counts the bytes received in a window of this length
UPLOAD_WINDOW = timedelta(hours=24)
_COUNT_MAX = 2**31 - 1  # the counter column is a 32-bit integer


def _upload_key(user_id: int) -> str:
    return f"upload-bytes:{user_id}"


def upload_bytes_used(session: Session, user_id: int, now: datetime | None = None) -> tuple[int, int]:
    """The bytes the account uploaded in its current window, and the seconds until the window ends."""
    now = now or datetime.now(UTC)
    row = session.get(RateCounter, _upload_key(user_id))
    if row is None or utc(row.window_start) + UPLOAD_WINDOW <= now:
        return 0, 0
    return row.count, int((utc(row.window_start) + UPLOAD_WINDOW - now).total_seconds()) + 1


def charge_upload(session: Session, user_id: int, size: int, now: datetime | None = None) -> None:
    """Count ``size`` received bytes against the account's quota (whether or not the file was kept)."""
    now = now or datetime.now(UTC)
    key = _upload_key(user_id)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(RateCounter).values(key=key, window_start=now, count=0).on_conflict_do_nothing())
    row = session.scalar(select(RateCounter).where(RateCounter.key == key).with_for_update())
    assert row is not None
    if utc(row.window_start) + UPLOAD_WINDOW <= now:
        row.window_start, row.count = now, 0
    row.count = min(row.count + max(size, 0), _COUNT_MAX)
    session.flush()
