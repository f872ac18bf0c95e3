"""What the payment use cases need from the composition root, handed in (never looked up)."""

from __future__ import annotations

from dataclasses import dataclass

from domain.documents.storage import Storage
from domain.settings import PaymentSettings, Settings


@dataclass(frozen=True)
class PaymentContext:
    """The payments section, the public address (the payer's links, the receipt's verification QR) and
    the app's one storage (the receipts' printable copies). Built once by the composition root."""

    settings: PaymentSettings
    public_url: str
    storage: Storage

    @classmethod
    def of(cls, settings: Settings, storage: Storage) -> PaymentContext:
        return cls(settings.payments, settings.public_url, storage)
