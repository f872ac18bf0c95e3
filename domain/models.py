"""Every table of the application, imported once so Alembic and tests see the whole schema."""

from domain.accounts.models import (
    AuthSession,
    Invitation,
    Membership,
    OfficerRole,
    OneTimeCode,
    Organisation,
    Passkey,
    RateCounter,
    RefreshToken,
    User,
    WebAuthnChallenge,
)
from domain.audit import AuditEvent
from domain.calendar.store import CalendarOverride
from domain.catalog.models import Field, Offering, OfferVersion, Procedure, ProcedureRevision, Unit
from domain.db import Base
from domain.dossiers.models import (
    Apology,
    Decision,
    Dossier,
    DossierCounter,
    DossierDocument,
    DossierHistory,
    DossierPause,
    DossierResult,
    FormRevision,
    Handoff,
    IdempotencyKey,
    WalletDocument,
)
from domain.outbox.models import (
    Attempt,
    Delivery,
    Notification,
    NotificationProfile,
    Preference,
    PushSubscription,
)
from domain.payments.models import FeeAssessment, Payment, PaymentEvent, Receipt, ReceiptCounter, Refund
from domain.stats.models import (
    Rating,
    StatsDaily,
    StatsDailyDuration,
    StatsFact,
    StatsMonthly,
    StatsMonthlyDuration,
)

metadata = Base.metadata

__all__ = [
    "AuditEvent", "AuthSession", "CalendarOverride", "Field", "Invitation", "Membership", "OfferVersion", "OfficerRole", "Offering",
    "OneTimeCode", "Organisation", "Passkey", "Procedure", "ProcedureRevision", "RateCounter", "RefreshToken",
    "Unit", "User", "WebAuthnChallenge", "metadata", "Dossier", "DossierCounter", "DossierDocument",
    "DossierHistory", "FormRevision", "IdempotencyKey", "WalletDocument", "Apology", "Decision", "DossierPause", "DossierResult",
    "Handoff", "FeeAssessment", "Payment", "PaymentEvent", "Receipt", "ReceiptCounter", "Refund",
    "Attempt", "Delivery", "Notification", "NotificationProfile", "Preference", "PushSubscription",
    "Rating", "StatsDaily", "StatsDailyDuration", "StatsFact", "StatsMonthly", "StatsMonthlyDuration",
]
