"""The forms of Circular 03/2025 as both skins serve them: the view of an issued form with the QR of the public
lookup, and its PDF, stored on the first download and given to the applicant's wallet then (ADR 0016)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Request, Response
from sqlalchemy.orm import Session

from api.web.state import settings_of, storage_of
from domain.documents.storage import key_for
from domain.documents.stored import StoredFile
from domain.dossiers.filing import check_value
from domain.dossiers.models import Dossier
from domain.forms import access
from domain.forms.models import IssuedForm
from domain.forms.render import FormView, pdf_of, view_of

PDF = "application/pdf"
NO_STORE = {"Cache-Control": "private, no-store"}  # a person's dossier: never kept by any cache
Loader = Callable[[Session], tuple[Dossier, IssuedForm]]


def lookup_url(request: Request[Any, Any, Any], code: str | None) -> str:
    """The public lookup of the dossier with its check value (the QR printed on the form)."""
    if not code:
        return ""
    settings = settings_of(request)
    check = check_value(settings.web.secret_key, code)
    return f"{settings.public_url}/tra-cuu?{urlencode({'ma': code, 'kiem-tra': check})}"


async def load_view(request: Request[Any, Any, Any], load: Loader) -> tuple[FormView, IssuedForm]:
    """The issued form ``load`` finds for the caller (404 for anybody else), as its view."""
    def run(s: Session) -> tuple[FormView, IssuedForm]:
        d, row = load(s)
        return view_of(s, row, lookup_url=lookup_url(request, d.code)), row

    result: tuple[FormView, IssuedForm] = await request.app.state.db.read(run)
    return result


async def pdf_response(request: Request[Any, Any, Any], load: Loader) -> Response[bytes]:
    """The form's PDF: the stored one, or rendered now (off the event loop) and then stored with the form and
    put in the applicant's wallet (the control sheet is drawn each time: it follows the dossier)."""
    view, row = await load_view(request, load)
    storage = storage_of(request)
    if row.storage_key is not None and access.is_stored(row):
        pdf = await asyncio.to_thread(lambda: b"".join(storage.iter_chunks(row.storage_key or "")))
    else:
        pdf = await asyncio.to_thread(pdf_of, view)
        if access.is_stored(row):
            digest = hashlib.sha256(pdf).hexdigest()
            await asyncio.to_thread(storage.put, key_for(digest), pdf, PDF)
            stored = StoredFile(storage_key=key_for(digest), sha256=digest, content_type=PDF, size=len(pdf),
                                display_name=f"Mẫu số {view.form} {view.number.removeprefix('Số: ')} {view.code}.pdf"
                                [:160], pages=None)
            await request.app.state.db.write(access.record_pdf, row.id, stored)
    return Response(pdf, media_type=PDF, headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(view.file_name)}", "X-Content-Type-Options": "nosniff",
        **NO_STORE})
