"""Passkeys (WebAuthn, via py_webauthn): enrol, sign in, step-up, bound assertions, manage.

Ceremonies are two steps: *options* hand the browser a challenge, *verify* checks its answer.
Challenges live in ``webauthn_challenges`` (5 minutes, single use, claimed with a guarded UPDATE),
so any app process can verify what another one issued.

A challenge is ``32 random bytes || SHA-256(binding)``, where the binding is the canonical JSON of
what an assertion is for (e.g. a dossier, its version and the decision). The authenticator signs
the challenge, so a stored assertion proves *what* was approved, not only *who* approved it
(see :func:`verify_bound_assertion` and :func:`reverify_evidence`).

Refusals that must leave a trace (the challenge spent, an audit row) are *returned*, not raised,
so the caller's transaction commits them; the web skins raise them afterwards. Input too broken to
name a challenge is simply raised (nothing to record).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    verify_signature,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from api.settings import get_settings
from auth import ratelimit
from auth.accounts import get_user, sign_in_methods
from auth.tokens import TokenPair, Unauthorized, start_session, utc
from domain.accounts.models import AuthSession, Passkey, User, WebAuthnChallenge
from domain.audit import record
from domain.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyRequests

CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = int(CHALLENGE_TTL.total_seconds() * 1000)
STEP_UP_WINDOW = timedelta(minutes=5)
PURGE_AFTER = timedelta(minutes=10)  # expired rows linger a little, so "expired" beats "unknown"
RP_NAME = "Dịch vụ công"
NAME_MAX = 100
CREDENTIAL_ID_MAX = 1024  # the column's width (base64url characters)
STAFF = ("officer", "admin")
PURPOSE = re.compile(r"^[a-z][a-z_]{0,31}$")
TRANSPORTS = {t.value for t in AuthenticatorTransport}
# unauthenticated sign-in failures per client: bounds audit-log noise and guessing
SIGNIN_FAILURES = ratelimit.Limit("passkey-client", 30, timedelta(minutes=15), timedelta(minutes=15))


class PasskeyError(DomainError):
    """A WebAuthn response that is refused. ``reason`` is a stable code (also in the audit row)."""

    status = 400
    title = "Passkey verification failed"

    def __init__(self, detail: str, *, reason: str = "invalid", field: str | None = None) -> None:
        super().__init__(detail, field=field)
        self.reason = reason


class AccountDisabled(PasskeyError):
    status = 403
    title = "Account disabled"


class StepUpRequired(DomainError):
    status = 403
    title = "Step-up required"


MESSAGES = {
    "malformed": "Dữ liệu khóa truy cập không hợp lệ (malformed WebAuthn response).",
    "unknown_challenge": "Yêu cầu xác thực không hợp lệ hoặc đã hết hạn, vui lòng thử lại (unknown challenge).",
    "challenge_used": "Yêu cầu xác thực này đã được dùng, vui lòng thử lại (challenge already used).",
    "challenge_expired": "Yêu cầu xác thực đã hết hạn, vui lòng thử lại (challenge expired).",
    "challenge_mismatch": "Yêu cầu xác thực không dành cho thao tác này (challenge mismatch).",
    "binding_mismatch": "Xác thực không khớp với nội dung cần xác nhận (binding mismatch).",
    "type": "Sai loại thao tác WebAuthn (wrong clientDataJSON type).",
    "origin": "Khóa truy cập được dùng trên một trang web khác (wrong origin).",
    "cross_origin": "Không chấp nhận xác thực từ khung nhúng của trang khác (cross-origin).",
    "rp_id": "Khóa truy cập không dành cho trang này (wrong RP ID).",
    "user_presence": "Cần thao tác của người dùng trên thiết bị (user presence required).",
    "user_verification": "Cần xác minh người dùng bằng vân tay, khuôn mặt hoặc mã PIN "
                         "(user verification required).",
    "signature": "Chữ ký của khóa truy cập không hợp lệ (invalid signature).",
    "algorithm": "Thiết bị dùng thuật toán không được hỗ trợ (unsupported algorithm).",
    "attestation": "Không kiểm tra được chứng thực của thiết bị (attestation).",
    "unknown_credential": "Khóa truy cập này chưa được đăng ký cho tài khoản nào (unknown credential).",
    "wrong_user": "Khóa truy cập này không thuộc tài khoản của bạn (credential of another account).",
    "counter": "Bộ đếm của khóa truy cập không tăng: khóa có thể đã bị sao chép hoặc phản hồi bị phát lại "
               "(sign counter did not increase).",
    "already_registered": "Khóa truy cập này đã được đăng ký (credential already registered).",
    "credential_id": "Mã khóa truy cập quá dài (credential ID too long).",
    "no_passkey": "Tài khoản chưa có khóa truy cập nào; hãy thêm một khóa trước (no passkey).",
    "disabled": "Tài khoản đã bị khóa (account disabled).",
}


def _error(reason: str) -> PasskeyError:
    cls = AccountDisabled if reason == "disabled" else PasskeyError
    return cls(MESSAGES[reason], reason=reason)


def _now() -> datetime:
    return datetime.now(UTC)


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


# --- the relying party ------------------------------------------------------------------------
def relying_party() -> tuple[str, str]:
    """(RP ID, expected origin), both from PUBLIC_URL: its host name, and scheme://host[:port]."""
    url = urlsplit(get_settings().public_url)
    scheme, host = url.scheme.lower(), (url.hostname or "").lower()
    port = url.port
    default = {"http": 80, "https": 443}.get(scheme)
    origin = f"{scheme}://{host}" + (f":{port}" if port and port != default else "")
    return host, origin


def user_handle(user_id: int) -> bytes:
    """The WebAuthn user handle: opaque, stable, no personal data (8 bytes of the account id)."""
    return user_id.to_bytes(8, "big")


def is_staff(user: User) -> bool:
    return user.kind in STAFF


def _b64(data: bytes) -> str:
    return bytes_to_base64url(data)


def canonical(binding: dict[str, Any] | None) -> str:
    """The one JSON text of a binding (sorted keys, no spaces); "" when there is none."""
    if binding is None:
        return ""
    return json.dumps(binding, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _binding_digest(binding_text: str) -> bytes:
    return hashlib.sha256(binding_text.encode()).digest()


# --- challenges -------------------------------------------------------------------------------
def purge_challenges(session: Session, now: datetime | None = None) -> int:
    now = now or _now()
    return _rowcount(session.execute(
        delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at < now - PURGE_AFTER)))


def _new_challenge(session: Session, purpose: str, user_id: int | None, binding: dict[str, Any] | None) -> bytes:
    if not PURPOSE.match(purpose):
        raise ValueError(f"bad purpose {purpose!r}")
    purge_challenges(session)
    text = canonical(binding)
    raw = secrets.token_bytes(32) + _binding_digest(text)
    now = _now()
    session.add(WebAuthnChallenge(challenge=_b64(raw), purpose=purpose, user_id=user_id, binding=text,
                                  created_at=now, expires_at=now + CHALLENGE_TTL))
    session.flush()
    return raw


def _claim(session: Session, challenge: str, *, purpose: str, user_id: int | None,
           binding: dict[str, Any] | None) -> WebAuthnChallenge | PasskeyError:
    """Spend a challenge: exactly once, by one process, for what it was issued for."""
    row = session.scalar(select(WebAuthnChallenge).where(WebAuthnChallenge.challenge == challenge[:255]))
    if row is None:
        return _error("unknown_challenge")
    if row.used_at is not None:
        return _error("challenge_used")
    now = _now()
    claimed = _rowcount(session.execute(
        update(WebAuthnChallenge).where(WebAuthnChallenge.id == row.id, WebAuthnChallenge.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)))
    if claimed != 1:
        return _error("challenge_used")
    set_committed_value(row, "used_at", now)  # already written by the guarded UPDATE
    if utc(row.expires_at) <= now:
        return _error("challenge_expired")
    if row.purpose != purpose or row.user_id != user_id:
        return _error("challenge_mismatch")
    if row.binding != canonical(binding):
        return _error("binding_mismatch")
    return row


# --- parsing what the browser sent -------------------------------------------------------------
def _load(credential_json: dict[str, Any] | str | bytes) -> dict[str, Any]:
    """The credential's JSON object; raises PasskeyError when it is not one."""
    data: Any = credential_json
    if isinstance(data, bytes | str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise _error("malformed") from None
    if not isinstance(data, dict) or not isinstance(data.get("response"), dict) or \
            not isinstance(data.get("id"), str):
        raise _error("malformed")
    return data


def _client_data(data: dict[str, Any]) -> dict[str, Any]:
    """clientDataJSON parsed as JSON (never compared as text: browsers add keys of their own)."""
    try:
        parsed = json.loads(base64url_to_bytes(data["response"]["clientDataJSON"]))
    except (KeyError, TypeError, ValueError, RecursionError):
        raise _error("malformed") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("challenge"), str) or \
            not isinstance(parsed.get("type"), str):
        raise _error("malformed")
    return parsed


def _library_reason(exc: Exception) -> str:
    """Map a py_webauthn refusal to one of our reasons (its messages are stable English)."""
    text = str(exc)
    for needle, reason in (("origin", "origin"), ("RP ID", "rp_id"), ("client data type", "type"),
                           ("verification", "user_verification"), ("present", "user_presence"),
                           ("presence", "user_presence"), ("signature", "signature"), ("key alg", "algorithm"),
                           ("ttestation statement", "attestation"), ("challenge", "challenge_mismatch")):
        if needle in text:
            return reason
    return "malformed"


def _cross_origin(client: dict[str, Any]) -> bool:
    return client.get("crossOrigin") is True or "topOrigin" in client


# --- registration -----------------------------------------------------------------------------
def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(p.credential_id),
        transports=[AuthenticatorTransport(t) for t in p.transports.split(",") if t in TRANSPORTS] or None,
    ) for p in passkeys]


def registration_options(session: Session, user_id: int) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptionsJSON for adding a passkey to the user's account."""
    user = get_user(session, user_id)
    rp_id, _origin = relying_party()
    challenge = _new_challenge(session, "register", user.id, None)
    options = generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_name=user.username, user_id=user_handle(user.id),
        user_display_name=user.full_name, challenge=challenge, timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED if is_staff(user)
            else UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(list_passkeys(session, user.id)),
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def clean_name(name: str | None) -> str:
    text = "".join(ch for ch in unicodedata.normalize("NFC", name or "") if unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())[:NAME_MAX]


def verify_registration(session: Session, user_id: int, credential_json: dict[str, Any] | str | bytes, *,
                        name: str | None = None, ip: str = "", authenticated: str = "") -> Passkey | PasskeyError:
    """Check the browser's RegistrationResponseJSON and store the new passkey.

    Refusals after the challenge was found are returned (challenge spent, ``auth.passkey_add_failed``).
    """
    user = get_user(session, user_id)
    data = _load(credential_json)
    client = _client_data(data)

    def refuse(reason: str) -> PasskeyError:
        record(session, "auth.passkey_add_failed", actor_id=user.id, subject=f"user:{user.id}", ip=ip,
               authenticated=authenticated, reason=reason)
        return _error(reason)

    row = _claim(session, client["challenge"], purpose="register", user_id=user.id, binding=None)
    if isinstance(row, PasskeyError):
        return refuse(row.reason)
    if _cross_origin(client):
        return refuse("cross_origin")
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=data, expected_challenge=base64url_to_bytes(row.challenge), expected_rp_id=rp_id,
            expected_origin=origin, require_user_presence=True, require_user_verification=is_staff(user),
        )
    except Exception as exc:  # py_webauthn raises many kinds on hostile input; all are refusals
        return refuse(_library_reason(exc))
    credential_id = _b64(verified.credential_id)
    if len(credential_id) > CREDENTIAL_ID_MAX:
        return refuse("credential_id")
    if session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)) is not None:
        return refuse("already_registered")
    transports = data["response"].get("transports")
    now = _now()
    passkey = Passkey(
        user_id=user.id, credential_id=credential_id, public_key=verified.credential_public_key,
        sign_count=verified.sign_count, name=clean_name(name) or f"Khóa truy cập {now:%d/%m/%Y}",
        transports=",".join(t for t in transports if t in TRANSPORTS)[:255] if isinstance(transports, list) else "",
        aaguid=verified.aaguid[:64], backed_up=verified.credential_backed_up, created_at=now,
    )
    session.add(passkey)
    session.flush()
    record(session, "auth.passkey_added", actor_id=user.id, subject=f"passkey:{passkey.id}", ip=ip,
           authenticated=authenticated, name=passkey.name, aaguid=passkey.aaguid, backed_up=passkey.backed_up,
           user_verified=verified.user_verified)
    return passkey


# --- assertions -------------------------------------------------------------------------------
def authentication_options(session: Session, user_id: int | None = None, purpose: str = "authenticate",
                           binding: dict[str, Any] | None = None, *, ip: str = "") -> dict[str, Any]:
    """PublicKeyCredentialRequestOptionsJSON.

    Sign-in (``user_id`` None): empty allowCredentials, the browser offers discoverable passkeys
    (also through autofill). Step-up and bound assertions: the user's own passkeys only.
    """
    rp_id, _origin = relying_party()
    uv = UserVerificationRequirement.PREFERRED
    allow: list[PublicKeyCredentialDescriptor] = []
    if purpose == "register":
        raise ValueError("registration challenges come from registration_options()")
    if user_id is None:
        if purpose != "authenticate":
            raise ValueError("only sign-in challenges may be issued without a user")
        wait = ratelimit.retry_after(session, SIGNIN_FAILURES, ip or "-")
        if wait:
            raise TooManyRequests("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
    else:
        user = get_user(session, user_id)
        passkeys = list_passkeys(session, user.id)
        if not passkeys:
            raise _error("no_passkey")
        allow = _descriptors(passkeys)
        if is_staff(user):
            uv = UserVerificationRequirement.REQUIRED
    challenge = _new_challenge(session, purpose, user_id, binding)
    options = generate_authentication_options(rp_id=rp_id, challenge=challenge, timeout=TIMEOUT_MS,
                                              allow_credentials=allow, user_verification=uv)
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


@dataclass(frozen=True)
class Assertion:
    """A verified assertion: who, with which passkey, and the evidence to keep."""

    user: User
    passkey: Passkey
    user_verified: bool
    evidence: dict[str, Any]


FAILURE_EVENTS = {"authenticate": "auth.login_failed", "step_up": "auth.step_up_failed"}


def verify_assertion(session: Session, credential_json: dict[str, Any] | str | bytes, *, purpose: str,
                     user_id: int | None = None, binding: dict[str, Any] | None = None,
                     ip: str = "") -> Assertion | PasskeyError:
    """Verify an AuthenticationResponseJSON against a challenge issued for (purpose, user, binding).

    Checks: challenge (known, unexpired, unused, for this purpose/user/binding), credential known
    (and the user's own when ``user_id`` is given; userHandle consistent), account enabled, type,
    origin, not cross-origin, RP ID hash, UP always, UV for officers/admins, signature, and a sign
    counter that goes up (a counter that does not is recorded as ``auth.passkey_counter_regressed``).
    Every refusal is recorded (``auth.login_failed`` / ``auth.step_up_failed`` / ``auth.assertion_failed``)
    and returned.
    """
    data = _load(credential_json)
    client = _client_data(data)
    passkey = session.scalar(select(Passkey).where(Passkey.credential_id == data["id"][:CREDENTIAL_ID_MAX]))
    owner = session.get(User, passkey.user_id) if passkey else None
    subject_user = user_id if user_id is not None else owner.id if owner else None  # who is asking

    def refuse(reason: str, **detail: Any) -> PasskeyError:
        event = FAILURE_EVENTS.get(purpose, "auth.assertion_failed")
        record(session, event, actor_id=subject_user, subject=f"user:{subject_user}" if subject_user else "",
               ip=ip, method="passkey", purpose=purpose, reason=reason,
               passkey=passkey.id if passkey else None, **detail)
        if user_id is None:
            ratelimit.hit(session, SIGNIN_FAILURES, ip or "-")
        return _error(reason)

    row = _claim(session, client["challenge"], purpose=purpose, user_id=user_id, binding=binding)
    if isinstance(row, PasskeyError):
        return refuse(row.reason)
    if passkey is None or owner is None:
        return refuse("unknown_credential")
    if user_id is not None and passkey.user_id != user_id:
        return refuse("wrong_user")
    handle = data["response"].get("userHandle")
    if handle is not None:
        try:
            same = isinstance(handle, str) and base64url_to_bytes(handle) == user_handle(owner.id)
        except ValueError:
            same = False
        if not same:
            return refuse("wrong_user")
    if owner.disabled_at is not None:
        return refuse("disabled")
    if _cross_origin(client):
        return refuse("cross_origin")
    rp_id, origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=data, expected_challenge=base64url_to_bytes(row.challenge), expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=passkey.public_key,
            credential_current_sign_count=0,  # the counter is checked below, after the signature
            require_user_verification=is_staff(owner),
        )
    except Exception as exc:  # py_webauthn raises many kinds on hostile input; all are refusals
        return refuse(_library_reason(exc))
    new, stored = verified.new_sign_count, passkey.sign_count
    if new > 0 or stored > 0:
        moved = new > stored and _rowcount(session.execute(
            update(Passkey).where(Passkey.id == passkey.id, Passkey.sign_count < new).values(sign_count=new)
            .execution_options(synchronize_session=False))) == 1
        if not moved:
            record(session, "auth.passkey_counter_regressed", actor_id=owner.id, subject=f"passkey:{passkey.id}",
                   ip=ip, stored=stored, received=new, purpose=purpose)
            return refuse("counter", stored=stored, received=new)
        set_committed_value(passkey, "sign_count", new)
    passkey.last_used_at = _now()
    passkey.backed_up = verified.credential_backed_up
    response = data["response"]
    evidence = {
        "version": 1, "purpose": purpose, "binding": binding, "challenge": row.challenge,
        "user_id": owner.id, "passkey_id": passkey.id, "credential_id": passkey.credential_id,
        "authenticator_data": _b64(base64url_to_bytes(response["authenticatorData"])),
        "client_data_json": _b64(base64url_to_bytes(response["clientDataJSON"])),
        "signature": _b64(base64url_to_bytes(response["signature"])),
        "user_handle": _b64(base64url_to_bytes(handle)) if isinstance(handle, str) else None,
        "rp_id": rp_id, "origin": origin, "user_verified": verified.user_verified,
        "verified_at": _now().isoformat(),
    }
    return Assertion(user=owner, passkey=passkey, user_verified=verified.user_verified, evidence=evidence)


def verify_authentication(session: Session, credential_json: dict[str, Any] | str | bytes, *, ip: str = "",
                          user_agent: str = "") -> TokenPair | PasskeyError:
    """Sign in with a passkey alone → the same token pair as a password sign-in (amr "webauthn")."""
    wait = ratelimit.retry_after(session, SIGNIN_FAILURES, ip or "-")
    if wait:
        raise TooManyRequests("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
    result = verify_assertion(session, credential_json, purpose="authenticate", ip=ip)
    if isinstance(result, PasskeyError):
        return result
    pair = start_session(session, result.user, "webauthn", ip=ip, user_agent=user_agent)
    record(session, "auth.login_ok", actor_id=result.user.id, subject=f"session:{pair.session_id}", ip=ip,
           authenticated="webauthn", method="passkey", passkey=result.passkey.id)
    return pair


# --- step-up ----------------------------------------------------------------------------------
def _live_session(session: Session, session_id: str, user_id: int | None = None) -> AuthSession:
    auth_session = session.get(AuthSession, session_id)
    if auth_session is None or auth_session.revoked_at is not None or \
            (user_id is not None and auth_session.user_id != user_id) or utc(auth_session.expires_at) <= _now():
        raise Unauthorized("session ended; sign in again")
    return auth_session


def step_up_options(session: Session, session_id: str, user_id: int) -> dict[str, Any]:
    """Options for a fresh assertion in this session (bound to the session id)."""
    _live_session(session, session_id, user_id)
    return authentication_options(session, user_id, "step_up", {"sid": session_id})


def step_up(session: Session, session_id: str, user_id: int, credential_json: dict[str, Any] | str | bytes, *,
            ip: str = "") -> PasskeyError | None:
    """A fresh assertion with one of the user's passkeys: the session's ``step_up_at`` becomes now."""
    auth_session = _live_session(session, session_id, user_id)
    result = verify_assertion(session, credential_json, purpose="step_up", user_id=user_id,
                              binding={"sid": session_id}, ip=ip)
    if isinstance(result, PasskeyError):
        return result
    auth_session.step_up_at = _now()
    record(session, "auth.step_up_ok", actor_id=user_id, subject=f"session:{session_id}", ip=ip,
           authenticated="webauthn", passkey=result.passkey.id)
    return None


def has_recent_step_up(step_up_at: datetime | None, now: datetime | None = None) -> bool:
    now = now or _now()
    return step_up_at is not None and -timedelta(minutes=1) <= now - utc(step_up_at) <= STEP_UP_WINDOW


def require_step_up(session: Session, session_id: str, now: datetime | None = None) -> None:
    """For sensitive actions: a passkey assertion in this session within the last 5 minutes, or 403."""
    auth_session = _live_session(session, session_id)
    if not has_recent_step_up(auth_session.step_up_at, now):
        raise StepUpRequired("Vui lòng xác thực lại bằng khóa truy cập để tiếp tục (step-up required).")


# --- bound assertions (approvals, payments) -----------------------------------------------------
def bound_assertion_options(session: Session, user_id: int, *, purpose: str,
                            binding: dict[str, Any]) -> dict[str, Any]:
    if purpose in ("register", "authenticate", "step_up"):
        raise ValueError(f"{purpose!r} is not a bound-assertion purpose")
    return authentication_options(session, user_id, purpose, binding)


def verify_bound_assertion(session: Session, user_id: int, credential_json: dict[str, Any] | str | bytes, *,
                           purpose: str, binding: dict[str, Any], ip: str = "") -> dict[str, Any] | PasskeyError:
    """Verify an assertion made for exactly ``binding`` and return the evidence to store with it.

    The evidence (JSON-ready) holds the credential and passkey ids, authenticatorData,
    clientDataJSON, signature and userHandle (base64url), the binding, RP ID and origin.
    """
    if purpose in ("register", "authenticate", "step_up"):
        raise ValueError(f"{purpose!r} is not a bound-assertion purpose")
    result = verify_assertion(session, credential_json, purpose=purpose, user_id=user_id, binding=binding, ip=ip)
    if isinstance(result, PasskeyError):
        return result
    record(session, "auth.assertion_ok", actor_id=user_id, subject=f"passkey:{result.passkey.id}", ip=ip,
           authenticated="webauthn", purpose=purpose)
    return result.evidence


def reverify_evidence(session: Session, evidence: dict[str, Any], binding: dict[str, Any] | None = None,
                      public_key: bytes | None = None) -> bool:
    """Check stored evidence again, later: the signature over authenticatorData || SHA-256(clientDataJSON)
    with the passkey's public key, and that what was signed is the evidence's binding (and
    ``binding``, when given). False on any mismatch or damage, never an exception.

    The passkey's key is read from the database; when the passkey has since been deleted, a
    ``public_key`` (COSE) kept with the evidence at signing time is used instead.
    """
    try:
        if binding is not None and canonical(binding) != canonical(evidence["binding"]):
            return False
        passkey = session.scalar(select(Passkey).where(Passkey.credential_id == evidence["credential_id"]))
        if passkey is not None and passkey.id != evidence["passkey_id"]:
            return False
        cose = passkey.public_key if passkey is not None else public_key
        if cose is None:
            return False
        auth_data = base64url_to_bytes(evidence["authenticator_data"])
        client_bytes = base64url_to_bytes(evidence["client_data_json"])
        signature = base64url_to_bytes(evidence["signature"])
        client = json.loads(client_bytes)
        challenge = base64url_to_bytes(client["challenge"])
        if client.get("type") != "webauthn.get" or client["challenge"] != evidence["challenge"] or \
                client.get("origin") != evidence["origin"] or _cross_origin(client):
            return False
        if challenge[32:] != _binding_digest(canonical(evidence["binding"])):
            return False
        if len(auth_data) < 37 or auth_data[:32] != hashlib.sha256(str(evidence["rp_id"]).encode()).digest() or \
                not auth_data[32] & 0x01:
            return False
        key = decode_credential_public_key(cose)
        verify_signature(public_key=decoded_public_key_to_cryptography(key), signature_alg=key.alg,
                         signature=signature, data=auth_data + hashlib.sha256(client_bytes).digest())
    except InvalidSignature:
        return False
    except Exception:  # damaged evidence of any shape is simply not valid
        return False
    return True


# --- managing passkeys ------------------------------------------------------------------------
def list_passkeys(session: Session, user_id: int) -> list[Passkey]:
    return list(session.scalars(select(Passkey).where(Passkey.user_id == user_id)
                                .order_by(Passkey.created_at, Passkey.id)))


def _own(session: Session, user_id: int, passkey_id: int) -> Passkey:
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user_id:
        raise NotFound("no such passkey")  # another user's passkey does not exist for you
    return passkey


def rename_passkey(session: Session, user_id: int, passkey_id: int, name: str, *, ip: str = "") -> Passkey:
    passkey = _own(session, user_id, passkey_id)
    cleaned = clean_name(name)
    if not cleaned:
        raise InvalidInput(f"Tên khóa truy cập cần từ 1 đến {NAME_MAX} ký tự.", field="name")
    if cleaned != passkey.name:
        passkey.name = cleaned
        record(session, "auth.passkey_renamed", actor_id=user_id, subject=f"passkey:{passkey.id}", ip=ip,
               name=cleaned)
    return passkey


def delete_passkey(session: Session, user_id: int, passkey_id: int, *, ip: str = "",
                   authenticated: str = "") -> None:
    """Remove one of the user's passkeys; never the last way to sign in, never an officer's last passkey."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())  # serialise deletions
    if user is None:
        raise NotFound("no such account")
    passkey = _own(session, user_id, passkey_id)
    if sign_in_methods(session, user) <= 1:
        raise Conflict("Không thể xóa cách đăng nhập cuối cùng của tài khoản. Hãy thêm khóa truy cập khác "
                       "hoặc đặt mật khẩu trước (last sign-in method).")
    if is_staff(user) and len(list_passkeys(session, user.id)) <= 1:
        raise Conflict("Cán bộ phải giữ ít nhất một khóa truy cập. Hãy thêm khóa mới trước khi xóa khóa này "
                       "(officers need a passkey).")
    session.delete(passkey)
    session.flush()
    record(session, "auth.passkey_removed", actor_id=user_id, subject=f"passkey:{passkey_id}", ip=ip,
           authenticated=authenticated, name=passkey.name)
