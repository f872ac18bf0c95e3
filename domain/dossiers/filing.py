"""Filing use cases: forms, drafts, documents, submission with a code and due date, cloning, lookup.

Authorization is a query: a dossier or document is loaded only through the caller's scope, so
someone else's reads as "not found" (404), never "forbidden".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Select, bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from domain.accounts.models import Membership, User
from domain.audit import record
from domain.calendar.due import due_for_procedure
from domain.calendar.engine import TZ as VN  # Asia/Ho_Chi_Minh
from domain.catalog.models import Offering, Procedure, Unit
from domain.db import SessionReader, SessionSql, read_datetime
from domain.documents.stored import StoredFile as StoredFile  # filed here, imported from here too
from domain.dossiers import forms
from domain.dossiers.backoffice import end_pause
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import (
    Dossier,
    DossierDocument,
    DossierHistory,
    FormRevision,
    IdempotencyKey,
    WalletDocument,
)
from domain.errors import Conflict, InvalidInput, NotFound
from domain.intake import digitisation
from domain.intake.receivers import held_intake
from domain.outbox.enqueue import enqueue
from domain.payments.fees import quote_for_dossier
from domain.workflow import STATE_NAMES_VI, Actor, State, events_from

EDITABLE = (State.DRAFT.value, State.SUPPLEMENT_REQUESTED.value)
MAX_DATA_BYTES = 256 * 1024
MAX_PAGES_PER_SLOT = 20
IDEMPOTENCY_TTL = timedelta(hours=24)
PURGE_EVERY_S = 60.0
_purged_at = -PURGE_EVERY_S  # time.monotonic() of this process's last purge of expired keys


def _now() -> datetime:
    return datetime.now(UTC)


# --- forms ------------------------------------------------------------------------------------
def _procedure(session: Session, code: str) -> Procedure:
    proc = session.scalar(select(Procedure).where(Procedure.code == code))
    if proc is None:
        raise NotFound(f"Không có thủ tục mã {code!r}.")
    return proc


def current_form(session: Session, code: str) -> FormRevision | None:
    return session.scalar(select(FormRevision).where(FormRevision.procedure_code == code)
                          .order_by(FormRevision.revision.desc()).limit(1))


def ensure_form(session: Session, code: str) -> FormRevision:
    """The current form revision; made from the hand-made file or the catalogue when missing or stale."""
    proc = _procedure(session, code)
    form = current_form(session, code)
    if form is not None and (form.source != "default" or form.procedure_revision == proc.revision):
        return form
    schema = forms.handmade_schema(code)
    source = "handmade" if schema else "default"
    if schema is None:
        schema = forms.default_schema(json.loads(proc.data))
    return _new_form_revision(session, proc, schema, source, form)


def _new_form_revision(session: Session, proc: Procedure, schema: dict[str, Any], source: str,
                       previous: FormRevision | None) -> FormRevision:
    form = FormRevision(procedure_code=proc.code, revision=(previous.revision + 1) if previous else 1,
                        procedure_revision=proc.revision, schema=json.dumps(schema, ensure_ascii=False),
                        source=source, created_at=_now())
    session.add(form)
    session.flush()
    return form


def edit_form(session: Session, code: str, schema: dict[str, Any], *, actor_id: int) -> FormRevision:
    """An admin's edit: always a new revision; dossiers already started stay on theirs."""
    proc = _procedure(session, code)
    checked = forms.check_schema(schema)
    form = _new_form_revision(session, proc, checked, f"admin:{actor_id}", current_form(session, code))
    record(session, "form.edited", actor_id=actor_id, subject=f"procedure:{code}", revision=form.revision)
    return form


# --- scope ------------------------------------------------------------------------------------
def _org_ids(session: Session, user_id: int) -> list[int]:
    return list(session.scalars(select(Membership.organisation_id).where(Membership.user_id == user_id)))


# an intake draft (a dossier a receiving officer is entering at a counter or from the post) is the officer's
# until it is received: its owner sees it only then
_NOT_INTAKE_DRAFT = or_(Dossier.channel == "online", Dossier.status != State.DRAFT.value)


def visible_dossiers(session: Session, user_id: int) -> Select[Any]:
    """The dossiers a filer may see: their own and their organisations' (intake drafts once received)."""
    orgs = _org_ids(session, user_id)
    clause = Dossier.owner_id == user_id
    if orgs:
        clause = or_(clause, Dossier.organisation_id.in_(orgs))
    return select(Dossier).where(clause, _NOT_INTAKE_DRAFT)


_IN_SCOPE = select(Dossier).where(Dossier.id == bindparam("dossier_id"), _NOT_INTAKE_DRAFT, or_(
    Dossier.owner_id == bindparam("user_id"),
    exists().where(Membership.user_id == bindparam("user_id"), Membership.organisation_id == Dossier.organisation_id)))
_IN_SCOPE_FOR_UPDATE = _IN_SCOPE.with_for_update()


def get_dossier(session: Session, user_id: int, dossier_id: int, *, for_update: bool = False) -> Dossier:
    """One dossier in the filer's scope (``visible_dossiers``), the memberships checked in the same query
    (built once: building it cost more than running it)."""
    dossier = session.scalar(_IN_SCOPE_FOR_UPDATE if for_update else _IN_SCOPE,
                             {"dossier_id": dossier_id, "user_id": user_id})
    if dossier is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    return dossier


def visible_documents(session: Session, user_id: int) -> Select[Any]:
    orgs = _org_ids(session, user_id)
    clause = WalletDocument.owner_id == user_id
    if orgs:
        clause = or_(clause, WalletDocument.organisation_id.in_(orgs))
    return select(WalletDocument).where(clause, WalletDocument.deleted_at.is_(None))


def get_document(session: Session, user_id: int, document_id: int) -> WalletDocument:
    doc: WalletDocument | None = session.scalar(
        visible_documents(session, user_id).where(WalletDocument.id == document_id))
    if doc is None:
        raise NotFound("Không tìm thấy giấy tờ.")
    return doc


# --- drafts -----------------------------------------------------------------------------------
def _offering(session: Session, code: str) -> Offering:
    offering = session.get(Offering, code)
    if offering is None:
        raise InvalidInput("Tỉnh không tiếp nhận thủ tục này.", field="procedure_code")
    if offering.mode not in ("full", "partial"):
        unit = session.get(Unit, offering.unit_code)
        raise InvalidInput(f"Thủ tục này chưa nộp trực tuyến được; hãy nộp trực tiếp tại {unit.name if unit else '—'}.",
                           field="procedure_code")
    return offering


def create_draft(session: Session, user_id: int, procedure_code: str, *, organisation_id: int | None = None,
                 data: dict[str, Any] | None = None) -> Dossier:
    offering = _offering(session, procedure_code)
    proc = _procedure(session, procedure_code)
    if organisation_id is not None and organisation_id not in _org_ids(session, user_id):
        raise NotFound("Không tìm thấy tổ chức.")
    form = ensure_form(session, procedure_code)
    schema = json.loads(form.schema)
    clean = forms.validate(schema, data or {}, complete=False)
    if not data:
        clean = _prefill(session, user_id, schema)
    now = _now()
    dossier = Dossier(procedure_code=procedure_code, procedure_revision=proc.revision, form_revision_id=form.id,
                      owner_id=user_id, organisation_id=organisation_id, unit_code=offering.unit_code,
                      status=State.DRAFT.value, version=1, data=json.dumps(clean, ensure_ascii=False),
                      created_at=now, updated_at=now)
    session.add(dossier)
    session.flush()
    return dossier


def _prefill(session: Session, user_id: int, schema: dict[str, Any]) -> dict[str, Any]:
    user = session.get(User, user_id)
    names = {f["name"] for f in schema["fields"]}
    values: dict[str, Any] = {}
    if user is not None:
        for name, value in (("applicant_name", user.full_name), ("applicant_phone", user.phone),
                            ("applicant_email", user.email), ("applicant_cccd", user.cccd)):
            if name in names and value:
                values[name] = "0" + value[3:] if name == "applicant_phone" and value.startswith("+84") else value
    return values


def schema_of(session: Session, dossier: Dossier) -> dict[str, Any]:
    """The dossier's form revision (a fresh copy: callers may change it)."""
    rows = SessionReader(session).rows("SELECT schema FROM form_revisions WHERE id = :id",
                                       {"id": dossier.form_revision_id})
    assert rows, f"dossier {dossier.id} has no form revision"
    return json.loads(rows[0][0])  # type: ignore[no-any-return]


def update_draft(session: Session, user_id: int, dossier_id: int, data: dict[str, Any], *,
                 expected_version: int | None = None) -> Dossier:
    """Save form data (a partial update: given fields replace stored ones). Drafts keep what was typed."""
    dossier = get_dossier(session, user_id, dossier_id, for_update=True)
    if dossier.status not in EDITABLE:
        raise Conflict("Hồ sơ đã nộp, không sửa được nữa.", field="status")
    return save_data(session, dossier, data, expected_version=expected_version)


def save_data(session: Session, dossier: Dossier, data: dict[str, Any], *,
              expected_version: int | None = None) -> Dossier:
    """Merge ``data`` into an editable dossier's form data, checked against its form revision (a draft keeps
    what was typed); for the filer's drafts and the counter's intake drafts alike."""
    if expected_version is not None and expected_version != dossier.version:
        raise Conflict("Hồ sơ vừa được lưu ở nơi khác. Hãy tải lại trang.", field="version")
    if not isinstance(data, dict):
        raise InvalidInput("Dữ liệu biểu mẫu không hợp lệ.", field="data")
    schema = schema_of(session, dossier)
    merged = {**json.loads(dossier.data), **{k: v for k, v in data.items()
                                             if k in {f["name"] for f in schema["fields"]}}}
    clean = forms.validate(schema, merged, complete=False)
    encoded = json.dumps(clean, ensure_ascii=False)
    if len(encoded.encode()) > MAX_DATA_BYTES:
        raise InvalidInput("Dữ liệu hồ sơ quá lớn.", field="data")
    dossier.data = encoded
    dossier.version += 1
    dossier.updated_at = _now()
    dossier.expiry_warned_at = None
    return dossier


def delete_draft(session: Session, user_id: int, dossier_id: int) -> None:
    dossier = get_dossier(session, user_id, dossier_id, for_update=True)
    if dossier.status != State.DRAFT.value:
        raise Conflict("Chỉ xoá được bản nháp; hồ sơ đã nộp thì có thể rút.", field="status")
    session.execute(delete(DossierDocument).where(DossierDocument.dossier_id == dossier.id))
    digitisation.drop_all(session, dossier.id)
    session.delete(dossier)


# --- documents --------------------------------------------------------------------------------
def slot_of(schema: dict[str, Any], slot: str) -> dict[str, Any]:
    d: dict[str, Any]
    for d in schema.get("documents", []):
        if d["slot"] == slot:
            return d
    raise InvalidInput("Ô giấy tờ không tồn tại trong biểu mẫu.", field="slot")


def add_to_wallet(session: Session, user_id: int, stored: StoredFile, *, organisation_id: int | None = None,
                  kind: str = "upload") -> WalletDocument:
    existing: WalletDocument | None = session.scalar(visible_documents(session, user_id).where(
        WalletDocument.sha256 == stored.sha256, WalletDocument.owner_id == user_id,
        WalletDocument.organisation_id.is_(None) if organisation_id is None
        else WalletDocument.organisation_id == organisation_id))
    if existing is not None:
        return existing
    doc = WalletDocument(owner_id=user_id, organisation_id=organisation_id, storage_key=stored.storage_key,
                         sha256=stored.sha256, content_type=stored.content_type, size=stored.size,
                         display_name=stored.display_name, width=stored.width, height=stored.height,
                         pages=stored.pages, kind=kind, created_at=_now())
    session.add(doc)
    session.flush()
    return doc


def _editable(session: Session, user_id: int, dossier_id: int, intake_officer: bool) -> tuple[Dossier, int]:
    """The dossier whose documents the caller changes, and whose wallet they go to: the filer's own, or (for
    an officer in a passkey session, ``intake_officer``) an intake draft the officer holds, the applicant's."""
    try:
        dossier = get_dossier(session, user_id, dossier_id, for_update=True)
    except NotFound:
        if not intake_officer:
            raise
        dossier = held_intake(session, user_id, dossier_id, lock=True)
        return dossier, dossier.owner_id
    return dossier, user_id


def attach(session: Session, user_id: int, dossier_id: int, slot: str, *, stored: StoredFile | None = None,
           document_id: int | None = None, intake_officer: bool = False) -> WalletDocument:
    """Put a new upload, or a document already in the wallet, into a slot of a draft (its digitisation record
    says which). A receiving officer (``intake_officer``) does so for an intake draft they hold, with the
    applicant's wallet."""
    dossier, holder = _editable(session, user_id, dossier_id, intake_officer)
    if dossier.status not in EDITABLE:
        raise Conflict("Hồ sơ đã nộp, không thêm giấy tờ được nữa.", field="status")
    slot_of(schema_of(session, dossier), slot)
    pages = session.scalars(select(DossierDocument).where(DossierDocument.dossier_id == dossier.id,
                                                          DossierDocument.slot == slot)).all()
    if len(pages) >= MAX_PAGES_PER_SLOT:
        raise InvalidInput(f"Mỗi ô nhận tối đa {MAX_PAGES_PER_SLOT} trang.", field="slot")
    if stored is not None:
        doc = add_to_wallet(session, holder, stored, organisation_id=dossier.organisation_id)
    elif document_id is not None:
        doc = get_document(session, holder, document_id)
    else:
        raise InvalidInput("Chưa chọn giấy tờ.", field="file")
    session.add(DossierDocument(dossier_id=dossier.id, slot=slot, document_id=doc.id, position=len(pages),
                                added_at=_now()))
    session.flush()
    digitisation.note_attached(session, dossier, slot, doc, by_user=user_id, uploaded=stored is not None,
                               unit_code=dossier.receiving_unit_code if holder != user_id else None)
    dossier.version += 1
    dossier.updated_at = _now()
    session.flush()
    return doc


def detach(session: Session, user_id: int, dossier_id: int, dossier_document_id: int, *,
           intake_officer: bool = False) -> None:
    dossier, _holder = _editable(session, user_id, dossier_id, intake_officer)
    if dossier.status not in EDITABLE:
        raise Conflict("Hồ sơ đã nộp, không bỏ giấy tờ được nữa.", field="status")
    row = session.get(DossierDocument, dossier_document_id)
    if row is None or row.dossier_id != dossier.id:
        raise NotFound("Không tìm thấy giấy tờ trong hồ sơ.")
    session.delete(row)
    session.flush()
    digitisation.note_detached(session, dossier, row.slot)
    dossier.version += 1


def dossier_documents(session: Session, dossier_id: int) -> list[tuple[DossierDocument, WalletDocument]]:
    return [(dd, wd) for dd, wd in session.execute(
        select(DossierDocument, WalletDocument).join(WalletDocument, WalletDocument.id == DossierDocument.document_id)
        .where(DossierDocument.dossier_id == dossier_id).order_by(DossierDocument.slot, DossierDocument.position))]


# --- submission -------------------------------------------------------------------------------
def next_code(session: Session, unit_code: str, at: datetime) -> str:
    """{unit}-{yyMMdd}-{NNNN}: one counter per unit per local day, safe with concurrent submissions (one
    statement that takes the counter's row lock)."""
    day = at.astimezone(VN).strftime("%y%m%d")
    (number,), = SessionSql(session).run(
        "INSERT INTO dossier_counters (unit_code, day, last) VALUES (:unit_code, :day, 1) "
        "ON CONFLICT (unit_code, day) DO UPDATE SET last = dossier_counters.last + 1 RETURNING last",
        {"unit_code": unit_code, "day": day})
    return f"{unit_code}-{day}-{number:04d}"


def fee_for(session: Session, dossier: Dossier) -> int | None:
    """The dossier's fee by the payment rules (officer-set, council-set, catalogue; per page with tiers)."""
    return quote_for_dossier(session, dossier).amount_vnd


def compute_due(session: Session, procedure_code: str, start: datetime) -> datetime | None:
    return due_for_procedure(session, procedure_code, start)


def submit(session: Session, user_id: int, dossier_id: int, *, key: str | None = None, amr: str = "") -> Dossier:
    """Check and file a draft (or resubmit after a supplement request). Idempotent: a second submit of
    the same dossier — a double tap, a retried request — answers with the dossier as filed."""
    check_key(key or "")
    dossier = get_dossier(session, user_id, dossier_id, for_update=True)
    if dossier.status not in EDITABLE:
        if dossier.submitted_at is not None and dossier.status != State.WITHDRAWN.value:
            return dossier  # already filed: the same answer again
        raise Conflict(f"Hồ sơ đang ở trạng thái “{STATE_NAMES_VI[State(dossier.status)]}”, không nộp được.",
                       field="status")
    schema = schema_of(session, dossier)
    data = forms.validate(schema, json.loads(dossier.data), complete=True)
    reader = SessionReader(session)
    present = {slot for (slot,) in reader.rows(
        "SELECT dd.slot FROM dossier_documents dd JOIN wallet_documents wd ON wd.id = dd.document_id "
        "WHERE dd.dossier_id = :id", {"id": dossier.id})}
    missing = [d for d in schema.get("documents", []) if d.get("required") and d["slot"] not in present]
    if missing:
        raise forms.FormErrors({f"documents.{d['slot']}": f"Chưa đính kèm: {d['name']}." for d in missing})
    (has, needed), = reader.rows(
        "SELECT (SELECT identity_level FROM users WHERE id = :user), "
        "(SELECT identity_level FROM offerings WHERE procedure_code = :code)",
        {"user": user_id, "code": dossier.procedure_code})
    if has is not None and needed is not None and has < needed:
        raise Conflict("Thủ tục này yêu cầu tài khoản định danh mức 2 (đã được cán bộ xác minh giấy tờ).",
                       field="identity_level")
    now = _now()
    resubmit = dossier.status == State.SUPPLEMENT_REQUESTED.value
    dossier.data = json.dumps(data, ensure_ascii=False)
    if not resubmit:
        # the fee, the due date and the code first, all in the dossier's one UPDATE by fire(); they
        # depend on the form and the catalogue only, and on PostgreSQL fire()'s audit row holds the
        # audit chain's lock until commit
        dossier.fee_vnd = fee_for(session, dossier)
        dossier.due_at = compute_due(session, dossier.procedure_code, now)
        dossier.code = next_code(session, dossier.unit_code, now)
        dossier.submitted_at = now
        dossier.submit_key = (key or "")[:128] or None
    fire(session, dossier, "resubmit" if resubmit else "submit", actor_id=user_id, actors={Actor.APPLICANT},
         amr=amr, now=now)
    digitisation.finalise(session, dossier, by_user=user_id, slots=[d["slot"] for d in schema.get("documents", [])])
    if resubmit:  # the legal clock runs again; the due date moves by the time it stood still
        end_pause(session, dossier, now)
        session.flush()
    return dossier


def withdrawal_event(dossier: Dossier) -> str | None:
    """How the applicant withdraws this dossier now: at once before intake (``withdraw``), asked once it was
    received (``request_withdrawal``), or not at all (None)."""
    event = "withdraw" if dossier.received_at is None else "request_withdrawal"
    return event if event in events_from(dossier.status) else None


def withdraw(session: Session, user_id: int, dossier_id: int, reason: str, *, expected_version: int | None = None,
             amr: str = "") -> Dossier:
    """The applicant withdraws: at once while the unit has not received it; a received dossier is only asked
    to be withdrawn (national status 7) and an officer accepts it (``accept_withdrawal``), which ends it."""
    dossier = get_dossier(session, user_id, dossier_id, for_update=True)
    if not reason.strip():
        raise InvalidInput("Hãy nêu lý do rút hồ sơ (reason).", field="reason")
    event = withdrawal_event(dossier) or "withdraw"  # (the table refuses it from any other state)
    # the officer handling it is told of a request (effects.OFFICER_EVENTS)
    asked = {"to_user": dossier.assignee_id} if event == "request_withdrawal" and dossier.assignee_id else {}
    fire(session, dossier, event, actor_id=user_id, actors={Actor.APPLICANT}, reason=reason,
         expected_version=expected_version, amr=amr, detail=asked)
    if event == "withdraw":
        dossier.finished_at = _now()
    return dossier


def clone(session: Session, user_id: int, dossier_id: int) -> tuple[Dossier, list[str]]:
    """File again: a new draft on the current form revision; fields that no longer exist are dropped."""
    source = get_dossier(session, user_id, dossier_id)
    draft = create_draft(session, user_id, source.procedure_code, organisation_id=source.organisation_id)
    schema = schema_of(session, draft)
    names = {f["name"] for f in schema["fields"]}
    old = json.loads(source.data)
    dropped = sorted(k for k in old if k not in names)
    clean = forms.validate(schema, {k: v for k, v in old.items() if k in names}, complete=False)
    draft.data = json.dumps(clean, ensure_ascii=False)
    draft.cloned_from = source.id
    slots = {d["slot"] for d in schema.get("documents", [])}
    for dd, _wd in dossier_documents(session, source.id):
        if dd.slot in slots:
            session.add(DossierDocument(dossier_id=draft.id, slot=dd.slot, document_id=dd.document_id,
                                        position=dd.position, added_at=_now()))
        else:
            dropped.append(f"documents.{dd.slot}")
    session.flush()
    return draft, dropped


def my_dossiers(session: Session, user_id: int, *, limit: int = 100) -> list[tuple[Dossier, str]]:
    rows = session.execute(
        visible_dossiers(session, user_id).add_columns(Procedure.name)
        .join(Procedure, Procedure.code == Dossier.procedure_code)
        .order_by(Dossier.updated_at.desc()).limit(limit))
    return [(d, name) for d, name in rows]


def history(session: Session, dossier_id: int, *, internal: bool = False) -> list[DossierHistory]:
    query = select(DossierHistory).where(DossierHistory.dossier_id == dossier_id)
    if not internal:
        query = query.where(DossierHistory.internal.is_(False))
    return list(session.scalars(query.order_by(DossierHistory.id)))


# --- public lookup ----------------------------------------------------------------------------
# Dossier codes follow a pattern (unit, date, sequence), so anyone can guess valid ones. By its code
# alone a dossier shows only its status and appointment date; the rest (procedure, receiving unit,
# dates) needs the short check value printed on the receipt and carried by its QR link. The check value
# is derived, not stored: HMAC-SHA256 under a key derived from SECRET_KEY (label "motcua lookup check
# v1"), over the code, written with CHECK_ALPHABET (no 0/O, 1/I/L look-alikes). Every dossier with a code
# has one, however the code was given. SECRET_KEY_PREVIOUS is accepted too while keys rotate; once it is
# dropped, older receipts' check values stop working (the holder reprints the receipt when signed in).
CHECK_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECK_LENGTH = 8  # 31^8: about 2^39.6 values
NOT_FOUND = "Không tìm thấy hồ sơ với mã này."
# one answer for an unknown code and for a known code with a wrong check value: it tells them apart
# no more than the code alone already does
WRONG_CHECK = "Không tìm thấy hồ sơ với mã hồ sơ và mã kiểm tra này. Vui lòng kiểm tra lại biên nhận."


def check_value(secret: str, code: str) -> str:
    """The dossier's check value under ``secret`` (``SECRET_KEY``): 8 characters of CHECK_ALPHABET."""
    key = hmac.new(secret.encode(), b"motcua lookup check v1", hashlib.sha256).digest()
    number = int.from_bytes(hmac.new(key, code.encode(), hashlib.sha256).digest(), "big")
    chars = []
    for _ in range(CHECK_LENGTH):
        number, digit = divmod(number, len(CHECK_ALPHABET))
        chars.append(CHECK_ALPHABET[digit])
    return "".join(chars)


def normalise_check(check: str | None) -> str:
    """What a person typed, as the check value is written: capitals, no spaces or hyphens."""
    return "".join((check or "").split()).replace("-", "").upper()


def check_matches(secrets: Sequence[str], code: str, check: str) -> bool:
    given = normalise_check(check).encode()
    return any(hmac.compare_digest(check_value(secret, code).encode(), given) for secret in secrets if secret)


class LookupOut(msgspec.Struct):
    # the public answer, returned as is by the API: its name is the OpenAPI component's, its fields the JSON's.
    # By the code alone: code, status, status_name, due_date (the appointment date). With the right check
    # value (``checked``) also the rest; the fields left out are absent from the JSON.
    code: str
    status: str
    status_name: str
    due_date: datetime | None
    checked: bool  # the check value matched: the fields below are there too
    procedure_code: str | msgspec.UnsetType = msgspec.UNSET
    procedure_name: str | msgspec.UnsetType = msgspec.UNSET
    receiving_unit: str | msgspec.UnsetType = msgspec.UNSET
    submitted_at: datetime | None | msgspec.UnsetType = msgspec.UNSET
    received_at: datetime | None | msgspec.UnsetType = msgspec.UNSET
    finished_at: datetime | None | msgspec.UnsetType = msgspec.UNSET


def lookup(session: Session, code: str, check: str | None = None, *, secrets: Sequence[str] = ()) -> LookupOut:
    """What anyone may learn from a dossier code (status, appointment date), and with its check value
    under one of ``secrets`` (SECRET_KEY, SECRET_KEY_PREVIOUS) the rest; never personal data. With a
    check value, an unknown code and a wrong value raise the same :class:`NotFound`."""
    code = (code or "").strip()
    checking = bool(normalise_check(check))
    message = WRONG_CHECK if checking else NOT_FOUND
    if not code or len(code) > 40:
        raise NotFound(message)
    row = session.execute(
        select(Dossier, Procedure.name, Unit.name).join(Procedure, Procedure.code == Dossier.procedure_code)
        .join(Unit, Unit.code == Dossier.unit_code).where(Dossier.code == code)).first()
    if row is None or (checking and not check_matches(secrets, code, check or "")):
        raise NotFound(message)
    d, proc_name, unit_name = row
    out = LookupOut(code=code, status=d.status, status_name=STATE_NAMES_VI[State(d.status)], due_date=d.due_at,
                    checked=False)
    if not checking:
        return out
    return msgspec.structs.replace(out, checked=True, procedure_code=d.procedure_code, procedure_name=proc_name,
                                   receiving_unit=unit_name, submitted_at=d.submitted_at,
                                   received_at=d.received_at, finished_at=d.finished_at)


# --- idempotency keys -------------------------------------------------------------------------
def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def check_key(key: str) -> None:
    """An ``Idempotency-Key`` is at most 128 characters (400 otherwise)."""
    if len(key) > 128:
        raise InvalidInput("Idempotency-Key dài tối đa 128 ký tự.", field="Idempotency-Key")


def remember(session: Session, user_id: int, scope: str, key: str, body: Any) -> IdempotencyKey | None:
    """The stored answer for (user, scope, key) if the same body was sent before; 409 if another body was.
    (Plain statements: every payment start runs this.) A returned row is not in the session."""
    if not key:
        return None
    check_key(key)
    now = _now()
    cutoff = now - IDEMPOTENCY_TTL
    sql = SessionSql(session)
    global _purged_at
    if time.monotonic() - _purged_at >= PURGE_EVERY_S:  # expired keys of everyone, once a minute
        _purged_at = time.monotonic()
        sql.run("DELETE FROM idempotency_keys WHERE created_at < :cutoff", {"cutoff": cutoff})
    which = {"user_id": user_id, "scope": scope, "key": key}
    digest = request_hash(body)
    if sql.run(
        'INSERT INTO idempotency_keys (user_id, scope, "key", request_hash, response, created_at) '
        "VALUES (:user_id, :scope, :key, :request_hash, '', :now) "
        'ON CONFLICT (user_id, scope, "key") DO NOTHING RETURNING id',
        {**which, "request_hash": digest, "now": now},
    ):
        return None  # a new key: the usual case, one statement
    (row_id, stored_hash, response, created_at), = sql.run(
        'SELECT id, request_hash, response, created_at FROM idempotency_keys '
        'WHERE user_id = :user_id AND scope = :scope AND "key" = :key', which)
    if (read_datetime(created_at) or now) < cutoff:  # expired, not purged yet: as good as new
        sql.run("UPDATE idempotency_keys SET request_hash = :request_hash, response = '', created_at = :now "
                "WHERE id = :id", {"id": row_id, "request_hash": digest, "now": now})
        return None
    if stored_hash != digest:
        raise Conflict("Idempotency-Key này đã dùng cho một yêu cầu khác.", field="Idempotency-Key")
    return IdempotencyKey(id=row_id, request_hash=stored_hash, response=response,
                          created_at=read_datetime(created_at), **which)


def store_answer(session: Session, user_id: int, scope: str, key: str, answer: Any) -> None:
    if key:
        session.execute(update(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .values(response=json.dumps(answer, ensure_ascii=False, default=str)))


# --- drafts that nobody uses --------------------------------------------------------------------
@dataclass
class ExpirySummary:
    warned: list[int]
    deleted: int


def expire_drafts(session: Session, *, ttl: timedelta, warn_before: timedelta,
                  now: datetime | None = None) -> ExpirySummary:
    """Warn owners of drafts untouched for ttl - warn_before, delete those untouched for ttl."""
    now = now or _now()
    old = list(session.scalars(select(Dossier).where(Dossier.status == State.DRAFT.value,
                                                     Dossier.updated_at < now - ttl)))
    for d in old:
        session.execute(delete(DossierDocument).where(DossierDocument.dossier_id == d.id))
        digitisation.drop_all(session, d.id)
        session.delete(d)
    warn = list(session.scalars(select(Dossier).where(
        Dossier.status == State.DRAFT.value, Dossier.updated_at < now - ttl + warn_before,
        Dossier.updated_at >= now - ttl, Dossier.expiry_warned_at.is_(None))))
    for d in warn:
        d.expiry_warned_at = now
        name = session.scalar(select(Procedure.name).where(Procedure.code == d.procedure_code)) or d.procedure_code
        delete_on = (d.updated_at + ttl).astimezone(VN).strftime("%d/%m/%Y")
        enqueue(session, d.owner_id, "dossier.draft_expiring", {"procedure_name": name, "delete_date": delete_on},
                dossier_id=d.id, now=now)
    session.flush()
    return ExpirySummary(warned=[d.id for d in warn], deleted=len(old))
