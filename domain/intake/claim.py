"""Claiming a dossier received at a counter into the applicant's account (issue 14).

A dossier entered for a person record (a user of kind ``person``: no account) is owned by that record. The
applicant, signed in to an account, claims it with the receipt's dossier code and their CCCD; a one-time code
goes to the phone (or e-mail) recorded on the dossier, and typing it moves the dossier into the account.

- Every refusal that is about the dossier (an unknown code, a wrong CCCD, no contact on it, already claimed,
  another account's, an organisation's) answers the same :data:`REFUSED` 404: nobody learns which dossiers
  exist or whose they are. The reason is in the audit row (``dossier.claim_refused``).
- What the claimant can know anyway is said plainly: a CCCD of the wrong form, their account's own CCCD
  being another one, the dossier being in their account already.
- The claim changes the owner, not the status: no workflow event; the audit row ``dossier.claimed`` is the
  record. The person record stays (``claimed_by`` = the account). Its CCCD moves to the account when the
  account has none (later counter intakes with that CCCD then find the account); an account with another CCCD
  is refused. The person's other dossiers are not moved: each is claimed on its own, into this account only.
- The pages attached to the dossier and its issued results, in the person record's wallet, go with it.

The one-time code and the rate limits are the web layer's (``api/web/claim.py``): the core reads no secret.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.accounts.identifiers import validate_cccd
from domain.accounts.models import User
from domain.audit import record
from domain.dossiers.models import Dossier, DossierDocument, DossierResult, WalletDocument
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.outbox.enqueue import enqueue

REFUSED = ("Không nhận được hồ sơ này về tài khoản: mã hồ sơ hoặc số CCCD không khớp với hồ sơ đã nộp tại quầy, "
           "hoặc hồ sơ không thể nhận qua mạng. Hãy kiểm tra lại giấy biên nhận, hoặc liên hệ bộ phận một cửa.")
MAX_CODE = 40


@dataclass(frozen=True)
class ClaimTarget:
    """The dossier being claimed and where its one-time code goes."""

    dossier_id: int
    dossier_code: str
    channel: str  # phone | email
    destination: str  # +84… or an address, as recorded on the dossier

    @property
    def masked(self) -> str:
        return mask(self.channel, self.destination)


def mask(channel: str, destination: str) -> str:
    """Enough of the destination for its holder to recognise it: ``09******78``, ``a***@example.com``."""
    if channel == "phone":
        local = "0" + destination[3:] if destination.startswith("+84") else destination
        return local[:2] + "*" * max(len(local) - 4, 0) + local[-2:]
    name, _, domain = destination.partition("@")
    return f"{name[:1]}***@{domain}"


def clean_code(code: str) -> str:
    """The dossier code as printed on the receipt (spaces and case forgiven), or a clear refusal."""
    value = "".join((code or "").split()).upper()
    if not value:
        raise InvalidInput("Hãy nhập mã hồ sơ in trên giấy biên nhận.", field="code")
    if len(value) > MAX_CODE:
        raise InvalidInput("Mã hồ sơ không hợp lệ.", field="code")
    return value


def claimant(session: Session, user_id: int, cccd: str | None = None) -> User:
    """The signed-in account, if it may claim: a citizen's; its own CCCD, if it has one, is the one typed."""
    user = session.get(User, user_id)
    if user is None or user.kind != "citizen" or user.disabled_at is not None:
        raise Forbidden("Chỉ tài khoản công dân mới nhận được hồ sơ nộp tại quầy.")
    if cccd is not None and user.cccd is not None and user.cccd != cccd:
        raise InvalidInput("Số CCCD này khác số CCCD của tài khoản bạn đang dùng. Hồ sơ chỉ nhận được về tài "
                           "khoản của chính người nộp.", field="cccd")
    return user


def _refusal(session: Session, user: User, code: str, reason: str, *, ip: str,
             dossier_id: int | None = None) -> NotFound:
    record(session, "dossier.claim_refused", actor_id=user.id,
           subject=f"dossier:{dossier_id}" if dossier_id else f"dossier-code:{code}"[:128], reason=reason, ip=ip)
    return NotFound(REFUSED, field="code")


def _why_not(session: Session, user: User, d: Dossier | None, cccd: str) -> str | None:
    """Why the dossier cannot be claimed by ``user`` with ``cccd`` (None: it can)."""
    if d is None:
        return "unknown_code"
    owner = session.get(User, d.owner_id)
    if owner is None or owner.kind != "person" or d.organisation_id is not None:
        return "not_a_person_record"
    if owner.claimed_by is not None and owner.claimed_by != user.id:
        return "claimed_by_another"
    if cccd != (owner.cccd if owner.claimed_by is None else user.cccd):
        return "wrong_cccd"
    if not (d.contact_phone or d.contact_email):
        return "no_contact"
    return None


def start_claim(session: Session, user_id: int, code: str, cccd: str, *, ip: str = "") -> ClaimTarget | NotFound:
    """Check a claim (the dossier's code and the applicant's CCCD): where its one-time code goes, or the one
    refusal, *returned* with its audit row written (so the caller commits the try it counted)."""
    code, cccd = clean_code(code), validate_cccd(cccd)
    user = claimant(session, user_id, cccd)
    d = session.scalar(select(Dossier).where(Dossier.code == code))
    if d is not None and d.owner_id == user.id:
        raise Conflict("Hồ sơ này đã có trong tài khoản của bạn.", field="code")
    reason = _why_not(session, user, d, cccd)
    if reason is not None or d is None:
        return _refusal(session, user, code, reason or "unknown_code", ip=ip, dossier_id=d.id if d else None)
    channel, destination = ("phone", d.contact_phone) if d.contact_phone else ("email", d.contact_email)
    assert destination is not None and d.code is not None
    record(session, "dossier.claim_code_sent", actor_id=user.id, subject=f"dossier:{d.id}", channel=channel, ip=ip)
    return ClaimTarget(dossier_id=d.id, dossier_code=d.code, channel=channel, destination=destination)


def pending_claim(session: Session, user_id: int, code: str, asked: Callable[[int], bool], *,
                  ip: str = "") -> ClaimTarget | NotFound:
    """The claim being verified: a dossier this account asked a code for (``asked(dossier_id)``: the CCCD was
    proved then), still claimable by it (the person record's CCCD, or the account's after an earlier claim)."""
    code = clean_code(code)
    user = claimant(session, user_id)
    d = session.scalar(select(Dossier).where(Dossier.code == code).with_for_update())
    if d is not None and d.owner_id == user.id:
        raise Conflict("Hồ sơ này đã có trong tài khoản của bạn.", field="code")
    owner = session.get(User, d.owner_id) if d is not None else None
    proved = user.cccd or (owner.cccd if owner is not None else None) or ""
    reason = _why_not(session, user, d, proved) or (None if d is None or asked(d.id) else "not_asked")
    if reason is not None or d is None:
        return _refusal(session, user, code, reason or "unknown_code", ip=ip, dossier_id=d.id if d else None)
    channel, destination = ("phone", d.contact_phone) if d.contact_phone else ("email", d.contact_email)
    assert destination is not None and d.code is not None
    return ClaimTarget(dossier_id=d.id, dossier_code=d.code, channel=channel, destination=destination)


def complete_claim(session: Session, user_id: int, target: ClaimTarget, *, ip: str = "") -> Dossier:
    """Move the dossier (its one-time code proved) from the person record into the account: the CCCD moves
    too when the account has none; the pages and results go with it; audited; the account is told."""
    user = claimant(session, user_id)
    d = session.get(Dossier, target.dossier_id)
    assert d is not None
    person = session.get(User, d.owner_id)
    assert person is not None and person.kind == "person"
    moved_cccd = user.cccd is None and person.cccd is not None
    if moved_cccd:
        cccd, person.cccd = person.cccd, None
        session.flush()  # the CCCD is unique: off the person record before it goes on the account
        user.cccd = cccd
    person.claimed_by = user.id
    d.owner_id = user.id
    moved = _move_documents(session, d, person.id, user.id)
    session.flush()
    record(session, "dossier.claimed", actor_id=user.id, subject=f"dossier:{d.id}", person=person.id,
           cccd_moved=moved_cccd, documents=moved, channel=target.channel, ip=ip)
    enqueue(session, user.id, "dossier.claimed", dossier_id=d.id)
    return d


def _move_documents(session: Session, d: Dossier, person_id: int, user_id: int) -> int:
    """The person record's wallet documents of this dossier (its pages, its issued results) into the account."""
    attached = select(DossierDocument.document_id).where(DossierDocument.dossier_id == d.id)
    results = select(DossierResult.storage_key).where(DossierResult.dossier_id == d.id)
    docs = list(session.scalars(select(WalletDocument).where(
        WalletDocument.owner_id == person_id, WalletDocument.organisation_id.is_(None),
        WalletDocument.id.in_(attached) | (WalletDocument.kind == "result") & WalletDocument.storage_key.in_(results))))
    for doc in docs:
        doc.owner_id = user_id
    return len(docs)
