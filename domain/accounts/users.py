"""Accounts as records: finding one, creating one, granting an officer a role in a unit.

Passwords (policy, hashing) are the sign-in machinery's (``auth.accounts``): an account is created
here with a password hash already made, or none (demo data, passkey-only officers).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounts.identifiers import normalise_username, validate_cccd
from domain.accounts.models import OfficerRole, User
from domain.audit import record
from domain.catalog.models import Unit
from domain.clock import now
from domain.errors import Conflict, InvalidInput, NotFound

KINDS = ("citizen", "officer", "admin")
OFFICER_ROLES = ("receiver", "processor", "approver", "unit_admin", "accountant")


def clean_name(full_name: str) -> str:
    name = " ".join((full_name or "").split())
    if not 2 <= len(name) <= 120:
        raise InvalidInput("Họ và tên cần từ 2 đến 120 ký tự.", field="full_name")
    return name


def find_user(session: Session, username: str) -> User | None:
    try:
        normalised, _kind = normalise_username(username)
    except InvalidInput:
        return None
    return session.scalar(select(User).where(User.username == normalised))


def check_new_user(kind: str, username: str, full_name: str) -> tuple[str, str, str]:
    """The checks of a new account's kind, username and name: (normalised username, channel, name)."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    normalised, channel = normalise_username(username)
    return normalised, channel, clean_name(full_name)


def create_user(session: Session, kind: str, username: str, *, full_name: str, password_hash: str | None = None,
                cccd: str | None = None, actor: int | None = None, ip: str = "") -> User:
    """A new account (username unique, CCCD unique when given), recorded in the audit log."""
    normalised, channel, name = check_new_user(kind, username, full_name)
    if session.scalar(select(User.id).where(User.username == normalised)) is not None:
        raise Conflict("Tên đăng nhập này đã được dùng. Nếu đó là bạn, hãy đăng nhập.", field="username")
    cccd_value = validate_cccd(cccd) if cccd else None
    if cccd_value and session.scalar(select(User.id).where(User.cccd == cccd_value)) is not None:
        raise Conflict("Số CCCD này đã gắn với một tài khoản khác.", field="cccd")
    user = User(
        username=normalised, full_name=name, kind=kind, identity_level=1, created_at=now(),
        phone=normalised if channel == "phone" else None, email=normalised if channel == "email" else None,
        cccd=cccd_value, password_hash=password_hash,
    )
    session.add(user)
    session.flush()
    record(session, "account.created", actor_id=actor or user.id, subject=f"user:{user.id}", ip=ip, kind=kind)
    return user


def grant_officer_role(session: Session, user: User, unit_code: str, role: str, *, actor: int | None = None) -> None:
    if role not in OFFICER_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(OFFICER_ROLES)}", field="role")
    if session.get(Unit, unit_code) is None:
        raise NotFound(f"no unit {unit_code}; create it first (motcua create-unit)")
    exists = session.scalar(select(OfficerRole.id).where(
        OfficerRole.user_id == user.id, OfficerRole.unit_code == unit_code, OfficerRole.role == role))
    if exists is None:
        session.add(OfficerRole(user_id=user.id, unit_code=unit_code, role=role))
        session.flush()
        record(session, "account.role_granted", actor_id=actor, subject=f"user:{user.id}", role=role,
               unit=unit_code)
