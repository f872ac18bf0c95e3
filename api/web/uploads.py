"""Receiving uploads (streamed to disk, checked, re-encoded, stored) and serving stored documents.

Before the body: the CSRF token (``api.web.csrf``, from a header or the query string) and the caller (the
handler's ``page_user`` or bearer token) are checked, then :func:`check_before_body` refuses a too large
``Content-Length`` and a spent daily quota; only then is the body streamed to scratch files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.response import Stream
from sqlalchemy.orm import Session

from api.web.session import client_ip
from api.web.state import settings_of
from auth.ratelimit import charge_upload, upload_bytes_used
from domain.audit import record
from domain.documents.processing import EXTENSIONS, MAX_BYTES, process_upload, too_large
from domain.documents.streaming import MultipartForm, boundary_from_content_type, parse_multipart_stream
from domain.dossiers.filing import StoredFile
from domain.errors import InvalidInput, TooManyRequests
from domain.settings import MB


def _display_name(client_name: str, content_type: str) -> str:
    """The client's name for the file (already made safe), with the extension of what it really is."""
    stem = client_name.rsplit(".", 1)[0] if "." in client_name else client_name
    return f"{(stem or 'tep')[:100]}{EXTENSIONS.get(content_type, '')}"


UPLOAD_MAX_BODY = 21 * 1024 * 1024  # one file of at most 20 MB and the form around it
FORM_OVERHEAD = 64 * 1024


def _quota_refused(session: Session, user_id: int, ip: str, quota: int) -> None:
    record(session, "upload.quota_exceeded", actor_id=user_id, subject=f"user:{user_id}", ip=ip, quota_bytes=quota)


async def check_before_body(request: Request[Any, Any, Any], *, user_id: int | None, max_body: int) -> None:
    """What can be refused from the headers alone, before a byte of the body is read: a ``Content-Length``
    above ``max_body`` (413) and, for an account, a daily upload quota already spent (429). The CSRF token
    (``api.web.csrf``) and the caller (``page_user``, the API's bearer token) were checked before this."""
    length = request.content_length
    if length is not None and length > max_body:
        raise too_large(max_body - FORM_OVERHEAD)
    if user_id is None:
        return
    settings = settings_of(request)
    quota = settings.uploads.daily_quota_bytes
    used, wait = await request.app.state.db.read(upload_bytes_used, user_id)
    if used >= quota or (length is not None and used + length > quota):
        await request.app.state.db.write(_quota_refused, user_id, client_ip(request), quota)
        raise TooManyRequests(f"Tài khoản đã tải lên gần hết {quota // MB} MB cho phép trong 24 giờ; tệp này vượt "
                              "quá hạn mức, vui lòng thử lại sau.", retry_after=wait or 3600)


@asynccontextmanager
async def streamed_form(request: Request[Any, Any, Any], *, max_files: int, max_fields: int, user_id: int | None,
                        max_body: int = UPLOAD_MAX_BODY,
                        max_file_bytes: int = MAX_BYTES) -> AsyncIterator[MultipartForm]:
    """A multipart body parsed as it streams in (files to scratch files: memory stays bounded),
    removed afterwards. Checked from the headers first (:func:`check_before_body`); what an account sent
    counts against its daily quota, kept or not."""
    await check_before_body(request, user_id=user_id, max_body=max_body)
    scratch = Path(settings_of(request).web.var_dir) / "uploads"
    scratch.mkdir(parents=True, exist_ok=True)
    boundary = boundary_from_content_type(request.headers.get("content-type"))
    received = 0

    async def counted() -> AsyncIterator[bytes]:
        nonlocal received
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_body:
                raise too_large(max_body - FORM_OVERHEAD)
            yield chunk

    try:
        form = await parse_multipart_stream(counted(), boundary, scratch, max_files=max_files, max_fields=max_fields,
                                            max_file_bytes=max_file_bytes)
    finally:
        if user_id is not None and received:
            await request.app.state.db.write(charge_upload, user_id, received)
    try:
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


async def receive_upload(request: Request[Any, Any, Any], *, user_id: int) -> tuple[str, StoredFile]:
    """A multipart body with fields `slot` and `file`, from the account ``user_id``."""
    async with streamed_form(request, max_files=2, max_fields=8, user_id=user_id) as form:
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


async def receive_result_upload(request: Request[Any, Any, Any], *, user_id: int) -> tuple[StoredFile, str]:
    """An officer's result document: multipart `file` (+ optional `title`), checked like any upload."""
    async with streamed_form(request, max_files=1, max_fields=4, user_id=user_id) as form:
        files = form.files_of("file")
        if not files:
            raise InvalidInput("Chưa chọn tệp kết quả.", field="file")
        title = (form.get("title") or "").strip()[:200] or "Kết quả giải quyết"
        return await store_upload(request, files[0]), title
