"""Accounts: registration, password sign-in, sessions, one-time codes, officers, organisations."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from auth import ratelimit
from auth.config import AuthSettings
from auth.passwords import check_policy, hash_password, needs_rehash, verify_password
from auth.tokens import TokenPair, revoke_all, start_session
from domain.accounts import users
from domain.accounts.identifiers import normalise_username, validate_cccd, validate_tax_code
from domain.accounts.models import (
    AuthSession,
    Invitation,
    Membership,
    OfficerRole,
    OneTimeCode,
    Organisation,
    Passkey,
    User,
)
from domain.accounts.passkeys import require_step_up
from domain.accounts.users import KINDS, OFFICER_ROLES, find_user, grant_officer_role
from domain.audit import record
from domain.catalog.models import Unit
from domain.catalog.offer import UNIT_CODE, UNIT_LEVELS
from domain.clock import utc
from domain.dossiers.models import Dossier
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from domain.outbox.enqueue import enqueue

ORG_ROLES = ("owner", "staff")
CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5
INVITATION_CODE = "invite"  # OneTimeCode.channel of the codes that accept an invitation (finding 5)
__all__ = ["KINDS", "OFFICER_ROLES", "find_user", "grant_officer_role"]  # the core's, also offered here
BAD_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."  # the same whether or not the account exists


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for limits and the audit log."""

    ip: str = ""
    user_agent: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


# --- registration and users -------------------------------------------------------------------
def register(session: Session, full_name: str, username: str, password: str, *, cfg: AuthSettings,
             client: Client = Client(), cccd: str | None = None) -> User:
    wait = ratelimit.retry_after(session, ratelimit.REGISTER_CLIENT, client.ip or "-")
    if wait:
        raise TooManyRequests("Quá nhiều lần đăng ký từ địa chỉ này. Vui lòng thử lại sau.", retry_after=wait)
    ratelimit.hit(session, ratelimit.REGISTER_CLIENT, client.ip or "-", factor=cfg.client_limit_factor)
    number = validate_cccd(cccd) if cccd else None
    holder = session.scalar(select(User.id).where(User.cccd == number)) if number else None
    user = create_user(session, "citizen", username, password, cfg=cfg, full_name=full_name,
                       cccd=None if holder is not None else number, actor=None, ip=client.ip)
    if holder is not None:
        _tell_cccd_holder(session, holder, user, ip=client.ip)
    return user


def _tell_cccd_holder(session: Session, holder_id: int, newcomer: User, *, ip: str) -> None:
    """Someone registered with a CCCD already on another account (security review finding 5): the new
    account is made without it and answered like any other, so the number's use is not revealed (nor its
    holder blocked); the holder is told (inbox, push, e-mail) and the refusal audited, without the number."""
    record(session, "account.cccd_refused", actor_id=newcomer.id, subject=f"user:{holder_id}", ip=ip,
           reason="cccd_taken")
    enqueue(session, holder_id, "account.cccd_claimed", {"when": _now()})


def create_user(session: Session, kind: str, username: str, password: str | None, *, cfg: AuthSettings,
                full_name: str, cccd: str | None = None, actor: int | None = None, ip: str = "") -> User:
    """A new account; a password, when given, must meet the policy (stored as its hash, at ``cfg``'s cost)."""
    normalised, _channel, _name = users.check_new_user(kind, username, full_name)
    if password is not None:
        check_policy(password, username=normalised)
    return users.create_user(session, kind, username, full_name=full_name, cccd=cccd, actor=actor, ip=ip,
                             password_hash=hash_password(password, env=cfg.env) if password is not None else None)


def create_unit(session: Session, code: str, name: str, level: str) -> Unit:
    if not UNIT_CODE.match(code or ""):
        raise InvalidInput("Mã đơn vị phải theo định dạng quốc gia 000.00.00.H56 (national format).", field="code")
    if level not in UNIT_LEVELS:
        raise InvalidInput("Cấp đơn vị phải là tỉnh (province) hoặc xã (commune).", field="level")
    if not (name or "").strip():
        raise InvalidInput("Đơn vị cần có tên.", field="name")
    unit = session.get(Unit, code) or Unit(code=code)
    unit.name, unit.level, unit.active = name.strip(), level, True
    session.add(unit)
    session.flush()
    return unit


def set_disabled(session: Session, user_id: int, disabled: bool, *, actor: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    user.disabled_at = _now() if disabled else None
    if disabled:
        revoke_all(session, user.id, "account_disabled")
    record(session, "account.disabled" if disabled else "account.enabled", actor_id=actor, subject=f"user:{user.id}")
    return user


IDENTITY_ROLES = ("receiver", "unit_admin")  # who checks papers at the counter


def verify_identity(session: Session, user_id: int, *, officer: int, cccd: str, reason: str,
                    session_id: str) -> User | Conflict:
    """An officer checked the person's papers: identity level 2 (security review finding 3).

    Only the system admin, or an officer with a counter role in a unit where this citizen has a filed
    dossier (anyone else: the account does not exist for them, 404), after a fresh passkey step-up, with
    the reason written down; audited. A CCCD already on another account is a 409 that says nothing of it
    (returned, so that its audit row is committed; the caller raises it).
    """
    actor = session.get(User, officer)
    user = session.get(User, user_id)
    if actor is None or user is None or user.kind != "citizen" or not _may_verify(session, actor, user.id):
        raise NotFound("Không tìm thấy tài khoản.")
    require_step_up(session, session_id)
    why = " ".join((reason or "").split())[:500]
    if not why:
        raise InvalidInput("Cần ghi lý do (giấy tờ đã đối chiếu, hồ sơ nào).", field="reason")
    value = validate_cccd(cccd)
    holder = session.scalar(select(User.id).where(User.cccd == value, User.id != user.id))
    if holder is not None:
        record(session, "account.identity_refused", actor_id=officer, subject=f"user:{user.id}", reason="cccd_taken")
        return Conflict("Không ghi được số CCCD này cho tài khoản. Hãy kiểm tra lại giấy tờ.", field="cccd")
    before = user.cccd
    user.cccd = value
    user.identity_level, user.verified_by = 2, officer
    record(session, "account.identity_verified", actor_id=officer, subject=f"user:{user.id}", reason=why,
           cccd_changed=before is not None and before != value, authenticated="webauthn")
    return user


def _may_verify(session: Session, actor: User, citizen_id: int) -> bool:
    if actor.disabled_at is not None:
        return False
    if actor.kind == "admin":
        return True
    if actor.kind != "officer":
        return False
    units = select(OfficerRole.unit_code).where(OfficerRole.user_id == actor.id,
                                                OfficerRole.role.in_(IDENTITY_ROLES))
    return session.scalar(select(Dossier.id).where(
        Dossier.owner_id == citizen_id, Dossier.status != "draft",
        or_(Dossier.unit_code.in_(units), Dossier.handling_unit.in_(units))).limit(1)) is not None


# --- password sign-in -------------------------------------------------------------------------
def login_subject(username: str) -> str:
    """What the per-account limit counts: the canonical identifier (``+84977000111``, ``0977 000 111``
    and ``0977-000-111`` are one account), or the text as typed when it is no identifier at all."""
    try:
        return normalise_username(username)[0][:255]
    except InvalidInput:
        return (username or "").strip().lower()[:255]


def login(session: Session, username: str, password: str, *, cfg: AuthSettings,
          client: Client = Client()) -> TokenPair | Unauthorized:
    """Sign in with a password. Failures are *returned* so the counters and audit rows are committed."""
    subject = login_subject(username)
    for limit, key in ((ratelimit.LOGIN_ACCOUNT, subject), (ratelimit.LOGIN_CLIENT, client.ip or "-")):
        wait = ratelimit.retry_after(session, limit, key)
        if wait:
            raise TooManyRequests("Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
    user = find_user(session, username)
    ok = verify_password(user.password_hash if user else None, password or "", env=cfg.env)
    if not ok or user is None or user.disabled_at is not None:
        record(session, "auth.login_failed", actor_id=user.id if user else None, ip=client.ip,
               subject=f"user:{user.id}" if user else "", reason="disabled" if ok else "bad_credentials")
        locked = [ratelimit.hit(session, ratelimit.LOGIN_ACCOUNT, subject, factor=cfg.client_limit_factor),
                  ratelimit.hit(session, ratelimit.LOGIN_CLIENT, client.ip or "-", factor=cfg.client_limit_factor)]
        if any(locked):
            record(session, "auth.lockout", actor_id=user.id if user else None, ip=client.ip, username=subject)
        return Unauthorized(BAD_CREDENTIALS)
    assert user.password_hash is not None
    if needs_rehash(user.password_hash, env=cfg.env):
        user.password_hash = hash_password(password, env=cfg.env)
    ratelimit.reset(session, ratelimit.LOGIN_ACCOUNT, subject)
    pair = start_session(session, user, "pwd", cfg=cfg, ip=client.ip, user_agent=client.user_agent)
    record(session, "auth.login_ok", actor_id=user.id, subject=f"session:{pair.session_id}", ip=client.ip,
           authenticated="pwd")
    return pair


def logout(session: Session, session_id: str, *, user_id: int, ip: str = "") -> None:
    auth_session = session.get(AuthSession, session_id)
    if auth_session is not None and auth_session.user_id == user_id and auth_session.revoked_at is None:
        auth_session.revoked_at, auth_session.revoke_reason = _now(), "logout"
        record(session, "auth.logout", actor_id=user_id, subject=f"session:{session_id}", ip=ip)


def list_sessions(session: Session, user_id: int) -> list[AuthSession]:
    return list(session.scalars(
        select(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None),
                                  AuthSession.expires_at > _now())
        .order_by(AuthSession.last_used_at.desc())))


def end_session(session: Session, user_id: int, session_id: str, *, ip: str = "") -> None:
    auth_session = session.get(AuthSession, session_id)
    if auth_session is None or auth_session.user_id != user_id:
        raise NotFound("Không tìm thấy phiên đăng nhập.")
    if auth_session.revoked_at is None:
        auth_session.revoked_at, auth_session.revoke_reason = _now(), "ended_by_user"
        record(session, "auth.session_ended", actor_id=user_id, subject=f"session:{session_id}", ip=ip)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Không tìm thấy tài khoản.")
    return user


def sign_in_methods(session: Session, user: User) -> int:
    passkeys = session.scalar(select(func.count()).select_from(Passkey).where(
        Passkey.user_id == user.id, Passkey.revoked_at.is_(None))) or 0
    return passkeys + (1 if user.password_hash else 0)


def needs_passkey_enrolment(session: Session, user: User) -> bool:
    """Officers and admins must have a passkey (phishing-resistant MFA) before doing anything else."""
    if user.kind == "citizen":
        return False
    return not session.scalar(select(Passkey.id).where(Passkey.user_id == user.id, Passkey.revoked_at.is_(None))
                              .limit(1))


def require_admin(session: Session, user_id: int) -> User:
    """The one check of a system admin (pages and API alike): an active admin account with a passkey."""
    user = get_user(session, user_id)
    if user.kind != "admin" or user.disabled_at is not None:
        raise Forbidden("Trang này dành cho quản trị hệ thống.")
    if needs_passkey_enrolment(session, user):
        raise Forbidden("Quản trị viên phải đăng ký passkey trước (trang Tài khoản).")
    return user


# --- one-time codes (phone / email ownership) --------------------------------------------------
def _code_hash(code: str, code_id: int, cfg: AuthSettings) -> str:
    key = cfg.secret_key.encode()
    return hmac.new(key, f"otp:{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _count_code_request(session: Session, user_id: int, client: Client, cfg: AuthSettings) -> None:
    """The limits on asking for one-time codes, per account and per address: refuse before writing anything
    (a refusal changes nothing), then count this request."""
    limits = ((ratelimit.CODE_ACCOUNT, f"{user_id}"), (ratelimit.CODE_CLIENT, client.ip or "-"))
    for limit, key in limits:
        wait = ratelimit.retry_after(session, limit, key)
        if wait:
            raise TooManyRequests("Bạn đã yêu cầu mã quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
    for limit, key in limits:
        if ratelimit.hit(session, limit, key, factor=cfg.client_limit_factor):
            record(session, "auth.code_limited", actor_id=user_id, ip=client.ip)


def request_code(session: Session, user_id: int, channel: str, *, cfg: AuthSettings,
                 client: Client = Client()) -> tuple[OneTimeCode, str]:
    """Create a 6-digit code for the user's phone or email; the caller delivers it (outbox / dev log)."""
    user = get_user(session, user_id)
    destination = user.phone if channel == "phone" else user.email if channel == "email" else None
    if channel not in ("phone", "email"):
        raise InvalidInput("Kênh nhận mã phải là số điện thoại (phone) hoặc email.", field="channel")
    if not destination:
        raise InvalidInput("Tài khoản chưa có số điện thoại/email này.", field="channel")
    _count_code_request(session, user.id, client, cfg)
    code = f"{secrets.randbelow(10**6):06d}"
    now = _now()
    row = OneTimeCode(user_id=user.id, channel=channel, destination=destination, code_hash="", created_at=now,
                      expires_at=now + CODE_TTL)
    session.add(row)
    session.flush()
    row.code_hash = _code_hash(code, row.id, cfg)
    record(session, "auth.code_sent", actor_id=user.id, channel=channel, ip=client.ip)
    return row, code


def verify_code(session: Session, user_id: int, channel: str, code: str, *, cfg: AuthSettings,
                ip: str = "") -> InvalidInput | None:
    """Check the newest unused code (hashed with ``cfg``'s key); a success marks the phone/email verified.
    Errors are returned."""
    row = session.scalar(select(OneTimeCode).where(
        OneTimeCode.user_id == user_id, OneTimeCode.channel == channel, OneTimeCode.used_at.is_(None))
        .order_by(OneTimeCode.id.desc()).limit(1))
    now = _now()
    if row is None or utc(row.expires_at) <= now or row.attempts >= CODE_ATTEMPTS:
        return InvalidInput("Mã đã hết hạn hoặc không còn hiệu lực. Hãy yêu cầu mã mới.", field="code")
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _code_hash((code or "").strip(), row.id, cfg)):
        record(session, "auth.code_failed", actor_id=user_id, ip=ip)
        return InvalidInput("Mã không đúng.", field="code")
    row.used_at = now
    user = get_user(session, user_id)
    if channel == "phone":
        user.phone_verified_at = now
    else:
        user.email_verified_at = now
    record(session, "auth.code_verified", actor_id=user_id, channel=channel, ip=ip)
    return None


# --- organisations ----------------------------------------------------------------------------
def create_organisation(session: Session, owner_id: int, name: str, tax_code: str) -> Organisation:
    code = validate_tax_code(tax_code)
    if not (name or "").strip():
        raise InvalidInput("Tên tổ chức không được để trống.", field="name")
    if session.scalar(select(Organisation.id).where(Organisation.tax_code == code)) is not None:
        raise Conflict("Mã số thuế này đã có tài khoản tổ chức.", field="tax_code")
    org = Organisation(name=" ".join(name.split())[:255], tax_code=code, created_at=_now())
    session.add(org)
    session.flush()
    session.add(Membership(organisation_id=org.id, user_id=owner_id, role="owner", created_at=_now()))
    record(session, "org.created", actor_id=owner_id, subject=f"org:{org.id}", tax_code=code)
    return org


def my_organisations(session: Session, user_id: int) -> list[tuple[Organisation, str]]:
    return [(org, role) for org, role in session.execute(
        select(Organisation, Membership.role).join(Membership, Membership.organisation_id == Organisation.id)
        .where(Membership.user_id == user_id).order_by(Organisation.name))]


def _membership(session: Session, org_id: int, user_id: int) -> Membership:
    m = session.scalar(select(Membership).where(Membership.organisation_id == org_id,
                                                Membership.user_id == user_id))
    if m is None:
        raise NotFound("Không tìm thấy tổ chức.")  # not a member: the organisation does not exist for you
    return m


def organisation_members(session: Session, org_id: int, user_id: int) -> list[tuple[User, str]]:
    _membership(session, org_id, user_id)
    return [(u, role) for u, role in session.execute(
        select(User, Membership.role).join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org_id).order_by(User.full_name))]


def invite(session: Session, org_id: int, inviter_id: int, username: str, role: str) -> Invitation:
    if _membership(session, org_id, inviter_id).role != "owner":
        raise Forbidden("Chỉ chủ tài khoản tổ chức mới mời được thành viên.")
    if role not in ORG_ROLES:
        raise InvalidInput("Vai trò phải là chủ tài khoản (owner) hoặc nhân viên (staff).", field="role")
    normalised, _ = normalise_username(username)
    inv = Invitation(organisation_id=org_id, username=normalised, role=role, invited_by=inviter_id,
                     created_at=_now(), expires_at=_now() + timedelta(days=7))
    session.add(inv)
    session.flush()
    record(session, "org.invited", actor_id=inviter_id, subject=f"org:{org_id}", invitee=normalised, role=role)
    return inv


def pending_invitations(session: Session, user: User) -> list[tuple[Invitation, Organisation]]:
    return [(i, o) for i, o in session.execute(
        select(Invitation, Organisation).join(Organisation, Organisation.id == Invitation.organisation_id)
        .where(Invitation.username == user.username, Invitation.accepted_at.is_(None),
               Invitation.revoked_at.is_(None), Invitation.expires_at > _now()))]


def open_invitation(session: Session, invitation_id: int, user_id: int) -> tuple[Invitation, Organisation]:
    """An invitation to this account's identifier, still open; anyone else's: it does not exist (404)."""
    user = get_user(session, user_id)
    inv = session.get(Invitation, invitation_id)
    if inv is None or inv.username != user.username or inv.accepted_at or inv.revoked_at or \
            utc(inv.expires_at) <= _now():
        raise NotFound("Không tìm thấy lời mời.")
    org = session.get(Organisation, inv.organisation_id)
    assert org is not None  # the invitation goes with its organisation (ON DELETE CASCADE)
    return inv, org


def issue_bound_code(session: Session, user_id: int, purpose: str, destination: str, bound: str, *,
                     cfg: AuthSettings, client: Client = Client()) -> tuple[OneTimeCode, str]:
    """A 6-digit code for one purpose (``OneTimeCode.channel``: an invitation's, a claim's) to ``destination``,
    bound to one thing (``OneTimeCode.subject``, hashed with it too) so it works for that only: counted by the
    limits on asking for codes, 10 minutes, 5 tries, single use (:func:`spend_bound_code`). Earlier unused codes
    of the account for the same purpose stop working. The caller audits it and delivers it
    (``notifications.codes.deliver_code``)."""
    _count_code_request(session, user_id, client, cfg)
    now = _now()
    for old in session.scalars(select(OneTimeCode).where(OneTimeCode.user_id == user_id,
                                                         OneTimeCode.channel == purpose,
                                                         OneTimeCode.used_at.is_(None))):
        old.used_at = now  # superseded
    code = f"{secrets.randbelow(10**6):06d}"
    row = OneTimeCode(user_id=user_id, channel=purpose, destination=destination, subject=bound[:64], code_hash="",
                      attempts=0, created_at=now, expires_at=now + CODE_TTL)
    session.add(row)
    session.flush()
    row.code_hash = _code_hash(f"{bound}:{code}", row.id, cfg)
    return row, code


def spend_bound_code(session: Session, user_id: int, purpose: str, destination: str, bound: str, typed: str, *,
                     cfg: AuthSettings) -> str | None:
    """Use the account's newest code for ``purpose`` sent to ``destination`` and bound to ``bound``: None when
    ``typed`` is it (the code is spent), else why not (``no_code``, ``none_or_expired``: none, expired or out of
    tries; ``wrong``: a try counted). The caller commits the count either way."""
    typed = (typed or "").strip()
    if not typed:
        return "no_code"
    row = session.scalar(select(OneTimeCode).where(
        OneTimeCode.user_id == user_id, OneTimeCode.channel == purpose, OneTimeCode.used_at.is_(None),
        OneTimeCode.destination == destination, OneTimeCode.subject == bound[:64])
        .order_by(OneTimeCode.id.desc()).limit(1).with_for_update())
    if row is None or utc(row.expires_at) <= _now() or row.attempts >= CODE_ATTEMPTS:
        return "none_or_expired"
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _code_hash(f"{bound}:{typed}", row.id, cfg)):
        return "wrong"
    row.used_at = _now()
    return None


def code_was_sent(session: Session, user_id: int, purpose: str, bound: str) -> bool:
    """Whether the account was ever sent a code for ``purpose`` bound to ``bound`` (used, expired or not)."""
    return session.scalar(select(OneTimeCode.id).where(
        OneTimeCode.user_id == user_id, OneTimeCode.channel == purpose, OneTimeCode.subject == bound[:64])
        .limit(1)) is not None


def _invitation(inv: Invitation) -> str:
    return f"invitation:{inv.id}"  # what an invitation's code is bound to: it accepts only that invitation


def request_invitation_code(session: Session, invitation_id: int, user_id: int, *, cfg: AuthSettings,
                            client: Client = Client()) -> tuple[OneTimeCode, str, Organisation]:
    """A 6-digit code to the invited phone or e-mail (the invitation's identifier, whether or not the
    account proved it before): accepting needs it (security review finding 5). Earlier unused codes for
    invitations stop working; the caller delivers it (``notifications.codes.deliver_code``)."""
    inv, org = open_invitation(session, invitation_id, user_id)
    row, code = issue_bound_code(session, user_id, INVITATION_CODE, inv.username, _invitation(inv), cfg=cfg,
                                 client=client)
    record(session, "org.invitation_code_sent", actor_id=user_id, subject=f"org:{inv.organisation_id}",
           invitation=inv.id, channel=invitation_channel(inv.username), ip=client.ip)
    return row, code, org


def invitation_channel(username: str) -> str:
    """How an invitation's code travels: by SMS to a phone number, by e-mail to an address."""
    return normalise_username(username)[1]


INVITATION_REFUSALS = {
    "no_code": "Cần nhập mã xác nhận đã gửi tới số điện thoại hoặc email được mời.",
    "none_or_expired": "Mã đã hết hạn hoặc không còn hiệu lực. Hãy yêu cầu mã mới.",
    "wrong": "Mã không đúng.",
}


def _spend_invitation_code(session: Session, inv: Invitation, user_id: int, code: str, ip: str,
                           cfg: AuthSettings) -> InvalidInput | None:
    reason = spend_bound_code(session, user_id, INVITATION_CODE, inv.username, _invitation(inv), code, cfg=cfg)
    if reason is None:
        return None
    record(session, "org.invitation_refused", actor_id=user_id, subject=f"org:{inv.organisation_id}",
           invitation=inv.id, reason=reason, ip=ip)
    return InvalidInput(INVITATION_REFUSALS[reason], field="code")


def accept_invitation(session: Session, invitation_id: int, user_id: int, code: str, *,
                      cfg: AuthSettings, ip: str = "") -> Membership | InvalidInput:
    """Join the organisation, after proving the invited phone or e-mail with the code sent to it. A
    refusal is *returned* (so the attempt counted and its audit row are committed; nothing else is
    written) for the caller to raise."""
    inv, _org = open_invitation(session, invitation_id, user_id)
    refusal = _spend_invitation_code(session, inv, user_id, code, ip, cfg)
    if refusal is not None:
        return refusal
    inv.accepted_at = _now()
    existing = session.scalar(select(Membership).where(Membership.organisation_id == inv.organisation_id,
                                                       Membership.user_id == user_id))
    m = existing or Membership(organisation_id=inv.organisation_id, user_id=user_id, role=inv.role, created_at=_now())
    m.role = inv.role
    session.add(m)
    record(session, "org.joined", actor_id=user_id, subject=f"org:{inv.organisation_id}", role=inv.role,
           invitation=inv.id, proved=invitation_channel(inv.username), ip=ip)
    return m


def set_member_role(session: Session, org_id: int, actor_id: int, member_id: int, role: str | None) -> None:
    """Change a member's role, or remove them (role None). An organisation always keeps an owner."""
    if _membership(session, org_id, actor_id).role != "owner":
        raise Forbidden("Chỉ chủ tài khoản tổ chức mới đổi được vai trò.")
    target = _membership(session, org_id, member_id)
    owners = session.scalar(select(func.count()).select_from(Membership).where(
        Membership.organisation_id == org_id, Membership.role == "owner")) or 0
    if target.role == "owner" and role != "owner" and owners <= 1:
        raise Conflict("Tổ chức phải còn ít nhất một chủ tài khoản.")
    if role is None:
        session.delete(target)
    elif role in ORG_ROLES:
        target.role = role
    else:
        raise InvalidInput("Vai trò phải là chủ tài khoản (owner) hoặc nhân viên (staff).", field="role")
    record(session, "org.member_changed", actor_id=actor_id, subject=f"org:{org_id}", member=member_id, role=role)
