"""Claiming a counter dossier into the signed-in account, for the API and the phone pages (issue 14).

The core decides what may be claimed and moves it (``domain.intake.claim``); this adds the one-time code
(``auth.accounts.issue_bound_code``: bound to the dossier, 10 minutes, 5 tries, single use, counted by the
limits on asking for codes) and the limits on trying (``auth.ratelimit``), as the public lookup does:

- every try (asking for a code, typing it) counts per client address (``CLAIM_CLIENT``);
- a refused claim (unknown code, wrong CCCD, …) counts again per account (``CLAIM_MISS_ACCOUNT``) and per
  dossier code from any account (``CLAIM_MISS_CODE``, unknown codes too, so a lock tells nothing), with
  a growing lock. A locked address, account or code answers 429 with ``Retry-After``, before anything is
  written; each lock leaves one audit row ``claim.limited``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Request
from sqlalchemy.orm import Session

from api.web.session import client_ip
from api.web.state import auth_of, settings_of
from auth import accounts, ratelimit
from domain.audit import record
from domain.db import Database
from domain.errors import DomainError, InvalidInput, TooManyRequests
from domain.intake import claim
from notifications.codes import deliver_code

CLAIM_PURPOSE = "claim"  # OneTimeCode.channel of the codes that claim a dossier
CLAIM_CLIENT = ratelimit.Limit("claim-client", 30, timedelta(hours=1), timedelta(hours=1))
CLAIM_MISS_ACCOUNT = ratelimit.Limit("claim-miss-account", 5, timedelta(hours=1), timedelta(minutes=30),
                                     backoff_cap=timedelta(hours=24))
CLAIM_MISS_CODE = ratelimit.Limit("claim-miss-code", 5, timedelta(hours=1), timedelta(minutes=15),
                                  backoff_cap=timedelta(hours=24))
TOO_MANY = "Bạn đã thử nhận hồ sơ quá nhiều lần. Vui lòng thử lại sau."
CODE_LOCKED = ("Mã hồ sơ này đã bị nhập sai thông tin quá nhiều lần nên tạm thời bị khoá. Vui lòng thử lại sau, "
               "hoặc liên hệ bộ phận một cửa.")
OTP_REFUSALS = {
    "no_code": "Hãy nhập mã 6 số đã gửi tới số điện thoại (hoặc email) ghi trên hồ sơ.",
    "none_or_expired": "Mã đã hết hạn hoặc đã nhập sai quá 5 lần. Hãy yêu cầu mã mới.",
    "wrong": "Mã không đúng. Hãy kiểm tra lại tin nhắn.",
}


@dataclass(frozen=True)
class ClaimSent:
    """Where the one-time code went (masked) and until when it works."""

    dossier_code: str
    channel: str
    destination: str
    expires_at: datetime


@dataclass(frozen=True)
class _Caller:
    user_id: int
    ip: str
    factor: int

    def locks(self, code: str) -> list[tuple[ratelimit.Limit, str, str]]:
        return [(CLAIM_CLIENT, self.ip, TOO_MANY), (CLAIM_MISS_ACCOUNT, str(self.user_id), TOO_MANY),
                (CLAIM_MISS_CODE, code, CODE_LOCKED)]

    def refuse_if_locked(self, session: Session, code: str) -> None:
        """Refuse before writing anything: a refusal changes nothing."""
        for limit, key, message in self.locks(code):
            wait = ratelimit.retry_after(session, limit, key)
            if wait:
                raise TooManyRequests(message, retry_after=wait)

    def count(self, session: Session, limit: ratelimit.Limit, key: str) -> None:
        """Count one event; the event that starts a lock leaves the lock's one audit row."""
        wait = ratelimit.hit(session, limit, key, factor=self.factor)
        if wait:
            record(session, "claim.limited", actor_id=self.user_id, ip=self.ip, limit=limit.name, seconds=wait)

    def missed(self, session: Session, code: str) -> None:
        self.count(session, CLAIM_MISS_ACCOUNT, str(self.user_id))
        self.count(session, CLAIM_MISS_CODE, code)


def _caller(request: Request[Any, Any, Any], user_id: int) -> _Caller:
    return _Caller(user_id=user_id, ip=client_ip(request) or "-",
                   factor=settings_of(request).limits.client_limit_factor)


def _bound_to(dossier_id: int) -> str:
    return f"dossier:{dossier_id}"  # a code claims only the dossier it was sent for


def _bound(target: claim.ClaimTarget) -> str:
    return _bound_to(target.dossier_id)


async def request_claim(request: Request[Any, Any, Any], user_id: int, code: str, cccd: str) -> ClaimSent:
    """``POST …/claim``: check the dossier code and CCCD, send a one-time code to the dossier's contact."""
    caller, cfg = _caller(request, user_id), auth_of(request)
    key = claim.clean_code(code)
    client = accounts.Client(ip=caller.ip, user_agent=request.headers.get("user-agent", "")[:255])

    def run(session: Session) -> tuple[claim.ClaimTarget, Any, str] | DomainError:
        claim.claimant(session, user_id)  # an officer's or an admin's account: 403, whatever the limits
        caller.refuse_if_locked(session, key)
        caller.count(session, CLAIM_CLIENT, caller.ip)
        target = claim.start_claim(session, user_id, key, cccd, ip=caller.ip)
        if isinstance(target, DomainError):
            caller.missed(session, key)
            return target
        row, otp = accounts.issue_bound_code(session, user_id, CLAIM_PURPOSE, target.destination, _bound(target),
                                             cfg=cfg, client=client)
        return target, row, otp

    db: Database = request.app.state.db
    result = await db.write(run)
    if isinstance(result, DomainError):
        raise result
    target, row, otp = result
    await deliver_code(request.app, row, otp, channel=target.channel, event="code.claim",
                       values={"dossier_code": target.dossier_code})
    return ClaimSent(dossier_code=target.dossier_code, channel=target.channel, destination=target.masked,
                     expires_at=row.expires_at)


async def verify_claim(request: Request[Any, Any, Any], user_id: int, code: str, otp: str) -> int:
    """``POST …/claim/verify``: the one-time code moves the dossier into the account; answers its id."""
    caller, cfg = _caller(request, user_id), auth_of(request)
    key = claim.clean_code(code)

    def run(session: Session) -> int | DomainError:
        claim.claimant(session, user_id)  # an officer's or an admin's account: 403, whatever the limits
        caller.refuse_if_locked(session, key)
        caller.count(session, CLAIM_CLIENT, caller.ip)
        target = claim.pending_claim(session, user_id, key, ip=caller.ip, asked=lambda dossier_id: (
            accounts.code_was_sent(session, user_id, CLAIM_PURPOSE, _bound_to(dossier_id))))
        if isinstance(target, DomainError):
            caller.missed(session, key)
            return target
        reason = accounts.spend_bound_code(session, user_id, CLAIM_PURPOSE, target.destination, _bound(target), otp,
                                           cfg=cfg)
        if reason is not None:
            record(session, "dossier.claim_code_refused", actor_id=user_id, subject=f"dossier:{target.dossier_id}",
                   reason=reason, ip=caller.ip)
            return InvalidInput(OTP_REFUSALS[reason], field="otp")
        return claim.complete_claim(session, user_id, target, ip=caller.ip).id

    db: Database = request.app.state.db
    result = await db.write(run)
    if isinstance(result, DomainError):
        raise result
    return result
