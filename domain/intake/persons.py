"""The applicants a receiving officer enters: accounts, person records (users of kind ``person``), organisations.

A person record is what the counter knows of someone without an account: name, CCCD, birth date, sex,
address, a contact phone or e-mail. It has no password and no passkey and never signs in; it owns the
dossiers entered for that person until they are claimed into an account. A CCCD already known is that
person, whoever entered it: :func:`ensure_person` links to the existing user (an account or a person
record), never a duplicate. Looking people up is for receivers only, and every look-up is audited.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Literal

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.accounts.identifiers import normalise_email, normalise_phone, validate_cccd, validate_tax_code
from domain.accounts.models import Organisation, User
from domain.accounts.users import clean_name
from domain.audit import record
from domain.errors import InvalidInput
from domain.intake.receivers import receiver_units

APPLICANT_KINDS = ("citizen", "person")  # whom a dossier may be entered for (an officer files as a citizen elsewhere)
MAX_TEXT = 500


class Applicant(msgspec.Struct, forbid_unknown_fields=True):
    """What the officer types (or the chip card's QR fills in) about the applicant; all but the name optional."""

    full_name: str
    cccd: str | None = None
    birth_date: date | None = None
    sex: Literal["nam", "nu"] | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    old_id_number: str | None = None


class PersonHit(msgspec.Struct):
    """One result of a look-up: an account, a person record, or an organisation (its tax code in ``cccd``'s stead)."""

    id: int
    kind: str  # account | person | organisation
    full_name: str
    cccd: str | None
    birth_date: date | None
    phone: str | None
    address: str | None
    tax_code: str | None = None


def _local_phone(value: str | None) -> str | None:
    return "0" + value[3:] if value and value.startswith("+84") else value


def _hit(u: User) -> PersonHit:
    return PersonHit(id=u.id, kind="account" if u.kind != "person" else "person", full_name=u.full_name,
                     cccd=u.cccd, birth_date=u.birth_date, phone=_local_phone(u.phone or u.contact_phone),
                     address=u.address)


def find_persons(session: Session, officer_id: int, *, cccd: str | None = None, phone: str | None = None,
                 name: str | None = None, tax_code: str | None = None, limit: int = 20) -> list[PersonHit]:
    """Applicants matching a CCCD (exact), a phone number (exact), a name (part of it) or a tax code (exact):
    for receivers only (403 otherwise), every look-up audited (who, by what, what was found)."""
    receiver_units(session, officer_id)
    cccd, phone, name, tax_code = (v.strip() if v else None for v in (cccd, phone, name, tax_code))
    if not (cccd or phone or name or tax_code):
        raise InvalidInput("Hãy nhập số CCCD, số điện thoại, họ tên hoặc mã số thuế để tìm.", field="cccd")
    limit = max(1, min(limit, 50))
    hits: list[PersonHit] = []
    if tax_code:
        code = validate_tax_code(tax_code)
        hits += [PersonHit(id=o.id, kind="organisation", full_name=o.name, cccd=None, birth_date=None, phone=None,
                           address=None, tax_code=o.tax_code)
                 for o in session.scalars(select(Organisation).where(Organisation.tax_code == code))]
    people = select(User).where(User.kind.in_(APPLICANT_KINDS), User.disabled_at.is_(None))
    clauses = []
    if cccd:
        clauses.append(User.cccd == validate_cccd(cccd))
    if phone:
        normalised = normalise_phone(phone)
        if normalised is None:
            raise InvalidInput("Số điện thoại di động không hợp lệ (ví dụ 0912345678).", field="phone")
        clauses.append(or_(User.phone == normalised, User.contact_phone == normalised))
    if name:
        if not 2 <= len(name) <= 120:
            raise InvalidInput("Họ tên cần tìm từ 2 đến 120 ký tự.", field="name")
        term = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(User.full_name.ilike(f"%{term}%", escape="\\"))
    if clauses:
        hits += [_hit(u) for u in session.scalars(people.where(*clauses).order_by(User.id).limit(limit))]
    record(session, "intake.person_lookup", actor_id=officer_id, subject="users",
           by=[k for k, v in (("cccd", cccd), ("phone", phone), ("name", name), ("tax_code", tax_code)) if v],
           found=[f"{h.kind}:{h.id}" for h in hits[:limit]])
    return hits[:limit]


def _text(value: str | None, field: str, top: int = MAX_TEXT) -> str | None:
    value = " ".join((value or "").split())
    if len(value) > top:
        raise InvalidInput(f"Thông tin quá dài (tối đa {top} ký tự).", field=field)
    return value or None


def contact_of(applicant: Applicant) -> tuple[str | None, str | None]:
    """The applicant's phone (normalised +84…) and e-mail, checked: a clear message for either that is wrong."""
    phone = normalise_phone(applicant.phone) if applicant.phone else None
    if applicant.phone and phone is None:
        raise InvalidInput("Số điện thoại di động không hợp lệ (ví dụ 0912345678).", field="applicant.phone")
    email = normalise_email(applicant.email) if applicant.email else None
    if applicant.email and email is None:
        raise InvalidInput("Địa chỉ email không hợp lệ.", field="applicant.email")
    return phone, email


def check_applicant(applicant: Applicant) -> None:
    """Every check of :func:`ensure_person`, writing nothing (so a later refusal leaves nothing half-written)."""
    clean_name(applicant.full_name)
    if applicant.cccd:
        validate_cccd(applicant.cccd)
    contact_of(applicant)
    if applicant.old_id_number and not (applicant.old_id_number.isdigit() and len(applicant.old_id_number) in (9, 12)):
        raise InvalidInput("Số CMND cũ gồm 9 (hoặc 12) chữ số.", field="applicant.old_id_number")
    if applicant.birth_date and not date(1900, 1, 1) <= applicant.birth_date <= datetime.now(UTC).date():
        raise InvalidInput("Ngày sinh không hợp lệ.", field="applicant.birth_date")
    _text(applicant.address, "applicant.address")


def ensure_person(session: Session, officer_id: int, applicant: Applicant) -> User:
    """The user the applicant is: the one with this CCCD if there is one (an account or a person record: linked,
    never duplicated; a person record gets the blanks filled), else a new person record."""
    check_applicant(applicant)
    phone, email = contact_of(applicant)
    cccd = validate_cccd(applicant.cccd) if applicant.cccd else None
    if cccd:
        known = session.scalar(select(User).where(User.cccd == cccd))
        if known is not None:
            if known.kind == "person":
                _fill_blanks(known, applicant, phone, email)
            record(session, "intake.person_linked", actor_id=officer_id, subject=f"user:{known.id}", kind=known.kind)
            return known
    user = User(username=f"person:{uuid.uuid4().hex}", full_name=clean_name(applicant.full_name), kind="person",
                identity_level=1, created_at=datetime.now(UTC), cccd=cccd, birth_date=applicant.birth_date,
                sex=applicant.sex, address=_text(applicant.address, "applicant.address"),
                old_id_number=applicant.old_id_number or None, contact_phone=phone, contact_email=email,
                created_by=officer_id)
    session.add(user)
    session.flush()
    record(session, "intake.person_created", actor_id=officer_id, subject=f"user:{user.id}")
    return user


def _fill_blanks(user: User, applicant: Applicant, phone: str | None, email: str | None) -> None:
    user.birth_date = user.birth_date or applicant.birth_date
    user.sex = user.sex or applicant.sex
    user.address = user.address or _text(applicant.address, "applicant.address")
    user.old_id_number = user.old_id_number or applicant.old_id_number or None
    user.contact_phone = phone or user.contact_phone  # the latest number given is the one to reach them on
    user.contact_email = email or user.contact_email
