"""Issued forms (01–06 of Circular 03/2025/TT-VPCP) and their numbering: one series per unit and year."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime

TS = UTCDateTime()


class IssuedForm(Base):
    """One form issued for a dossier: its number in the issuing unit's series of the year, never reused,
    and what it said when it was issued (``data``, JSON). The PDF is made on first download (``storage_key``)
    and then given to the applicant's wallet (``wallet_document_id``)."""

    __tablename__ = "issued_forms"
    __table_args__ = (UniqueConstraint("unit_code", "year", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), index=True)
    form: Mapped[str] = mapped_column(String(2))  # "01" … "06"
    event: Mapped[str] = mapped_column(String(32))  # the event that issued it
    unit_code: Mapped[str] = mapped_column(String(32))  # the issuing unit
    year: Mapped[int] = mapped_column(Integer)  # local (Asia/Ho_Chi_Minh) year of issue
    seq: Mapped[int] = mapped_column(Integer)  # the number in the unit's series of the year
    issued_at: Mapped[datetime] = mapped_column(TS)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    storage_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    wallet_document_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_documents.id"), nullable=True)


class FormCounter(Base):
    """The last number a unit gave a form in a year (one statement increments it, safely on both databases)."""

    __tablename__ = "form_counters"

    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
