"""Counter and postal intake: a receiving officer enters a dossier, attaches its papers and receives it at once.

:func:`start_intake` makes a draft (channel counter, or post with the waybill it came with) owned by the
applicant: an account found by CCCD, a person record (``domain.intake.persons``), or an organisation (one
of its owners owns the dossier). It is received at the officer's unit (``receiving_unit``) and decided by
the unit of the procedure's offering (``unit_code``: that unit's queue gets it); the procedure must be
receivable there (``domain.intake.receivers.may_receive``). While it is a draft only the receivers of its
receiving unit hold it (the applicant sees it once received); its papers go through the usual upload
pipeline (``domain.dossiers.filing.attach``). :func:`receive_intake` fires ``receive_at_counter``
(``domain.dossiers.lifecycle.fire``): the code is the receiving unit's, the appointment date runs from now.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

import msgspec
from sqlalchemy import case, exists, or_, select
from sqlalchemy.orm import Session

from domain.accounts.identifiers import validate_tax_code
from domain.accounts.models import Membership, Organisation, User
from domain.audit import record
from domain.calendar.engine import TZ
from domain.catalog.models import Offering, OfferingReceiver, Procedure, Unit
from domain.catalog.parse import fold
from domain.db import Database
from domain.documents.merge import merge_pages
from domain.documents.storage import Storage
from domain.dossiers import forms
from domain.dossiers.backoffice import recompute_due
from domain.dossiers.filing import (
    StoredFile,
    compute_due,
    ensure_form,
    fee_for,
    next_code,
    save_data,
    schema_of,
    visible_documents,
)
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import DigitisationRecord, Dossier, DossierDocument, Handoff, PostalItem, WalletDocument
from domain.errors import Conflict, InvalidInput, NotFound
from domain.intake import digitisation
from domain.intake.persons import Applicant, check_applicant, contact_of, ensure_person
from domain.intake.receivers import held_intake, may_receive, receiver_units, receiving_unit_of
from domain.workflow import Actor, State

WAYBILL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{3,39}$")
CHANNELS = {"counter": "counter", "postal": "post"}  # the API's channel → Dossier.channel
T = TypeVar("T")
NOT_RECEIVABLE = "Thủ tục này không tiếp nhận tại đơn vị của bạn."


class PostalIn(msgspec.Struct, forbid_unknown_fields=True):
    """A dossier that arrived by post: the operator's waybill number, when it arrived, who sent it."""

    waybill: str
    received_at: datetime
    sender: str = ""

    def __post_init__(self) -> None:
        self.waybill = self.waybill.strip().upper()  # as the operator prints it, and as send_by_post keeps it


class IntakeCommand(msgspec.Struct, forbid_unknown_fields=True):
    """What a receiving officer starts an intake with (``POST /api/v1/officer/intake``): the applicant is
    one of ``applicant`` (typed or read from the chip card), ``person_id`` (found by a look-up) or
    ``organisation_tax_code``."""

    procedure_code: str
    channel: Literal["counter", "postal"] = "counter"
    applicant: Applicant | None = None
    person_id: int | None = None
    organisation_tax_code: str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    return_method: Literal["counter", "online", "post"] = "counter"
    return_address: str | None = None
    receiving_unit: str | None = None  # needed only when the officer receives for several units
    postal: PostalIn | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def _receiving_unit(units: list[str], wanted: str | None) -> str:
    if wanted:
        if wanted not in units:
            raise InvalidInput("Bạn không phải cán bộ tiếp nhận của đơn vị này.", field="receiving_unit")
        return wanted
    if len(units) > 1:
        raise InvalidInput("Bạn tiếp nhận cho nhiều đơn vị: hãy chọn đơn vị tiếp nhận (receiving_unit).",
                           field="receiving_unit")
    return units[0]


def receivable_offering(session: Session, procedure_code: str, unit_code: str) -> Offering:
    """The offering of a procedure that ``unit_code`` may receive (400 in Vietnamese otherwise)."""
    offering = session.get(Offering, (procedure_code or "").strip())
    if offering is None:
        raise InvalidInput("Tỉnh không cung cấp thủ tục này.", field="procedure_code")
    if not may_receive(session, offering, unit_code):
        raise InvalidInput(NOT_RECEIVABLE, field="procedure_code")
    return offering


def _owner(session: Session, officer_id: int, cmd: IntakeCommand) -> tuple[User, int | None]:
    """The dossier's owner (and organisation): exactly one of applicant, person_id, organisation_tax_code."""
    given = [x for x in (cmd.applicant, cmd.person_id, cmd.organisation_tax_code) if x is not None]
    if len(given) != 1:
        raise InvalidInput("Hãy cho biết người nộp: thông tin cá nhân (applicant), người đã tìm thấy (person_id) "
                           "hoặc mã số thuế của tổ chức (organisation_tax_code), chỉ một trong ba.",
                           field="applicant")
    if cmd.organisation_tax_code is not None:
        code = validate_tax_code(cmd.organisation_tax_code)
        org = session.scalar(select(Organisation).where(Organisation.tax_code == code))
        owner_id = session.scalar(select(Membership.user_id).where(
            Membership.organisation_id == org.id, Membership.role == "owner").order_by(Membership.id).limit(1)) \
            if org is not None else None
        owner = session.get(User, owner_id) if owner_id is not None else None
        if org is None or owner is None:
            raise InvalidInput("Không tìm thấy tổ chức có mã số thuế này trên hệ thống; hãy nhập người nộp là cá "
                               "nhân đại diện.", field="organisation_tax_code")
        return owner, org.id
    if cmd.person_id is not None:
        user = session.get(User, cmd.person_id)
        if user is None or user.kind not in ("citizen", "person") or user.disabled_at is not None:
            raise InvalidInput("Không tìm thấy người nộp này.", field="person_id")
        return user, None
    assert cmd.applicant is not None
    return ensure_person(session, officer_id, cmd.applicant), None


def _check(session: Session, cmd: IntakeCommand) -> None:
    """Every check that needs no write: a refusal then leaves nothing half-written."""
    if cmd.applicant is not None:
        check_applicant(cmd.applicant)
    if cmd.return_method == "post" and not (cmd.return_address or "").strip():
        raise InvalidInput("Trả kết quả qua bưu chính cần địa chỉ nhận (return_address).", field="return_address")
    if len(cmd.return_address or "") > 500:
        raise InvalidInput("Địa chỉ nhận kết quả quá dài (tối đa 500 ký tự).", field="return_address")
    if cmd.channel == "postal":
        if cmd.postal is None:
            raise InvalidInput("Hồ sơ đến qua bưu chính cần số vận đơn và ngày đến (postal).", field="postal")
        waybill = cmd.postal.waybill.strip()
        if not WAYBILL.match(waybill):
            raise InvalidInput("Số vận đơn gồm 4 đến 40 chữ cái, chữ số hoặc dấu gạch ngang.", field="postal.waybill")
        if cmd.postal.received_at.tzinfo is None or cmd.postal.received_at > _now():
            raise InvalidInput("Ngày hồ sơ đến phải có múi giờ và không ở tương lai.", field="postal.received_at")
        if len(cmd.postal.sender) > 300:
            raise InvalidInput("Tên người gửi quá dài (tối đa 300 ký tự).", field="postal.sender")
        if session.scalar(select(PostalItem.id).where(PostalItem.waybill == waybill)) is not None:
            raise Conflict("Số vận đơn này đã được ghi nhận cho một hồ sơ khác; hãy kiểm tra lại.",
                           field="postal.waybill")
    elif cmd.postal is not None:
        raise InvalidInput("Thông tin bưu chính (postal) chỉ dùng cho hồ sơ đến qua bưu chính.", field="postal")


def _prefill(owner: User, schema: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    names = {f["name"] for f in schema["fields"]}
    phone = owner.phone or owner.contact_phone
    values = {"applicant_name": owner.full_name, "applicant_cccd": owner.cccd, "applicant_address": owner.address,
              "applicant_phone": "0" + phone[3:] if phone and phone.startswith("+84") else phone,
              "applicant_email": owner.email or owner.contact_email}
    return {**{k: v for k, v in values.items() if k in names and v}, **given}


def start_intake(session: Session, officer_id: int, cmd: IntakeCommand) -> Dossier:
    """A draft entered by a receiving officer (status draft, channel counter or post), owned by the applicant,
    received at the officer's unit and decided by the offering's unit."""
    unit = _receiving_unit(receiver_units(session, officer_id), cmd.receiving_unit)
    offering = receivable_offering(session, cmd.procedure_code, unit)
    if not isinstance(cmd.data, dict):
        raise InvalidInput("Dữ liệu biểu mẫu không hợp lệ.", field="data")
    _check(session, cmd)
    proc = session.scalar(select(Procedure).where(Procedure.code == offering.procedure_code))
    assert proc is not None
    form = ensure_form(session, offering.procedure_code)
    schema = json.loads(form.schema)
    names = {f["name"] for f in schema["fields"]}
    given = forms.validate(schema, {k: v for k, v in cmd.data.items() if k in names}, complete=False)
    owner, organisation_id = _owner(session, officer_id, cmd)
    phone, email = contact_of(cmd.applicant) if cmd.applicant is not None else (None, None)
    now = _now()
    d = Dossier(procedure_code=offering.procedure_code, procedure_revision=proc.revision, form_revision_id=form.id,
                owner_id=owner.id, organisation_id=organisation_id, unit_code=offering.unit_code,
                receiving_unit=unit, channel=CHANNELS[cmd.channel], return_method=cmd.return_method,
                return_address=(cmd.return_address or "").strip() or None,
                contact_phone=phone or owner.phone or owner.contact_phone,
                contact_email=email or owner.email or owner.contact_email, intake_by=officer_id,
                status=State.DRAFT.value, version=1, created_at=now, updated_at=now,
                data=json.dumps(forms.validate(schema, _prefill(owner, schema, given), complete=False),
                                ensure_ascii=False))
    session.add(d)
    session.flush()
    if cmd.postal is not None:
        session.add(PostalItem(dossier_id=d.id, direction="in", waybill=cmd.postal.waybill.strip(),
                               party=" ".join(cmd.postal.sender.split()), address="", at=cmd.postal.received_at,
                               recorded_by=officer_id))
        session.flush()
    record(session, "intake.started", actor_id=officer_id, subject=f"dossier:{d.id}", channel=d.channel,
           receiving_unit=unit, deciding_unit=d.unit_code, owner=owner.id)
    return d


def intake_draft(session: Session, officer_id: int, dossier_id: int, *, lock: bool = False) -> Dossier:
    """An intake draft this officer holds (a receiver of its receiving unit); 404 otherwise (403 for anyone
    who is no receiver)."""
    receiver_units(session, officer_id)
    return held_intake(session, officer_id, dossier_id, lock=lock)


def received_intake(session: Session, officer_id: int, dossier_id: int) -> Dossier:
    """A dossier one of this receiver's units has received (any channel); 404 otherwise."""
    units = receiver_units(session, officer_id)
    d = session.scalar(select(Dossier).where(Dossier.id == dossier_id, Dossier.status != State.DRAFT.value,
                                             Dossier.code.is_not(None), Dossier.received_at.is_not(None),
                                             receiving_unit_of().in_(units)))
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    return d


def update_intake(session: Session, officer_id: int, dossier_id: int, data: dict[str, Any], *,
                  expected_version: int | None = None) -> Dossier:
    """Save form data of an intake draft (partial; the same validation as a citizen's draft)."""
    d = intake_draft(session, officer_id, dossier_id, lock=True)
    return save_data(session, d, data, expected_version=expected_version)


def mark_not_kept(session: Session, officer_id: int, dossier_id: int, slot: str) -> None:
    """"Original seen, no copy kept" for a slot the form allows it for (``"copy_optional": true``); 400 otherwise,
    or when the slot already holds pages."""
    d = intake_draft(session, officer_id, dossier_id, lock=True)
    spec = next((s for s in schema_of(session, d).get("documents", []) if s["slot"] == slot), None)
    if spec is None:
        raise InvalidInput("Ô giấy tờ không tồn tại trong biểu mẫu.", field="slot")
    if not spec.get("copy_optional"):
        raise InvalidInput("Giấy tờ này phải có bản sao trong hồ sơ; không ghi nhận “đã xem bản gốc, không lưu "
                           "bản sao” được.", field="slot")
    if session.scalar(select(DossierDocument.id).where(DossierDocument.dossier_id == d.id,
                                                       DossierDocument.slot == slot).limit(1)) is not None:
        raise InvalidInput("Ô này đã có tệp; hãy bỏ các trang đã quét trước.", field="slot")
    digitisation.note_not_kept(session, d, slot, by_user=officer_id, unit_code=d.receiving_unit_code)
    d.version += 1
    d.updated_at = _now()
    record(session, "intake.not_kept", actor_id=officer_id, subject=f"dossier:{d.id}", slot=slot)


def set_validity(session: Session, officer_id: int, dossier_id: int, slot: str, valid_until: date | None) -> None:
    """The validity date of the paper in a slot of an intake draft (the officer read it on the paper)."""
    d = intake_draft(session, officer_id, dossier_id, lock=True)
    if not any(s["slot"] == slot for s in schema_of(session, d).get("documents", [])):
        raise InvalidInput("Ô giấy tờ không tồn tại trong biểu mẫu.", field="slot")
    digitisation.set_validity(session, d, slot, valid_until, today=_now().astimezone(TZ).date())
    d.version += 1
    d.updated_at = _now()
    record(session, "intake.validity", actor_id=officer_id, subject=f"dossier:{d.id}", slot=slot,
           valid_until=valid_until.isoformat() if valid_until else None)


def digitisation_records(session: Session, officer_id: int, dossier_id: int) -> list[DigitisationRecord]:
    """The digitisation records of an intake draft this officer holds, or of a dossier one of their units
    received; 404 otherwise."""
    try:
        d = intake_draft(session, officer_id, dossier_id)
    except NotFound:
        d = received_intake(session, officer_id, dossier_id)
    return digitisation.records(session, d.id)


def applicant_wallet(session: Session, officer_id: int, dossier_id: int) -> list[WalletDocument]:
    """What the applicant of an intake draft this officer holds may reuse (``…/documents/from-wallet``): an
    account's wallet, newest first; a person record has none."""
    d = intake_draft(session, officer_id, dossier_id)
    owner = session.get(User, d.owner_id)
    if owner is None or owner.kind != "citizen":
        return []
    return list(session.scalars(visible_documents(session, owner.id)
                                .order_by(WalletDocument.created_at.desc(), WalletDocument.id.desc())))


def pages_to_merge(session: Session, officer_id: int, dossier_id: int) -> dict[str, list[str]]:
    """The storage keys of each slot of an intake draft that holds several pages (to merge into one PDF,
    outside the transaction: ``domain.documents.merge.merge_pages``)."""
    d = intake_draft(session, officer_id, dossier_id)
    keys: dict[str, list[str]] = {}
    for slot, key in session.execute(
            select(DossierDocument.slot, WalletDocument.storage_key)
            .join(WalletDocument, WalletDocument.id == DossierDocument.document_id)
            .where(DossierDocument.dossier_id == d.id).order_by(DossierDocument.slot, DossierDocument.position,
                                                                  DossierDocument.id)):
        keys.setdefault(slot, []).append(key)
    return {slot: ks for slot, ks in keys.items() if len(ks) > 1}


def _merge_into(session: Session, d: Dossier, merged: dict[str, StoredFile]) -> None:
    """Replace each slot's pages by its merged document (a wallet document of the owner)."""
    for slot, stored in merged.items():
        rows = list(session.scalars(select(DossierDocument).where(DossierDocument.dossier_id == d.id,
                                                                  DossierDocument.slot == slot)))
        if len(rows) < 2:
            continue  # the pages changed since they were read: keep them as they are
        doc = WalletDocument(owner_id=d.owner_id, organisation_id=d.organisation_id, storage_key=stored.storage_key,
                             sha256=stored.sha256, content_type=stored.content_type, size=stored.size,
                             display_name=stored.display_name[:160], width=None, height=None,
                             pages=stored.pages or len(rows), kind="upload", created_at=_now())
        session.add(doc)
        session.flush()
        for row in rows:
            session.delete(row)
        session.add(DossierDocument(dossier_id=d.id, slot=slot, document_id=doc.id, position=0, added_at=_now()))
        session.flush()
        digitisation.replace_document(session, d.id, slot, doc.id, doc.pages or len(rows))


def receive_intake(session: Session, officer_id: int, dossier_id: int, *, amr: str = "",
                   merged: dict[str, StoredFile] | None = None) -> Dossier:
    """Receive an intake draft at once (``receive_at_counter``): fields and papers checked as on filing (a slot
    "not kept" counts as given), the code of the receiving unit, the appointment date from now, the fee, the
    digitisation records; a cross-area dossier gets its hand-off to the deciding unit on the control sheet.
    ``merged``: slots whose pages were merged into one PDF beforehand (files are written outside the transaction)."""
    d = intake_draft(session, officer_id, dossier_id, lock=True)
    schema = schema_of(session, d)
    data = forms.validate(schema, json.loads(d.data), complete=True)
    present = {slot for (slot,) in session.execute(select(DossierDocument.slot).where(
        DossierDocument.dossier_id == d.id))}
    present |= {slot for (slot,) in session.execute(select(DigitisationRecord.slot).where(
        DigitisationRecord.dossier_id == d.id, DigitisationRecord.kind == "not_kept"))}
    missing = [s for s in schema.get("documents", []) if s.get("required") and s["slot"] not in present]
    if missing:
        raise forms.FormErrors({f"documents.{s['slot']}": f"Chưa có: {s['name']}." for s in missing})
    if merged:
        _merge_into(session, d, merged)
    now = _now()
    d.data = json.dumps(data, ensure_ascii=False)
    d.fee_vnd = fee_for(session, d)
    d.due_at = compute_due(session, d.procedure_code, now)
    d.code = next_code(session, d.receiving_unit_code, now)
    d.submitted_at = d.received_at = now
    fire(session, d, "receive_at_counter", actor_id=officer_id, actors={Actor.RECEIVER}, amr=amr, now=now,
         detail={"channel": d.channel, "receiving_unit": d.receiving_unit_code})
    recompute_due(session, d)
    digitisation.finalise(session, d, by_user=officer_id, slots=[s["slot"] for s in schema.get("documents", [])])
    if d.receiving_unit_code != d.unit_code:
        session.add(Handoff(dossier_id=d.id, kind="route", from_unit=d.receiving_unit_code, to_unit=d.unit_code,
                            from_user=officer_id, to_user=None, at=now,
                            note="Tiếp nhận phi địa giới, chuyển đơn vị giải quyết"))
    session.flush()
    return d


class Receivable(msgspec.Struct):
    code: str
    name: str
    deciding_unit: str
    deciding_unit_name: str
    cross_area: bool  # received here for another unit


def receivable_procedures(session: Session, officer_id: int, *, q: str = "", limit: int = 30,
                          receiving_unit: str | None = None) -> list[Receivable]:
    """Procedures this officer's unit may receive: its own offered ones first, then those it may receive for
    another unit (cross-area); ``q`` searches the name (no case, no diacritics) or the code."""
    units = receiver_units(session, officer_id)
    unit = _receiving_unit(units, receiving_unit) if receiving_unit or len(units) == 1 else None
    here = [unit] if unit else units
    if len(q) > 100:
        raise InvalidInput("Từ khoá tìm kiếm quá dài.", field="q")
    limit = max(1, min(limit, 100))
    listed = exists().where(OfferingReceiver.procedure_code == Offering.procedure_code,
                            OfferingReceiver.unit_code.in_(here))
    own = Offering.unit_code.in_(here)
    query = (select(Procedure.code, Procedure.name, Offering.unit_code, Unit.name, own)
             .join(Offering, Offering.procedure_code == Procedure.code).join(Unit, Unit.code == Offering.unit_code)
             .where(or_(own, Offering.any_unit_receives.is_(True), listed)))
    term = fold(q.strip())
    if term:
        like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Procedure.name_folded.like(like, escape="\\"), Procedure.code == q.strip()))
    rows = session.execute(query.order_by(case((own, 0), else_=1), Procedure.name, Procedure.code).limit(limit))
    return [Receivable(code=c, name=n, deciding_unit=u, deciding_unit_name=un, cross_area=not bool(o))
            for c, n, u, un, o in rows]


async def receive_with_merge(db: Database, storage: Storage, officer_id: int, dossier_id: int, *, amr: str,
                             then: Callable[[Session, Dossier], T]) -> T:
    """Receive an intake draft with the pages of each slot merged into one PDF first.

    The pages are read in one transaction, merged outside any (files only, in a worker thread:
    ``domain.documents.merge``), then :func:`receive_intake` files the merged documents and receives the
    dossier in a second one; ``then`` shapes the answer inside that transaction. A merge that fails (a page
    gone, not an image nor a PDF) raises before anything is written to the database."""
    pages = await db.read(pages_to_merge, officer_id, dossier_id)
    merged: dict[str, StoredFile] = {}
    for slot, keys in pages.items():
        result = await asyncio.to_thread(merge_pages, storage, keys, display_name=f"{slot}.pdf")
        merged[slot] = StoredFile(**dataclasses.asdict(result))

    def run(session: Session) -> T:
        return then(session, receive_intake(session, officer_id, dossier_id, amr=amr, merged=merged))

    return await db.write(run)
