"""Payment tables: payments, every gateway message received, refunds, e-receipts, assessments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base

TS = DateTime(timezone=True)


class Payment(Base):
    """One attempt to pay a dossier's fee through one gateway.

    ``open_dossier_id`` holds the dossier id while the payment is live or paid (NULL once it failed,
    was cancelled, expired or errored); its UNIQUE constraint makes a second live or paid payment
    of the same dossier impossible, whatever the timing."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)  # our order id at the gateway
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    open_dossier_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    payer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(32), index=True)
    gateway: Mapped[str] = mapped_column(String(16), index=True)
    amount_vnd: Mapped[int] = mapped_column(Integer)
    fee_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), index=True)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    redirect_url: Mapped[str | None] = mapped_column(Text, nullable=True)  # the gateway's page, once started
    qr_payload: Mapped[str | None] = mapped_column(Text, nullable=True)  # VietQR (EMVCo) text
    gateway_txn: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the gateway's transaction no.
    failure_code: Mapped[str | None] = mapped_column(String(16), nullable=True)
    anomaly: Mapped[str | None] = mapped_column(String(32), nullable=True)  # e.g. paid_after_close
    created_at: Mapped[datetime] = mapped_column(TS, index=True)
    updated_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS, index=True)
    started_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(TS, nullable=True, index=True)


class PaymentEvent(Base):
    """Every message about a payment, as received: callbacks, returns, officers' confirmations,
    bank-statement rows, expiry. Kept even when refused (bad signature, unknown order, wrong amount)."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), nullable=True, index=True)
    gateway: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # callback | return | officer | statement | system
    received_at: Mapped[datetime] = mapped_column(TS, index=True)
    reference: Mapped[str] = mapped_column(String(64), default="")  # as claimed by the message
    signature_ok: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(16), default="")  # what the message says happened
    amount_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result: Mapped[str] = mapped_column(String(24))  # confirmed | already | not_found | invalid_amount | …
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    raw: Mapped[str] = mapped_column(Text, default="")


class Refund(Base):
    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_vnd: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # submitted | success | error
    reason: Mapped[str] = mapped_column(Text, default="")
    requested_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    gateway_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class Receipt(Base):
    """An e-receipt (biên lai điện tử): a number in the unit's series, and a public id for its QR."""

    __tablename__ = "payment_receipts"
    __table_args__ = (UniqueConstraint("unit_code", "series", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), unique=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    unit_code: Mapped[str] = mapped_column(String(32), index=True)
    unit_name: Mapped[str] = mapped_column(String(255))
    series: Mapped[str] = mapped_column(String(16))  # e.g. BL26E: receipt, year 2026, electronic
    number: Mapped[int] = mapped_column(Integer)
    payer_name: Mapped[str] = mapped_column(String(255))
    amount_vnd: Mapped[int] = mapped_column(Integer)
    fee_name: Mapped[str] = mapped_column(String(255))
    dossier_code: Mapped[str] = mapped_column(String(40), index=True)
    gateway: Mapped[str] = mapped_column(String(16))
    gateway_txn: Mapped[str | None] = mapped_column(String(64), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(TS)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_documents.id"), nullable=True)


class ReceiptCounter(Base):
    """Receipt numbers: one series per unit per year."""

    __tablename__ = "payment_receipt_counters"

    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    series: Mapped[str] = mapped_column(String(16), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class FeeAssessment(Base):
    """An officer's amount for one dossier (a council-decided or unparsed fee)."""

    __tablename__ = "fee_assessments"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), primary_key=True)
    amount_vnd: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    set_at: Mapped[datetime] = mapped_column(TS)
