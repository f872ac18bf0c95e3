"""A file as stored, ready to be filed as a dossier's or the wallet's document
(``domain.dossiers.filing.attach``): what the upload pipeline (``domain.documents.processing``) or the
merge of scanned pages (``domain.documents.merge``) produced."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StoredFile:
    storage_key: str
    sha256: str
    content_type: str
    size: int
    display_name: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
