"""Catalogue tables: the national procedures (with revisions) and this province's offer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime


class Procedure(Base):
    """One national procedure; denormalised columns serve search and browse, `data` the detail."""

    __tablename__ = "procedures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # FTS rowid
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(255), index=True)
    field_slug: Mapped[str] = mapped_column(String(255), index=True)
    levels: Mapped[str] = mapped_column(String(64))  # comma-joined: ministry,province,commune,other
    audiences: Mapped[str] = mapped_column(String(64))  # comma-joined: citizen,business,organisation,foreign
    level_ministry: Mapped[bool] = mapped_column(Boolean, default=False)
    level_province: Mapped[bool] = mapped_column(Boolean, default=False)
    level_commune: Mapped[bool] = mapped_column(Boolean, default=False)
    level_other: Mapped[bool] = mapped_column(Boolean, default=False)
    for_citizen: Mapped[bool] = mapped_column(Boolean, default=False)
    for_business: Mapped[bool] = mapped_column(Boolean, default=False)
    for_organisation: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # this province's offer, copied here for search (kept by service.refresh_listing after every import
    # or offer change): the offering's mode, and 0–3 = offered ×2 + commune level ×1 for ranking
    offer_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    prominence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # folded (lower case, no diacritics, đ→d) text searched by FTS5 / tsvector
    name_folded: Mapped[str] = mapped_column(Text)
    field_folded: Mapped[str] = mapped_column(Text)
    body_folded: Mapped[str] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    data: Mapped[str] = mapped_column(Text)  # JSON of the current revision
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcedureRevision(Base):
    """Every distinct version of a procedure ever imported; dossiers point to one."""

    __tablename__ = "procedure_revisions"
    __table_args__ = (UniqueConstraint("procedure_code", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    procedure_code: Mapped[str] = mapped_column(ForeignKey("procedures.code", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)  # the record as published, kept for audit and re-parsing
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Field(Base):
    """A field (lĩnh vực) of the catalogue with its number of procedures, refreshed on import."""

    __tablename__ = "fields"

    slug: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    procedure_count: Mapped[int] = mapped_column(Integer, default=0)
    offered_count: Mapped[int] = mapped_column(Integer, default=0)


class Unit(Base):
    """A receiving unit of this province (department, public-service centre or commune)."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. 000.00.00.H56
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[str] = mapped_column(String(16))  # province | commune
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ward_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    parent_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Offering(Base):
    """What this province offers for one national procedure."""

    __tablename__ = "offerings"

    procedure_code: Mapped[str] = mapped_column(
        ForeignKey("procedures.code", ondelete="CASCADE"), primary_key=True
    )
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # full (toàn trình) | partial (một phần)
    local_fee_vnd: Mapped[int | None] = mapped_column(Integer, nullable=True)
    local_fee_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    in_person_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    identity_level: Mapped[int] = mapped_column(Integer, default=1)  # 2: only officer-verified identities
    approval_levels: Mapped[int] = mapped_column(Integer, default=1)  # e.g. 2: unit head, then director
    # cross-area receiving (phi địa giới): any receiving point of the province may take it, or only the
    # units listed in offering_receivers (besides unit_code, the deciding unit, which always may)
    any_unit_receives: Mapped[bool] = mapped_column(Boolean, default=False)
    # the processing time the province states, with its legal basis; used only where the national record
    # lacks a usable one (domain.catalog.times): value > 0 in working_days | days | hours | months
    processing_time_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    processing_time_unit: Mapped[str | None] = mapped_column(String(16), nullable=True)
    processing_time_basis: Mapped[str | None] = mapped_column(Text, nullable=True)


class OfferingReceiver(Base):
    """A unit that may receive dossiers of a procedure on behalf of the deciding unit (cross-area)."""

    __tablename__ = "offering_receivers"

    procedure_code: Mapped[str] = mapped_column(
        ForeignKey("offerings.procedure_code", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("units.code"), primary_key=True)


class OfferVersion(Base):
    """Each load or admin edit of the offer: who, when, from which config version."""

    __tablename__ = "offer_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_version: Mapped[str] = mapped_column(String(64))
    province_code: Mapped[int] = mapped_column(Integer)
    province_name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(255))  # file path or "admin:<user>"
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
