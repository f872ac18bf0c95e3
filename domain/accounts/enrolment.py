"""One-time enrolment codes: how an officer with only a password enrols a first passkey.

A stolen password must not be enough to take over an officer: a password-only session of an officer or
an admin may enrol a first passkey only with a code that someone else issued and handed over through
another channel than the password (in person, by phone). The code is short-lived (:data:`TTL`), single
use, only its hash is stored, and issuing and using it are audited.

Who issues: a unit admin for the officers of their unit (not for another unit admin); the system admin
for anyone (so for unit admins); ``motcua enrolment-code USERNAME`` for the first admin and for scripts.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounts.models import OfficerRole, OneTimeCode, User
from domain.audit import record
from domain.clock import now, utc
from domain.errors import DomainError, Forbidden, InvalidInput, NotFound

CHANNEL = "enrol"  # OneTimeCode.channel of enrolment codes (the others prove a phone or an e-mail)
TTL = timedelta(hours=1)
MAX_ATTEMPTS = 5
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone
LENGTH = 12  # 60 bits
STAFF = ("officer", "admin")


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once, to the issuer
    user_id: int
    expires_at: datetime


def _hash(code: str) -> str:
    return hashlib.sha256(f"motcua enrolment v1:{code}".encode()).hexdigest()


def normalise(code: str) -> str:
    """What people type: lower case, spaces and dashes between the groups."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _units_administered(session: Session, user_id: int) -> set[str]:
    return set(session.scalars(select(OfficerRole.unit_code).where(
        OfficerRole.user_id == user_id, OfficerRole.role == "unit_admin")))


def may_issue(session: Session, issuer: User, holder: User) -> bool:
    """The system admin for anyone; a unit admin for a non-admin officer with a role in one of their units."""
    if issuer.disabled_at is not None or holder.kind not in STAFF or issuer.id == holder.id:
        return False
    if issuer.kind == "admin":
        return True
    if issuer.kind != "officer" or holder.kind == "admin":
        return False
    units = _units_administered(session, issuer.id)
    holder_roles = list(session.execute(select(OfficerRole.unit_code, OfficerRole.role)
                                        .where(OfficerRole.user_id == holder.id)))
    if any(role == "unit_admin" for _unit, role in holder_roles):
        return False  # unit admins get theirs from the system admin
    return bool(units) and any(unit in units for unit, _role in holder_roles)


def issue(session: Session, holder_id: int, *, issuer_id: int | None, ip: str = "", via: str = "") -> IssuedCode:
    """A new code for ``holder_id`` (earlier unused ones stop working). ``issuer_id`` None: the CLI."""
    holder = session.get(User, holder_id)
    if holder is None or holder.kind not in STAFF:
        raise NotFound("Không tìm thấy cán bộ.")
    if issuer_id is not None:
        issuer = session.get(User, issuer_id)
        if issuer is None or not may_issue(session, issuer, holder):
            raise NotFound("Không tìm thấy cán bộ.")  # someone you may not issue for does not exist for you
    at = now()
    for old in session.scalars(select(OneTimeCode).where(OneTimeCode.user_id == holder.id,
                                                         OneTimeCode.channel == CHANNEL,
                                                         OneTimeCode.used_at.is_(None))):
        old.used_at = at  # superseded
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    row = OneTimeCode(user_id=holder.id, channel=CHANNEL, destination=f"issued-by:{issuer_id or 'cli'}",
                      code_hash=_hash(code), attempts=0, created_at=at, expires_at=at + TTL)
    session.add(row)
    session.flush()
    record(session, "auth.enrolment_code_issued", actor_id=issuer_id, subject=f"user:{holder.id}", ip=ip,
           via=via or ("cli" if issuer_id is None else "api"), expires_at=row.expires_at.isoformat())
    return IssuedCode(display(code), holder.id, row.expires_at)


def consume(session: Session, user_id: int, code: str, *, ip: str = "") -> DomainError | None:
    """Spend the user's current code; a refusal is returned (so the attempt counted and its audit row
    are committed) for the caller to raise. A wrong guess counts; five end the code."""
    row = session.scalar(select(OneTimeCode).where(
        OneTimeCode.user_id == user_id, OneTimeCode.channel == CHANNEL, OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc()).limit(1).with_for_update())
    at = now()
    if not normalise(code):
        return Forbidden("Cán bộ cần mã đăng ký do quản trị đơn vị cấp để thêm khóa truy cập đầu tiên "
                        "(enrolment code required).")
    if row is None or utc(row.expires_at) <= at or row.attempts >= MAX_ATTEMPTS:
        record(session, "auth.enrolment_code_refused", actor_id=user_id, subject=f"user:{user_id}", ip=ip,
               reason="none_or_expired")
        return InvalidInput("Mã đăng ký đã hết hạn hoặc không còn hiệu lực. Hãy xin mã mới.", field="enrolment_code")
    row.attempts += 1
    if not secrets.compare_digest(row.code_hash, _hash(normalise(code))):
        record(session, "auth.enrolment_code_refused", actor_id=user_id, subject=f"user:{user_id}", ip=ip,
               reason="wrong")
        return InvalidInput("Mã đăng ký không đúng.", field="enrolment_code")
    row.used_at = at
    record(session, "auth.enrolment_code_used", actor_id=user_id, subject=f"user:{user_id}", ip=ip)
    return None
