"""Receiving uploads (streamed to disk, checked, re-encoded, stored) and serving stored documents."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.exceptions import PermissionDeniedException
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.response import Stream

from api.web.session import cookies_of
from domain.documents.processing import EXTENSIONS, process_upload
from domain.documents.streaming import MultipartForm, boundary_from_content_type, parse_multipart_stream
from domain.dossiers.filing import StoredFile
from domain.errors import InvalidInput


def _display_name(client_name: str, content_type: str) -> str:
    """The client's name for the file (already made safe), with the extension of what it really is."""
    stem = client_name.rsplit(".", 1)[0] if "." in client_name else client_name
    return f"{(stem or 'tep')[:100]}{EXTENSIONS.get(content_type, '')}"


def _csrf_valid(token: str, secret: str) -> str | None:
    if len(token) <= CSRF_SECRET_LENGTH:
        return None
    body, mac = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    return body if hmac.compare_digest(mac, generate_csrf_hash(body, secret)) else None


def check_csrf(request: Request[Any, Any, Any], sent: str | None) -> None:
    """Upload pages are excluded from the CSRF middleware (it would read the whole body into memory);
    the same double-submit check is made here on the streamed `_csrf_token` field or header."""
    secret = request.app.state.settings.web.secret_key
    cookie = _csrf_valid(request.cookies.get(cookies_of(request).csrf, ""), secret)
    given = _csrf_valid(sent or request.headers.get("x-csrftoken") or "", secret)
    if cookie is None or given is None or not hmac.compare_digest(cookie, given):
        raise PermissionDeniedException("Biểu mẫu đã hết hạn; vui lòng tải lại trang rồi gửi lại (CSRF token "
                                        "verification failed).")


@asynccontextmanager
async def streamed_form(request: Request[Any, Any, Any], *, max_files: int, max_fields: int,
                        csrf: bool = False) -> AsyncIterator[MultipartForm]:
    """A multipart body parsed as it streams in (files to scratch files: memory stays bounded),
    removed afterwards. ``csrf=True`` (cookie-authenticated pages) checks the form's CSRF token before
    the caller stores anything."""
    scratch = Path(request.app.state.settings.web.var_dir) / "uploads"
    scratch.mkdir(parents=True, exist_ok=True)
    boundary = boundary_from_content_type(request.headers.get("content-type"))
    form = await parse_multipart_stream(request.stream(), boundary, scratch, max_files=max_files,
                                        max_fields=max_fields)
    try:
        if csrf:
            check_csrf(request, form.get("_csrf_token"))
        yield form
    finally:
        form.cleanup()


async def store_upload(request: Request[Any, Any, Any], saved: Any) -> StoredFile:
    """Check, clean (re-encode, strip metadata) and store one received file."""
    processed = await asyncio.to_thread(process_upload, saved.path)
    try:
        await asyncio.to_thread(request.app.state.storage.put, processed.key, processed.path,
                                processed.content_type)
    finally:
        if processed.path != saved.path:
            processed.path.unlink(missing_ok=True)
    return StoredFile(
        storage_key=processed.key, sha256=processed.sha256, content_type=processed.content_type,
        size=processed.size, display_name=_display_name(saved.filename, processed.content_type),
        width=processed.width, height=processed.height, pages=processed.pages,
    )


async def receive_upload(request: Request[Any, Any, Any], *, csrf: bool = False) -> tuple[str, StoredFile]:
    """A multipart body with fields `slot` and `file`."""
    async with streamed_form(request, max_files=2, max_fields=8, csrf=csrf) as form:
        slot = (form.get("slot") or "").strip()
        if not slot:
            raise InvalidInput("Chưa chọn ô giấy tờ.", field="slot")
        files = form.files_of("file")
        if not files:
            raise InvalidInput("Chưa chọn tệp để tải lên.", field="file")
        return slot, await store_upload(request, files[0])


def stream_document(request: Request[Any, Any, Any], doc: Any) -> Stream:
    """Stream a stored document; never sniffed or framed by another site."""
    storage = request.app.state.storage
    filename = quote(doc.display_name)
    return Stream(
        storage.iter_chunks(doc.storage_key),
        media_type=doc.content_type.split(";")[0],  # Litestar adds the charset of text types
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{filename}",
            "Content-Length": str(doc.size),
            "Cache-Control": "private, no-store",  # ID scans and results: never kept by any cache
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{doc.sha256}"',
        },
    )


async def receive_result_upload(request: Request[Any, Any, Any]) -> tuple[StoredFile, str]:
    """An officer's result document: multipart `file` (+ optional `title`), checked like any upload."""
    async with streamed_form(request, max_files=1, max_fields=4) as form:
        files = form.files_of("file")
        if not files:
            raise InvalidInput("Chưa chọn tệp kết quả.", field="file")
        title = (form.get("title") or "").strip()[:200] or "Kết quả giải quyết"
        return await store_upload(request, files[0]), title
