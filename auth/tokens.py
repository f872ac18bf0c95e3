"""Access tokens (JWT, short-lived) and refresh tokens (opaque, hashed, rotated, grouped in families).

A session (``AuthSession``) is one refresh-token family. Every access token names its session
(``sid``); a revoked session is refused at once, so logout and disabling an account end every token.

Lifetimes: a citizen's session lives 14 days without use (``REFRESH_IDLE``) and 30 days at most
(``SESSION_MAX``). An officer's or admin's (``STAFF_KINDS``) ends after ``SessionSettings.staff_idle``
(30 minutes) without a request and ``staff_max`` (12 hours) after sign-in, checked on every access token
(``authenticate``) and every refresh (``rotate``). A staff request moves ``last_used_at`` on (at most once
a ``TOUCH_EVERY``: ``touch_session``), so "idle" means no request, not no refresh.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from auth.config import AuthSettings
from domain.accounts.models import AuthSession, Membership, OfficerRole, RefreshToken, User
from domain.audit import record
from domain.clock import utc
from domain.db import Reader, read_datetime
from domain.errors import Unauthorized
from domain.settings import SessionSettings

ALGORITHMS = ["HS256"]  # the allow-list: nothing else is ever accepted (no "none", no RS/HS confusion)
AUDIENCE = "motcua-api"
ACCESS_TTL = timedelta(minutes=10)
REFRESH_IDLE = timedelta(days=14)
SESSION_MAX = timedelta(days=30)
# Two tabs (or a retried request) may send the same refresh token at once: within this grace after its
# rotation it gets the very pair the first request got, as long as that pair's refresh token is unused.
# A replay after the grace, or of a token whose successor was used, still ends the whole family.
REFRESH_GRACE = timedelta(seconds=10)
STAFF_KINDS = ("officer", "admin")
TOUCH_EVERY = timedelta(minutes=1)  # how stale a staff session's last_used_at may get before a request moves it


def _keys(cfg: AuthSettings) -> dict[str, bytes]:
    """Signing keys by key id, derived from SECRET_KEY (and SECRET_KEY_PREVIOUS while rotating)."""
    keys = {}
    for secret in (cfg.secret_key, cfg.previous_secret_key):
        if secret:
            key = hmac.new(secret.encode(), b"motcua jwt v1", hashlib.sha256).digest()
            keys[hashlib.sha256(key).hexdigest()[:8]] = key
    return keys


def _current_kid(cfg: AuthSettings) -> str:
    return next(iter(_keys(cfg)))


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    token_type: str = "Bearer"


@dataclass(frozen=True)
class Principal:
    """Who is calling, from a verified access token."""

    user_id: int
    session_id: str
    roles: tuple[str, ...]
    amr: tuple[str, ...]
    auth_time: datetime
    claims: dict[str, Any]
    touch: bool = False  # a staff session whose last_used_at is older than TOUCH_EVERY: see touch_session


def roles_of(session: Session, user: User) -> list[str]:
    roles = [user.kind]
    roles += sorted(
        {f"{r.role}@{r.unit_code}" for r in session.scalars(select(OfficerRole).where(OfficerRole.user_id == user.id))}
    )
    roles += sorted({f"org_{m.role}@{m.organisation_id}" for m in
                     session.scalars(select(Membership).where(Membership.user_id == user.id))})
    return roles


def encode_access(session: Session, user: User, auth_session: AuthSession, now: datetime | None = None,
                  *, cfg: AuthSettings, jti: str | None = None) -> str:
    now = now or datetime.now(UTC)
    kid = _current_kid(cfg)
    claims = {
        "iss": cfg.public_url,
        "aud": AUDIENCE,
        "sub": str(user.id),
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + ACCESS_TTL).timestamp()),
        "auth_time": int(utc(auth_session.auth_time).timestamp()),
        "amr": [auth_session.amr],
        "roles": roles_of(session, user),
        "sid": auth_session.id,
        "jti": jti or secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, _keys(cfg)[kid], algorithm="HS256", headers={"kid": kid, "typ": "at+jwt"})


LEEWAY_S = 5
# Access tokens whose signature and claims were verified, by the token's exact text, with the key that
# verified them: a client sends the same token for up to 15 minutes, and verifying it again (header and
# payload decoding, HMAC, claim checks) is a fifth of a cheap API request. A hit still checks expiry,
# issuer and that the key is configured (a new SECRET_KEY voids every entry). Bounded, oldest out.
_VERIFIED: dict[str, tuple[str, bytes, dict[str, Any]]] = {}
_VERIFIED_MAX = 4096


def decode_access(token: str, *, cfg: AuthSettings) -> dict[str, Any]:
    """Verify signature, algorithm, issuer, audience, expiry and type (keys and issuer from ``cfg``);
    raise Unauthorized otherwise."""
    keys = _keys(cfg)
    issuer = cfg.public_url
    known = _VERIFIED.get(token)
    if known is not None:
        known_kid, known_key, known_claims = known
        if keys.get(known_kid) == known_key and known_claims["iss"] == issuer:
            if known_claims["exp"] + LEEWAY_S < datetime.now(UTC).timestamp():
                raise Unauthorized("Mã truy cập đã hết hạn; vui lòng đăng nhập lại (access token expired).")
            return known_claims
    try:
        header = jwt.get_unverified_header(token)
        kid = str(header.get("kid", ""))
        key = keys.get(kid)
        if key is None or header.get("alg") not in ALGORITHMS:
            raise Unauthorized("Mã truy cập không hợp lệ (signed with an unknown key or algorithm).")
        claims = jwt.decode(
            token, key, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss", "typ", "sid"]}, leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Mã truy cập đã hết hạn; vui lòng đăng nhập lại (access token expired).") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"Mã truy cập không hợp lệ ({exc}).") from None
    if claims.get("typ") != "access":
        raise Unauthorized("Mã truy cập không hợp lệ (not an access token).")
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.pop(next(iter(_VERIFIED)), None)
    _VERIFIED[token] = (kid, key, claims)
    return claims


STAFF_EXPIRED = "Phiên làm việc của cán bộ đã hết hạn (quá lâu không thao tác hoặc quá thời gian tối đa); vui lòng " \
                "đăng nhập lại."


def staff_expired(lifetimes: SessionSettings, created_at: datetime, last_used_at: datetime, now: datetime) -> bool:
    """Whether a staff session is past its idle or its absolute lifetime."""
    return utc(last_used_at) + lifetimes.staff_idle <= now or utc(created_at) + lifetimes.staff_max <= now


def authenticate(reader: Reader, token: str, lifetimes: SessionSettings = SessionSettings(), *,
                 cfg: AuthSettings) -> Principal:
    """The caller behind a bearer token, checked against a live session and an enabled account (one
    plain query: it runs before every authenticated request). A staff session past its idle or absolute
    lifetime is refused; one not used for ``TOUCH_EVERY`` comes back with ``touch`` set."""
    claims = decode_access(token, cfg=cfg)
    rows = reader.rows(
        "SELECT s.revoked_at, u.disabled_at, u.kind, s.created_at, s.last_used_at FROM auth_sessions s "
        "JOIN users u ON u.id = s.user_id WHERE s.id = :sid AND u.id = :uid",
        {"sid": claims["sid"], "uid": int(claims["sub"])})
    if not rows or rows[0][0] is not None or rows[0][1] is not None:
        raise Unauthorized("Phiên đăng nhập đã kết thúc; vui lòng đăng nhập lại.")
    touch = False
    if rows[0][2] in STAFF_KINDS:
        now = datetime.now(UTC)
        created_at, last_used_at = read_datetime(rows[0][3]), read_datetime(rows[0][4])
        assert created_at is not None and last_used_at is not None
        if staff_expired(lifetimes, created_at, last_used_at, now):
            raise Unauthorized(STAFF_EXPIRED)
        touch = last_used_at + TOUCH_EVERY <= now
    return Principal(
        user_id=int(claims["sub"]), session_id=claims["sid"], roles=tuple(claims.get("roles", [])),
        amr=tuple(claims.get("amr", [])), auth_time=datetime.fromtimestamp(claims.get("auth_time", 0), UTC),
        claims=claims, touch=touch,
    )


def touch_session(session: Session, session_id: str) -> None:
    """A staff request: the session was used now (its idle time starts again)."""
    session.execute(update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                    .values(last_used_at=datetime.now(UTC)))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User, amr: str, *, cfg: AuthSettings, ip: str = "",
                  user_agent: str = "") -> TokenPair:
    now = datetime.now(UTC)
    auth_session = AuthSession(
        id=str(uuid.uuid4()), user_id=user.id, amr=amr, auth_time=now, created_at=now, last_used_at=now,
        expires_at=now + SESSION_MAX, ip=ip[:64], user_agent=user_agent[:255],
        step_up_at=now if amr == "webauthn" else None,
    )
    session.add(auth_session)
    session.flush()
    return _issue(session, user, auth_session, now, cfg=cfg)


def _successor(refresh_token: str, cfg: AuthSettings) -> str:
    """The refresh token that replaces ``refresh_token``: derived with the server's key (not stored in
    clear), so a request inside the grace can be given the same one again."""
    key = _keys(cfg)[_current_kid(cfg)]
    mac = hmac.new(key, b"motcua refresh successor v1\0" + refresh_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _pair(session: Session, user: User, auth_session: AuthSession, refresh: str, now: datetime,
          *, cfg: AuthSettings, jti: str | None = None) -> TokenPair:
    return TokenPair(access_token=encode_access(session, user, auth_session, now, cfg=cfg, jti=jti),
                     refresh_token=refresh,
                     expires_in=int(ACCESS_TTL.total_seconds()), session_id=auth_session.id)


def _issue(session: Session, user: User, auth_session: AuthSession, now: datetime,
           *, cfg: AuthSettings, parent: str | None = None) -> TokenPair:
    refresh = secrets.token_urlsafe(32) if parent is None else _successor(parent, cfg)
    session.add(RefreshToken(session_id=auth_session.id, token_hash=_hash(refresh), created_at=now))
    session.flush()
    return _pair(session, user, auth_session, refresh, now, cfg=cfg,
                 jti=None if parent is None else _hash(refresh)[:16])


def _in_grace(session: Session, row: RefreshToken, auth_session: AuthSession, refresh_token: str,
              now: datetime, cfg: AuthSettings) -> TokenPair | None:
    """The pair a just-rotated token was traded for, when asked again within the grace, else None."""
    session.refresh(row)
    if row.used_at is None or now - utc(row.used_at) > REFRESH_GRACE or auth_session.revoked_at is not None:
        return None
    successor = _successor(refresh_token, cfg)
    child = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash(successor)))
    if child is None or child.session_id != auth_session.id or child.used_at is not None:
        return None
    user = session.get(User, auth_session.user_id)
    assert user is not None
    return _pair(session, user, auth_session, successor, utc(child.created_at), cfg=cfg,
                 jti=_hash(successor)[:16])


def _again_or_replay(session: Session, row: RefreshToken, auth_session: AuthSession, refresh_token: str,
                     now: datetime, *, cfg: AuthSettings, ip: str) -> TokenPair | Unauthorized:
    """A used token again: within the grace, the pair it was traded for; else a replay, which ends the session."""
    again = _in_grace(session, row, auth_session, refresh_token, now, cfg)
    if again is not None:
        return again
    revoke_session(session, auth_session, "refresh_replay")
    record(session, "auth.refresh_replay", actor_id=auth_session.user_id, subject=f"session:{auth_session.id}", ip=ip)
    return Unauthorized("Mã làm mới đã được dùng: phiên đăng nhập đã được kết thúc để bảo đảm an toàn (refresh "
                        "token already used).")


def rotate(session: Session, refresh_token: str, *, cfg: AuthSettings, ip: str = "",
           lifetimes: SessionSettings = SessionSettings()) -> TokenPair | Unauthorized:
    """Trade a refresh token for a new pair. A token used twice revokes its whole family.

    A refusal is *returned*, not raised, so that what it recorded (revocation, audit) is committed;
    the caller raises it after the transaction.
    """
    now = datetime.now(UTC)
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _hash(refresh_token or "")))
    if row is None:
        return Unauthorized("Mã làm mới không hợp lệ; vui lòng đăng nhập lại (unknown refresh token).")
    auth_session = session.get(AuthSession, row.session_id)
    assert auth_session is not None
    user = session.get(User, auth_session.user_id)
    assert user is not None
    if row.used_at is not None:
        return _again_or_replay(session, row, auth_session, refresh_token, now, cfg=cfg, ip=ip)
    # mark used with a guarded update so two concurrent rotations cannot both succeed
    claimed = session.execute(  # type: ignore[attr-defined]  # a CursorResult for UPDATE
        update(RefreshToken).where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if claimed != 1:  # a concurrent rotation won: the same grace applies
        return _again_or_replay(session, row, auth_session, refresh_token, now, cfg=cfg, ip=ip)
    if auth_session.revoked_at is not None or user.disabled_at is not None:
        return Unauthorized("Phiên đăng nhập đã kết thúc; vui lòng đăng nhập lại.")
    if utc(auth_session.expires_at) <= now or utc(auth_session.last_used_at) + REFRESH_IDLE <= now:
        revoke_session(session, auth_session, "expired")
        return Unauthorized("Phiên đăng nhập đã hết hạn; vui lòng đăng nhập lại.")
    if user.kind in STAFF_KINDS and staff_expired(lifetimes, auth_session.created_at, auth_session.last_used_at, now):
        revoke_session(session, auth_session, "staff_expired")
        record(session, "auth.session_expired", actor_id=user.id, subject=f"session:{auth_session.id}", ip=ip)
        return Unauthorized(STAFF_EXPIRED)
    auth_session.last_used_at = now
    return _issue(session, user, auth_session, now, cfg=cfg, parent=refresh_token)


def revoke_session(session: Session, auth_session: AuthSession, reason: str) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = datetime.now(UTC)
        auth_session.revoke_reason = reason
        session.flush()


def revoke_all(session: Session, user_id: int, reason: str) -> int:
    now = datetime.now(UTC)
    return session.execute(  # type: ignore[attr-defined,no-any-return]  # a CursorResult for UPDATE
        update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
    ).rowcount
