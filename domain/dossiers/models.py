"""Dossier tables: form revisions, dossiers, their documents and history, the document wallet."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime

TS = UTCDateTime()


class FormRevision(Base):
    """The form of a procedure at one revision; dossiers stay on the revision they were started on."""

    __tablename__ = "form_revisions"
    __table_args__ = (UniqueConstraint("procedure_code", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    procedure_revision: Mapped[int] = mapped_column(Integer)  # catalogue revision it was made from
    schema: Mapped[str] = mapped_column(Text)  # JSON: fields and document slots
    source: Mapped[str] = mapped_column(String(64))  # default | handmade | admin:<user id>
    created_at: Mapped[datetime] = mapped_column(TS)


class WalletDocument(Base):
    """A stored file in a person's (or an organisation's) wallet: uploads and issued results."""

    __tablename__ = "wallet_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True, index=True)
    storage_key: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(String(160))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="upload")  # upload | result
    created_at: Mapped[datetime] = mapped_column(TS)
    deleted_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Dossier(Base):
    """A hồ sơ: a filled form of one procedure revision, with documents, moving through the workflow."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)  # given at submission
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code"), index=True)
    procedure_revision: Mapped[int] = mapped_column(Integer)
    form_revision_id: Mapped[int] = mapped_column(ForeignKey("form_revisions.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), nullable=True, index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking
    data: Mapped[str] = mapped_column(Text, default="{}")
    fee_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS, index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(TS, nullable=True, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    expiry_warned_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    cloned_from: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), nullable=True)
    submit_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # back office
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    handling_unit: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # routed to
    original_due_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)  # legal clock stopped since
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    approval_level: Mapped[int] = mapped_column(Integer, default=0)  # levels approved so far
    lateness: Mapped[str | None] = mapped_column(String(8), nullable=True)  # early | on_time | late
    # channels (KenhThucHien): how it came in, where it was received, how the result goes back
    channel: Mapped[str] = mapped_column(String(8), default="online", index=True)  # counter | online | post
    receiving_unit: Mapped[str | None] = mapped_column(ForeignKey("units.code"), nullable=True, index=True)
    return_method: Mapped[str] = mapped_column(String(8), default="online")  # counter | online | post
    return_address: Mapped[str | None] = mapped_column(Text, nullable=True)
    postal_fee_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    contact_phone: Mapped[str | None] = mapped_column(String(16), nullable=True)  # claim codes, SMS
    contact_email: Mapped[str | None] = mapped_column(String(255), nullable=True)
    intake_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)  # counter / post

    @property
    def receiving_unit_code(self) -> str:
        """Where it was received: its own unit, or another receiving point of the province (cross-area)."""
        return self.receiving_unit or self.unit_code


class DossierDocument(Base):
    """A page/file in one upload slot of a dossier (points to a wallet document)."""

    __tablename__ = "dossier_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    slot: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[int] = mapped_column(ForeignKey("wallet_documents.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    added_at: Mapped[datetime] = mapped_column(TS)


class DossierHistory(Base):
    """One row per transition (who, when, from, to, why, on which form revision)."""

    __tablename__ = "dossier_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(TS)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    form_revision_id: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    internal: Mapped[bool] = mapped_column(default=False)  # officers' notes: never shown to the citizen


class DossierCounter(Base):
    """Counter per receiving unit per day for dossier codes {unit}-{yyMMdd}-{NNNN}."""

    __tablename__ = "dossier_counters"

    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(6), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(Base):
    """A client's Idempotency-Key, kept 24 h: same key and body → the same answer; other body → 409."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(TS, index=True)


class DossierPause(Base):
    """A stretch of time the legal clock stood still: a supplement request until the supplement is given, a
    fee asked after intake until it is paid, a stop (form 05) until an officer resumes it."""

    __tablename__ = "dossier_pauses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    ended_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="supplement", server_default="supplement")  # | fee | stop


class Handoff(Base):
    """The control sheet (form 06, phiếu kiểm soát): each hand-off between people or units, with a step deadline."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # assign | route | consult | answer
    from_unit: Mapped[str] = mapped_column(String(32))
    to_unit: Mapped[str] = mapped_column(String(32))
    from_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    to_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(TS)
    note: Mapped[str] = mapped_column(Text, default="")
    step_due_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)


class Decision(Base):
    """An approver's signed decision: the passkey assertion binds dossier, version, decision, result hash."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(16))  # approve | reject
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    dossier_version: Mapped[int] = mapped_column(Integer)
    result_sha256: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text)  # JSON: the stored WebAuthn assertion
    created_at: Mapped[datetime] = mapped_column(TS)


class DossierResult(Base):
    """The result document of a dossier and the public id printed in its QR code."""

    __tablename__ = "dossier_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(String(80))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(255))
    prepared_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prepared_at: Mapped[datetime] = mapped_column(TS)
    issued_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    returned_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Apology(Base):
    """Form 04: an apology with a reason and a new appointment date."""

    __tablename__ = "apologies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    old_due_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    new_due_at: Mapped[datetime] = mapped_column(TS)
    by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(TS)


class PostalItem(Base):
    """A dossier that came in by post (direction in) or a result sent back by post (out): its waybill."""

    __tablename__ = "postal_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    waybill: Mapped[str] = mapped_column(String(40), unique=True)  # the postal operator's number: never reused
    operator: Mapped[str] = mapped_column(String(32), default="")
    party: Mapped[str] = mapped_column(Text, default="")  # the sender (in) or the addressee (out)
    address: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(TS)  # arrived (in) or handed to the operator (out)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    delivery_source: Mapped[str | None] = mapped_column(String(16), nullable=True)  # officer | operator


class DigitisationRecord(Base):
    """What became of one component document (a slot) of a dossier: digitised here, reused, or not kept.

    The only source of the "digitised" and "reused" figures: a component without a file is never digitised.
    """

    __tablename__ = "digitisation_records"
    __table_args__ = (UniqueConstraint("dossier_id", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    slot: Mapped[str] = mapped_column(String(32))
    # digitised | wallet | dossier | result | national | not_kept
    kind: Mapped[str] = mapped_column(String(16), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_documents.id"), nullable=True)
    origin_dossier_id: Mapped[int | None] = mapped_column(ForeignKey("dossiers.id"), nullable=True)
    origin_result_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_results.id"), nullable=True)
    origin_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)  # national data store reference
    pages: Mapped[int] = mapped_column(Integer, default=0)
    by_user: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    unit_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    at: Mapped[datetime] = mapped_column(TS)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
