"""Passkey assertions as the core needs them: challenges, verification, evidence, step-up.

WebAuthn ceremonies are two steps: *options* hand the browser a challenge, *verify* checks its answer.
Challenges live in ``webauthn_challenges`` (5 minutes, single use, claimed with a guarded UPDATE),
so any app process can verify what another one issued.

A challenge is ``32 random bytes || SHA-256(binding)``, where the binding is the canonical JSON of
what an assertion is for (e.g. a dossier, its version and the decision). The authenticator signs
the challenge, so a stored assertion proves *what* was approved, not only *who* approved it
(see :func:`verify_bound_assertion` and :func:`reverify_evidence`).

The relying party (RP ID and origin) is a value handed in by the caller (:class:`RelyingParty`);
nothing here reads settings. Sign-in, registration and the sign-in rate limit live in ``auth.passkeys``.

Refusals that must leave a trace (the challenge spent, an audit row) are *returned*, not raised,
so the caller's transaction commits them; the web skins raise them afterwards. Input too broken to
name a challenge is simply raised (nothing to record).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from webauthn import generate_authentication_options, options_to_json, verify_authentication_response
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    decode_credential_public_key,
    decoded_public_key_to_cryptography,
    verify_signature,
)
from webauthn.helpers.structs import (
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    UserVerificationRequirement,
)

from domain.accounts.models import AuthSession, Passkey, User, WebAuthnChallenge
from domain.audit import record
from domain.clock import now as _now
from domain.clock import utc
from domain.errors import DomainError, NotFound, Unauthorized

CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = int(CHALLENGE_TTL.total_seconds() * 1000)
STEP_UP_WINDOW = timedelta(minutes=5)
PURGE_AFTER = timedelta(minutes=10)  # expired rows linger a little, so "expired" beats "unknown"
CREDENTIAL_ID_MAX = 1024  # the column's width (base64url characters)
STAFF = ("officer", "admin")
PURPOSE = re.compile(r"^[a-z][a-z_]{0,31}$")
TRANSPORTS = {t.value for t in AuthenticatorTransport}
UNBOUND_PURPOSES = ("register", "authenticate", "step_up")


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
    "revoked": "Khóa truy cập này đã bị thu hồi, không dùng được nữa (revoked passkey).",
}


def _error(reason: str) -> PasskeyError:
    cls = AccountDisabled if reason == "disabled" else PasskeyError
    return cls(MESSAGES[reason], reason=reason)


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount


# --- the relying party ------------------------------------------------------------------------
@dataclass(frozen=True)
class RelyingParty:
    """Who passkeys are for: the RP ID (a host name) and the expected origin (scheme://host[:port])."""

    id: str
    origin: str

    @classmethod
    def of(cls, public_url: str) -> RelyingParty:
        """Both from the public URL: its host name, and scheme://host[:port]."""
        url = urlsplit(public_url)
        scheme, host = url.scheme.lower(), (url.hostname or "").lower()
        port = url.port
        default = {"http": 80, "https": 443}.get(scheme)
        return cls(host, f"{scheme}://{host}" + (f":{port}" if port and port != default else ""))


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


# --- assertions -------------------------------------------------------------------------------
def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(p.credential_id),
        transports=[AuthenticatorTransport(t) for t in p.transports.split(",") if t in TRANSPORTS] or None,
    ) for p in passkeys]


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    return user


def list_passkeys(session: Session, user_id: int) -> list[Passkey]:
    """The user's active passkeys (the revoked ones sign nothing more)."""
    return list(session.scalars(select(Passkey).where(Passkey.user_id == user_id, Passkey.revoked_at.is_(None))
                                .order_by(Passkey.created_at, Passkey.id)))


def revoked_passkeys(session: Session, user_id: int) -> list[Passkey]:
    """The user's revoked passkeys: kept for ever with their public keys (the decisions they signed)."""
    return list(session.scalars(select(Passkey).where(Passkey.user_id == user_id, Passkey.revoked_at.is_not(None))
                                .order_by(Passkey.revoked_at, Passkey.id)))


def assertion_options(session: Session, rp: RelyingParty, user_id: int | None, purpose: str,
                      binding: dict[str, Any] | None) -> dict[str, Any]:
    """PublicKeyCredentialRequestOptionsJSON.

    Without a user (sign-in): empty allowCredentials, the browser offers discoverable passkeys
    (also through autofill). Step-up and bound assertions: the user's own passkeys only.
    """
    uv = UserVerificationRequirement.PREFERRED
    allow: list[PublicKeyCredentialDescriptor] = []
    if user_id is not None:
        user = _get_user(session, user_id)
        passkeys = list_passkeys(session, user.id)
        if not passkeys:
            raise _error("no_passkey")
        allow = _descriptors(passkeys)
        if is_staff(user):
            uv = UserVerificationRequirement.REQUIRED
    challenge = _new_challenge(session, purpose, user_id, binding)
    options = generate_authentication_options(rp_id=rp.id, challenge=challenge, timeout=TIMEOUT_MS,
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


def _whose_refusal(passkey: Passkey, owner: User, user_id: int | None, handle: Any,
                   client: dict[str, Any]) -> str | None:
    """Why an assertion by this passkey may not stand for ``user_id``, checked before its signature: the
    credential of another account, a user handle that is not the owner's, a disabled account, a frame of
    another site. None when none of these."""
    if user_id is not None and passkey.user_id != user_id:
        return "wrong_user"
    if handle is not None:
        try:
            same = isinstance(handle, str) and base64url_to_bytes(handle) == user_handle(owner.id)
        except ValueError:
            same = False
        if not same:
            return "wrong_user"
    if owner.disabled_at is not None:
        return "disabled"
    if _cross_origin(client):
        return "cross_origin"
    return None


def verify_assertion(session: Session, rp: RelyingParty, credential_json: dict[str, Any] | str | bytes, *,
                     purpose: str, user_id: int | None = None, binding: dict[str, Any] | None = None,
                     ip: str = "") -> Assertion | PasskeyError:
    """Verify an AuthenticationResponseJSON against a challenge issued for (purpose, user, binding).

    Checks: challenge (known, unexpired, unused, for this purpose/user/binding), credential known
    (and the user's own when ``user_id`` is given; userHandle consistent), account enabled, type,
    origin, not cross-origin, RP ID hash, UP always, UV for officers/admins, signature, and a sign
    counter that goes up (a counter that does not is recorded as ``auth.passkey_counter_regressed``).
    Every refusal is recorded (``auth.login_failed`` / ``auth.step_up_failed`` / ``auth.assertion_failed``)
    and returned (the sign-in rate limit is counted by ``auth.passkeys``).
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
        return _error(reason)

    row = _claim(session, client["challenge"], purpose=purpose, user_id=user_id, binding=binding)
    if isinstance(row, PasskeyError):
        return refuse(row.reason)
    handle = data["response"].get("userHandle")
    if passkey is None or owner is None:
        return refuse("unknown_credential")
    if passkey.revoked_at is not None:
        return refuse("revoked")
    reason = _whose_refusal(passkey, owner, user_id, handle, client)
    if reason is not None:
        return refuse(reason)
    rp_id, origin = rp.id, rp.origin
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


# --- step-up ----------------------------------------------------------------------------------
def live_session(session: Session, session_id: str, user_id: int | None = None) -> AuthSession:
    auth_session = session.get(AuthSession, session_id)
    if auth_session is None or auth_session.revoked_at is not None or \
            (user_id is not None and auth_session.user_id != user_id) or utc(auth_session.expires_at) <= _now():
        raise Unauthorized("Phiên đăng nhập đã kết thúc; vui lòng đăng nhập lại.")
    return auth_session


def has_recent_step_up(step_up_at: datetime | None, now: datetime | None = None) -> bool:
    now = now or _now()
    return step_up_at is not None and -timedelta(minutes=1) <= now - utc(step_up_at) <= STEP_UP_WINDOW


def require_step_up(session: Session, session_id: str, now: datetime | None = None) -> None:
    """For sensitive actions: a passkey assertion in this session within the last 5 minutes, or 403."""
    auth_session = live_session(session, session_id)
    if not has_recent_step_up(auth_session.step_up_at, now):
        raise StepUpRequired("Vui lòng xác thực lại bằng khóa truy cập để tiếp tục (step-up required).")


# --- bound assertions (approvals, payments) -----------------------------------------------------
def bound_assertion_options(session: Session, rp: RelyingParty, user_id: int, *, purpose: str,
                            binding: dict[str, Any]) -> dict[str, Any]:
    """Options for an assertion made for exactly ``binding`` (an approval, a payment)."""
    if purpose in UNBOUND_PURPOSES:
        raise ValueError(f"{purpose!r} is not a bound-assertion purpose")
    return assertion_options(session, rp, user_id, purpose, binding)


def verify_bound_assertion(session: Session, rp: RelyingParty, user_id: int,
                           credential_json: dict[str, Any] | str | bytes, *, purpose: str, binding: dict[str, Any],
                           ip: str = "") -> dict[str, Any] | PasskeyError:
    """Verify an assertion made for exactly ``binding`` and return the evidence to store with it.

    The evidence (JSON-ready) holds the credential and passkey ids, authenticatorData,
    clientDataJSON, signature and userHandle (base64url), the binding, RP ID and origin.
    """
    if purpose in UNBOUND_PURPOSES:
        raise ValueError(f"{purpose!r} is not a bound-assertion purpose")
    result = verify_assertion(session, rp, credential_json, purpose=purpose, user_id=user_id, binding=binding, ip=ip)
    if isinstance(result, PasskeyError):
        return result
    record(session, "auth.assertion_ok", actor_id=user_id, subject=f"passkey:{result.passkey.id}", ip=ip,
           authenticated="webauthn", purpose=purpose)
    return result.evidence


def reverify_evidence(session: Session, evidence: dict[str, Any], binding: dict[str, Any] | None = None, *,
                      signer_id: int | None = None, signed_at: datetime | None = None) -> bool:
    """Check stored evidence again, later: the signature over authenticatorData || SHA-256(clientDataJSON)
    with the passkey's public key, and that what was signed is the evidence's binding (and
    ``binding``, when given). False on any mismatch or damage, never an exception.

    The public key is the one on record: the credential is looked up by its id in the passkeys table
    (active or revoked: a removed passkey is revoked, never deleted), and it must be the evidence's
    passkey, of the evidence's user (and of ``signer_id``, when given). A key carried inside the evidence
    is never used. A passkey revoked at or before ``signed_at`` cannot have signed then.
    """
    try:
        if binding is not None and canonical(binding) != canonical(evidence["binding"]):
            return False
        passkey = session.scalar(select(Passkey).where(Passkey.credential_id == evidence["credential_id"]))
        if passkey is None or passkey.id != evidence["passkey_id"] or passkey.user_id != evidence["user_id"]:
            return False
        if signer_id is not None and passkey.user_id != signer_id:
            return False
        if passkey.revoked_at is not None and (signed_at is None or utc(passkey.revoked_at) <= utc(signed_at)):
            return False
        cose = passkey.public_key
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
