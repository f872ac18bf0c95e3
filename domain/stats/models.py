"""Statistics tables: per-dossier facts, daily and monthly roll-ups, processing-time histograms, ratings.

The roll-ups are a derived cache of the dossier tables, kept up to date incrementally (see
:mod:`domain.stats.rollups`): ``stats_facts`` holds what each submitted dossier currently contributes,
so a change is applied as the difference between its old and new contribution. Summaries read only
the roll-ups (``stats_daily`` for partial months, ``stats_monthly`` for whole ones), never the dossiers.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from domain.db import Base, UTCDateTime
from domain.dossiers.models import Dossier

# Every additive measure of the roll-ups, in the order of the tables' columns. Which day a measure is
# counted on depends on the measure (see MEASURE_DAY in rollups.py).
MEASURES: tuple[str, ...] = (
    "filed_online", "filed_in_person", "filed_postal",  # dossiers filed, by channel (submission day)
    "supplement", "fee_due", "paid_online",  # of the filed: asked to supplement; with a fee; paid online
    "refused", "withdrawn",  # refused at intake / withdrawn (day it ended)
    "settled", "early", "on_time", "late", "rescheduled", "late_apology",  # results (day of the result)
    "proc_count", "proc_centidays",  # settled with a known processing time; its sum (1/100 working day)
    "tx", "tx_auth",  # dossier transactions (audit rows) and the electronically authenticated ones
    "ratings", "rating_satisfied", "r_timeliness", "r_attitude", "r_clarity", "r_ease",  # ratings (day rated)
)
CHANNELS = ("online", "in_person", "postal")


def _measure() -> Mapped[int]:
    return mapped_column(BigInteger, default=0, server_default="0")


class _Measures:
    filed_online: Mapped[int] = _measure()
    filed_in_person: Mapped[int] = _measure()
    filed_postal: Mapped[int] = _measure()
    supplement: Mapped[int] = _measure()
    fee_due: Mapped[int] = _measure()
    paid_online: Mapped[int] = _measure()
    refused: Mapped[int] = _measure()
    withdrawn: Mapped[int] = _measure()
    settled: Mapped[int] = _measure()
    early: Mapped[int] = _measure()
    on_time: Mapped[int] = _measure()
    late: Mapped[int] = _measure()
    rescheduled: Mapped[int] = _measure()
    late_apology: Mapped[int] = _measure()
    proc_count: Mapped[int] = _measure()
    proc_centidays: Mapped[int] = _measure()
    tx: Mapped[int] = _measure()
    tx_auth: Mapped[int] = _measure()
    ratings: Mapped[int] = _measure()
    rating_satisfied: Mapped[int] = _measure()
    r_timeliness: Mapped[int] = _measure()
    r_attitude: Mapped[int] = _measure()
    r_clarity: Mapped[int] = _measure()
    r_ease: Mapped[int] = _measure()


class StatsDaily(_Measures, Base):
    """One row per local day, receiving unit and field: the measures of what happened that day; unit
    and/or field ``*`` rows hold the same measures summed over every unit and/or field."""

    __tablename__ = "stats_daily"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    field_slug: Mapped[str] = mapped_column(String(255), primary_key=True)


class StatsMonthly(_Measures, Base):
    """The same measures per month (``month`` is the month's first day): whole months read from here."""

    __tablename__ = "stats_monthly"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    field_slug: Mapped[str] = mapped_column(String(255), primary_key=True)


class StatsDailyDuration(Base):
    """Histogram of processing times of the results of a day: ``half_days`` is the bucket's upper bound
    in half working days (to the half day up to 10 days, the whole day up to 200, then 999: beyond)."""

    __tablename__ = "stats_daily_durations"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    field_slug: Mapped[str] = mapped_column(String(255), primary_key=True)
    half_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class StatsMonthlyDuration(Base):
    __tablename__ = "stats_monthly_durations"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    field_slug: Mapped[str] = mapped_column(String(255), primary_key=True)
    half_days: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class StatsFact(Base):
    """What one submitted dossier currently contributes to the roll-ups (its last applied state)."""

    __tablename__ = "stats_facts"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32))
    field_slug: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(12), default="online")  # online | in_person | postal
    submitted_day: Mapped[date] = mapped_column(Date)
    finished_day: Mapped[date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)  # settled | refused | withdrawn
    lateness: Mapped[str | None] = mapped_column(String(8), nullable=True)
    supplement: Mapped[bool] = mapped_column(Boolean, default=False)
    fee_due: Mapped[bool] = mapped_column(Boolean, default=False)
    paid_online: Mapped[bool] = mapped_column(Boolean, default=False)
    rescheduled: Mapped[bool] = mapped_column(Boolean, default=False)
    proc_centidays: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Rating(Base):
    """A citizen's rating of a returned dossier: once per dossier, criteria on a 1–5 scale, a comment.

    Public only in aggregate (the roll-ups); officers of the unit read the comments."""

    __tablename__ = "stats_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    unit_code: Mapped[str] = mapped_column(String(32))
    field_slug: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timeliness: Mapped[int] = mapped_column(SmallInteger)
    attitude: Mapped[int] = mapped_column(SmallInteger)
    clarity: Mapped[int] = mapped_column(SmallInteger)
    ease: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(Text, default="")


Index("ix_stats_ratings_unit_created", Rating.unit_code, Rating.created_at)
# Reports read a unit's dossiers by submission date (form 06, exports): served by this index.
Index("ix_dossiers_unit_submitted", Dossier.unit_code, Dossier.submitted_at)
