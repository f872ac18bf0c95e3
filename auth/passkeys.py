"""Passkeys (WebAuthn, via py_webauthn): enrol, sign in, step-up, bound assertions, manage.

Ceremonies are two steps: *options* hand the browser a challenge, *verify* checks its answer.
Challenges, assertion checks, the evidence kept with a decision and the step-up rule belong to the core
(``domain.accounts.passkeys``, the relying party handed in); this module adds what only sign-in needs
(registration, the sign-in rate limit, sessions) and builds the relying party from the auth settings
handed in (``cfg``). Refusals are returned or raised as the core's are (see there).
"""

from __future__ import annotations

import json
import unicodedata
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from webauthn import generate_registration_options, options_to_json, verify_registration_response
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from auth import ratelimit
from auth.accounts import get_user, sign_in_methods
from auth.config import AuthSettings
from auth.tokens import TokenPair, start_session
from domain.accounts import enrolment
from domain.accounts import passkeys as core
from domain.accounts.models import Passkey, User
from domain.accounts.passkeys import (
    CHALLENGE_TTL,
    CREDENTIAL_ID_MAX,
    MESSAGES,
    STEP_UP_WINDOW,
    TIMEOUT_MS,
    TRANSPORTS,
    AccountDisabled,
    Assertion,
    PasskeyError,
    RelyingParty,
    StepUpRequired,
    _b64,
    _claim,
    _client_data,
    _cross_origin,
    _descriptors,
    _error,
    _library_reason,
    _load,
    _new_challenge,
    canonical,
    has_recent_step_up,
    is_staff,
    list_passkeys,
    live_session,
    purge_challenges,
    require_step_up,
    reverify_evidence,
    revoked_passkeys,
    user_handle,
)
from domain.audit import record
from domain.clock import now as _now
from domain.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyRequests
from domain.outbox.enqueue import enqueue

__all__ = [  # the core's names that callers of auth.passkeys use
    "CHALLENGE_TTL", "MESSAGES", "STEP_UP_WINDOW", "AccountDisabled", "Assertion", "PasskeyError", "RelyingParty",
    "StepUpRequired", "canonical", "has_recent_step_up", "list_passkeys", "purge_challenges", "require_step_up",
    "reverify_evidence", "revoked_passkeys", "user_handle",
]

RP_NAME = "Dịch vụ công"
NAME_MAX = 100
# unauthenticated sign-in failures per client: bounds audit-log noise and guessing
SIGNIN_FAILURES = ratelimit.Limit("passkey-client", 30, timedelta(minutes=15), timedelta(minutes=15))


# --- the relying party ------------------------------------------------------------------------
def relying_party(cfg: AuthSettings) -> RelyingParty:
    """The RP ID and expected origin, both from PUBLIC_URL (``cfg.public_url``): its host name, and
    scheme://host[:port]."""
    return RelyingParty.of(cfg.public_url)


# --- registration -----------------------------------------------------------------------------
def may_add_passkey(session: Session, user: User, session_id: str, enrolment_code: str | None, *,
                    ip: str = "") -> DomainError | None:
    """Who may add a passkey from this session (security review finding 1), or the refusal to raise
    after the transaction (a spent or wrong enrolment code is recorded):

    * with passkeys already: a fresh step-up with one of them in this session (a passkey sign-in
      within the step-up window counts), so a stolen password cannot add the thief's passkey;
    * an officer or admin without any: only with a one-time enrolment code issued by someone else;
    * a citizen without any: the signed-in session suffices.
    """
    auth_session = live_session(session, session_id, user.id)
    if list_passkeys(session, user.id):
        if not has_recent_step_up(auth_session.step_up_at):
            return StepUpRequired("Vui lòng xác thực lại bằng khóa truy cập hiện có để thêm khóa mới "
                                  "(step-up required).")
        return None
    if is_staff(user):
        return enrolment.consume(session, user.id, enrolment_code or "", ip=ip)
    return None


def add_passkey_options(session: Session, user_id: int, *, session_id: str, cfg: AuthSettings,
                        enrolment_code: str | None = None, ip: str = "") -> dict[str, Any] | DomainError:
    """What both skins call: the rules of :func:`may_add_passkey`, then the creation options. A refusal
    is returned (what it recorded is committed; the caller raises it)."""
    user = get_user(session, user_id)
    refusal = may_add_passkey(session, user, session_id, enrolment_code, ip=ip)
    if refusal is not None:
        record(session, "auth.passkey_add_refused", actor_id=user.id, subject=f"user:{user.id}", ip=ip,
               reason=type(refusal).__name__)
        return refusal
    return registration_options(session, user_id, cfg=cfg)


def registration_options(session: Session, user_id: int, *, cfg: AuthSettings) -> dict[str, Any]:
    """PublicKeyCredentialCreationOptionsJSON for adding a passkey to the user's account (the ceremony
    alone: who may add one is :func:`add_passkey_options`' business)."""
    user = get_user(session, user_id)
    rp_id = relying_party(cfg).id
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
        # the revoked ones too: their credential ids stay taken (they are kept for the decisions they signed)
        exclude_credentials=_descriptors(list_passkeys(session, user.id) + revoked_passkeys(session, user.id)),
    )
    result: dict[str, Any] = json.loads(options_to_json(options))
    return result


def clean_name(name: str | None) -> str:
    text = "".join(ch for ch in unicodedata.normalize("NFC", name or "") if unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())[:NAME_MAX]


def verify_registration(session: Session, user_id: int, credential_json: dict[str, Any] | str | bytes, *,
                        cfg: AuthSettings, name: str | None = None, ip: str = "",
                        authenticated: str = "") -> Passkey | PasskeyError:
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
    rp = relying_party(cfg)
    rp_id, origin = rp.id, rp.origin
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
    tell_holder(session, user.id, "account.passkey_added", passkey.name)
    return passkey


def tell_holder(session: Session, user_id: int, event: str, passkey_name: str) -> None:
    """Every change to the ways of signing in is told to the account holder (inbox, push and e-mail)."""
    enqueue(session, user_id, event, {"passkey_name": passkey_name, "when": _now()})


# --- assertions -------------------------------------------------------------------------------
def authentication_options(session: Session, user_id: int | None = None, purpose: str = "authenticate",
                           binding: dict[str, Any] | None = None, *, cfg: AuthSettings,
                           ip: str = "") -> dict[str, Any]:
    """PublicKeyCredentialRequestOptionsJSON.

    Sign-in (``user_id`` None): empty allowCredentials, the browser offers discoverable passkeys
    (also through autofill). Step-up and bound assertions: the user's own passkeys only.
    """
    if purpose == "register":
        raise ValueError("registration challenges come from registration_options()")
    if user_id is None:
        if purpose != "authenticate":
            raise ValueError("only sign-in challenges may be issued without a user")
        wait = ratelimit.retry_after(session, SIGNIN_FAILURES, ip or "-")
        if wait:
            raise TooManyRequests("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
    return core.assertion_options(session, relying_party(cfg), user_id, purpose, binding)


def verify_assertion(session: Session, credential_json: dict[str, Any] | str | bytes, *, purpose: str,
                     cfg: AuthSettings, user_id: int | None = None, binding: dict[str, Any] | None = None,
                     ip: str = "") -> Assertion | PasskeyError:
    """The core's check (:func:`domain.accounts.passkeys.verify_assertion`) for this site's relying party;
    a refused sign-in (no ``user_id``) also counts against the client's sign-in limit."""
    result = core.verify_assertion(session, relying_party(cfg), credential_json, purpose=purpose, user_id=user_id,
                                   binding=binding, ip=ip)
    if isinstance(result, PasskeyError) and user_id is None:
        ratelimit.hit(session, SIGNIN_FAILURES, ip or "-", factor=cfg.client_limit_factor)
    return result


def verify_authentication(session: Session, credential_json: dict[str, Any] | str | bytes, *, cfg: AuthSettings,
                          ip: str = "", user_agent: str = "") -> TokenPair | PasskeyError:
    """Sign in with a passkey alone → the same token pair as a password sign-in (amr "webauthn")."""
    wait = ratelimit.retry_after(session, SIGNIN_FAILURES, ip or "-")
    if wait:
        raise TooManyRequests("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
    result = verify_assertion(session, credential_json, purpose="authenticate", cfg=cfg, ip=ip)
    if isinstance(result, PasskeyError):
        return result
    pair = start_session(session, result.user, "webauthn", cfg=cfg, ip=ip, user_agent=user_agent)
    record(session, "auth.login_ok", actor_id=result.user.id, subject=f"session:{pair.session_id}", ip=ip,
           authenticated="webauthn", method="passkey", passkey=result.passkey.id)
    return pair


# --- step-up ----------------------------------------------------------------------------------
def step_up_options(session: Session, session_id: str, user_id: int, *, cfg: AuthSettings) -> dict[str, Any]:
    """Options for a fresh assertion in this session (bound to the session id)."""
    live_session(session, session_id, user_id)
    return authentication_options(session, user_id, "step_up", {"sid": session_id}, cfg=cfg)


def step_up(session: Session, session_id: str, user_id: int, credential_json: dict[str, Any] | str | bytes, *,
            cfg: AuthSettings, ip: str = "") -> PasskeyError | None:
    """A fresh assertion with one of the user's passkeys: the session's ``step_up_at`` becomes now."""
    auth_session = live_session(session, session_id, user_id)
    result = verify_assertion(session, credential_json, purpose="step_up", cfg=cfg, user_id=user_id,
                              binding={"sid": session_id}, ip=ip)
    if isinstance(result, PasskeyError):
        return result
    auth_session.step_up_at = _now()
    record(session, "auth.step_up_ok", actor_id=user_id, subject=f"session:{session_id}", ip=ip,
           authenticated="webauthn", passkey=result.passkey.id)
    return None


# --- bound assertions (approvals, payments) -----------------------------------------------------
def bound_assertion_options(session: Session, user_id: int, *, cfg: AuthSettings, purpose: str,
                            binding: dict[str, Any]) -> dict[str, Any]:
    return core.bound_assertion_options(session, relying_party(cfg), user_id, purpose=purpose, binding=binding)


def verify_bound_assertion(session: Session, user_id: int, credential_json: dict[str, Any] | str | bytes, *,
                           cfg: AuthSettings, purpose: str, binding: dict[str, Any],
                           ip: str = "") -> dict[str, Any] | PasskeyError:
    """Verify an assertion made for exactly ``binding`` and return the evidence to store with it."""
    return core.verify_bound_assertion(session, relying_party(cfg), user_id, credential_json, purpose=purpose,
                                       binding=binding, ip=ip)


# --- managing passkeys ------------------------------------------------------------------------
def _own(session: Session, user_id: int, passkey_id: int) -> Passkey:
    """One of the user's active passkeys (a revoked one is kept on record, but is nobody's to manage)."""
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != user_id or passkey.revoked_at is not None:
        raise NotFound("Không tìm thấy khóa truy cập.")  # another user's passkey does not exist for you
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
                   authenticated: str = "", session_id: str | None = None) -> None:
    """Remove one of the user's passkeys, after a fresh step-up in this session; never the last way to
    sign in, never an officer's last passkey (that is an admin's act).

    Removing revokes: from now on the passkey signs nothing (no sign-in, step-up or decision), but its
    row and public key stay for ever, so the decisions it signed before still verify (finding 12)."""
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())  # serialise deletions
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    passkey = _own(session, user_id, passkey_id)
    if session_id is not None and not has_recent_step_up(live_session(session, session_id, user_id).step_up_at):
        raise StepUpRequired("Vui lòng xác thực lại bằng khóa truy cập để xoá khóa (step-up required).")
    if sign_in_methods(session, user) <= 1:
        raise Conflict("Không thể xóa cách đăng nhập cuối cùng của tài khoản. Hãy thêm khóa truy cập khác "
                       "hoặc đặt mật khẩu trước (last sign-in method).")
    if is_staff(user) and len(list_passkeys(session, user.id)) <= 1:
        raise Conflict("Cán bộ phải giữ ít nhất một khóa truy cập. Hãy thêm khóa mới trước khi xóa khóa này "
                       "(officers need a passkey).")
    passkey.revoked_at = _now()
    session.flush()
    record(session, "auth.passkey_removed", actor_id=user_id, subject=f"passkey:{passkey_id}", ip=ip,
           authenticated=authenticated, name=passkey.name, revoked=True)
    tell_holder(session, user_id, "account.passkey_removed", passkey.name)
