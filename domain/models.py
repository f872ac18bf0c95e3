"""Every table of the application, imported once so Alembic and tests see the whole schema."""

from domain.catalog.models import Field, Offering, OfferVersion, Procedure, ProcedureRevision, Unit
from domain.db import Base

metadata = Base.metadata

__all__ = ["Field", "OfferVersion", "Offering", "Procedure", "ProcedureRevision", "Unit", "metadata"]
