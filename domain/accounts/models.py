"""Identity tables: people, organisations, officers' roles, passkeys, sessions, codes, limits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime

TS = UTCDateTime()


class User(Base):
    """A person who signs in: a citizen (possibly acting for organisations), an officer or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True)  # normalised phone (+84…) or email
    full_name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    email: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    phone_verified_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    cccd: Mapped[str | None] = mapped_column(String(12), unique=True, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # citizen | officer | admin | person (a person record entered at a counter: no credentials, never signs in)
    kind: Mapped[str] = mapped_column(String(16))
    identity_level: Mapped[int] = mapped_column(Integer, default=1)  # 1 self-registered, 2 verified
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    disabled_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # what a receiving officer records of an applicant (from the chip card's QR or by hand); contact_* are
    # where to reach a person record (not unique: they are no sign-in names, and never block registering)
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    sex: Mapped[str | None] = mapped_column(String(8), nullable=True)  # nam | nu
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    old_id_number: Mapped[str | None] = mapped_column(String(12), nullable=True)  # the 9-digit CMND, if any
    contact_phone: Mapped[str | None] = mapped_column(String(16), nullable=True, index=True)
    contact_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    # a person record claimed into an account (domain.intake.claim): that account; its CCCD moved there
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Organisation(Base):
    """A business or organisation account, identified by its tax code."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    tax_code: Mapped[str] = mapped_column(String(14), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # owner | staff
    created_at: Mapped[datetime] = mapped_column(TS)


class Invitation(Base):
    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    username: Mapped[str] = mapped_column(String(255))  # normalised phone or email of the invitee
    role: Mapped[str] = mapped_column(String(16))
    invited_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    accepted_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class OfficerRole(Base):
    """An officer's role in a unit: receiver, processor, approver (leader) or unit_admin."""

    __tablename__ = "officer_roles"
    __table_args__ = (UniqueConstraint("user_id", "unit_code", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    role: Mapped[str] = mapped_column(String(16))


class Passkey(Base):
    """A WebAuthn credential (passkey) of a user."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1024), unique=True)  # base64url
    public_key: Mapped[bytes] = mapped_column(LargeBinary)  # COSE key
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[str] = mapped_column(String(255), default="")  # comma-joined
    name: Mapped[str] = mapped_column(String(100))
    aaguid: Mapped[str] = mapped_column(String(64), default="")
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)
    last_used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    # removing a passkey revokes it: it signs nothing more, but its public key stays on record for ever,
    # so the decisions it signed before can still be verified (security review finding 12)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class WebAuthnChallenge(Base):
    """A challenge handed to a browser: short-lived, used once, shared by all app processes."""

    __tablename__ = "webauthn_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge: Mapped[str] = mapped_column(String(255), unique=True)  # base64url
    purpose: Mapped[str] = mapped_column(String(32))  # register | authenticate | step_up | decision
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    binding: Mapped[str] = mapped_column(Text, default="")  # JSON of what an assertion is for
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class AuthSession(Base):
    """A signed-in session = one refresh-token family; revoking it ends the session everywhere."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    amr: Mapped[str] = mapped_column(String(32))  # pwd | webauthn
    auth_time: Mapped[datetime] = mapped_column(TS)
    step_up_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)  # last fresh passkey assertion
    created_at: Mapped[datetime] = mapped_column(TS)
    last_used_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, never the token itself
    created_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class OneTimeCode(Base):
    """A code proving ownership of a phone number or an email address."""

    __tablename__ = "one_time_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # phone | email
    destination: Mapped[str] = mapped_column(String(255))
    # what a code bound to one thing is for (auth.accounts.issue_bound_code): "dossier:12", "invitation:3"
    subject: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class RateCounter(Base):
    """Counters for abuse limits, in the database so every process shares them."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(TS)
    count: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(TS, nullable=True)
