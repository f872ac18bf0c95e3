"""Request bodies to disk in chunks: memory stays bounded by the chunk size, whatever the upload.

Framework-free: the skins pass an async iterator of body chunks (Litestar: ``request.stream()``)
and the ``Content-Type`` header. Two ways in:

* :func:`parse_multipart_stream` — parses ``multipart/form-data`` as it arrives (with
  ``multipart.PushMultipartParser``, the sans-IO parser Litestar itself uses) and writes each
  file part straight into ``dest_dir``, refusing a file the moment it passes ``max_file_bytes``.
  Text fields are capped too. Preferred for the upload routes.
* :func:`save_upload_file` — for a handler that already took Litestar's ``UploadFile`` (Litestar
  spools each file in memory up to 1 MiB, then in an anonymous temporary file): copies it to
  ``dest_dir`` in chunks with the same size limit.

On any error every file this module created is deleted before the exception leaves: nothing is
stored half-way. Writes are plain blocking writes of ≤ 64 KiB chunks into the page cache (no
fsync here; storage does that), which costs the event loop microseconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

from multipart import MultipartSegment, ParserError, ParserLimitReached, PushMultipartParser, parse_options_header

from domain.documents.processing import MAX_BYTES, UploadRejected, safe_display_name, too_large

CHUNK = 64 * 1024
MAX_FILES = 20
MAX_FIELDS = 50
MAX_FIELD_BYTES = 64 * 1024


def _temp_file(dest_dir: Path, prefix: str) -> tuple[Path, IO[bytes]]:
    dest_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=prefix, suffix=".part")
    return Path(name), os.fdopen(fd, "wb")


async def stream_to_file(chunks: AsyncIterator[bytes], dest_dir: Path, max_bytes: int = MAX_BYTES,
                         *, field: str | None = None) -> Path:
    """Write ``chunks`` to a new temporary file in ``dest_dir`` and return its path.

    As soon as more than ``max_bytes`` have arrived the file is deleted and
    ``UploadRejected("too_large")`` raised (the rest of the body is not read). Any other error,
    a client disconnect or a cancellation also deletes the file. The caller deletes the returned
    file when done with it.
    """
    path, fh = _temp_file(dest_dir, ".upload-")
    written = 0
    try:
        with fh:
            async for chunk in chunks:
                if not chunk:
                    continue
                written += len(chunk)
                if written > max_bytes:
                    raise too_large(max_bytes, field=field)
                fh.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


class AsyncReadable(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


async def save_upload_file(upload: AsyncReadable, dest_dir: Path, max_bytes: int = MAX_BYTES,
                           *, chunk_size: int = CHUNK, field: str | None = None) -> Path:
    """Copy an uploaded file object (e.g. ``litestar.datastructures.UploadFile``) to ``dest_dir``."""

    async def chunks() -> AsyncIterator[bytes]:
        while block := await upload.read(chunk_size):
            yield block

    return await stream_to_file(chunks(), dest_dir, max_bytes, field=field)


@dataclass(frozen=True)
class SavedFile:
    """One file part of a multipart body, saved to disk. Only ``path`` and ``size`` are facts:
    ``filename`` (made safe for display) and ``content_type`` are what the client said."""

    field: str
    filename: str
    content_type: str
    path: Path
    size: int


@dataclass
class MultipartForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[SavedFile] = field(default_factory=list)

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else default

    def files_of(self, name: str) -> list[SavedFile]:
        return [f for f in self.files if f.field == name]

    def cleanup(self) -> None:
        """Delete every saved file (call in a ``finally`` once they are processed and stored)."""
        for f in self.files:
            f.path.unlink(missing_ok=True)


def boundary_from_content_type(content_type: str | None) -> bytes:
    """The multipart boundary of a ``Content-Type`` header; UploadRejected("bad_form") if none."""
    kind, options = parse_options_header(content_type or "")
    boundary = options.get("boundary", "")
    if kind != "multipart/form-data" or not boundary or len(boundary) > 200:
        raise UploadRejected("bad_form")
    return str(boundary).encode("latin-1", "replace")


@dataclass
class _FormBuilder:
    """The state of one pass over a multipart body: the part being read (a file being written to ``dest_dir``,
    or a text field's bytes) and what the form holds so far, each limit checked as the bytes come."""

    dest_dir: Path
    max_file_bytes: int
    max_files: int
    max_fields: int
    max_field_bytes: int
    form: MultipartForm = field(default_factory=MultipartForm)
    n_fields: int = 0
    segment: MultipartSegment | None = None
    out: IO[bytes] | None = None
    out_path: Path | None = None
    size: int = 0
    text: bytearray = field(default_factory=bytearray)

    def feed(self, event: MultipartSegment | bytearray | None) -> None:
        """One parser event: a part's headers, some of its bytes, or (empty) its end."""
        if isinstance(event, MultipartSegment):
            self._start(event)
        elif event:
            self._data(event)
        else:
            self._end()

    def _start(self, segment: MultipartSegment) -> None:
        self.segment, self.size = segment, 0
        if segment.filename is not None:
            if len(self.form.files) >= self.max_files:
                raise UploadRejected("too_many_parts")
            self.out_path, self.out = _temp_file(self.dest_dir, ".upload-")
        else:
            self.n_fields += 1
            if self.n_fields > self.max_fields:
                raise UploadRejected("too_many_parts")
            self.text = bytearray()

    def _data(self, data: bytearray) -> None:
        self.size += len(data)
        name = self.segment.name if self.segment else None
        if self.out is not None:
            if self.size > self.max_file_bytes:
                raise too_large(self.max_file_bytes, field=name)
            self.out.write(data)
        else:
            if self.size > self.max_field_bytes:
                raise UploadRejected("field_too_long", field=name)
            self.text.extend(data)

    def _end(self) -> None:
        segment = self.segment
        assert segment is not None
        name = segment.name or ""
        if self.out is not None and self.out_path is not None:
            self.out.close()
            path, self.out, self.out_path = self.out_path, None, None
            if segment.filename == "" and self.size == 0:  # a file input left empty
                path.unlink(missing_ok=True)
            else:
                self.form.files.append(SavedFile(
                    name, safe_display_name(segment.filename or ""),
                    segment.content_type or "application/octet-stream", path, self.size))
        else:
            value = self.text.decode(segment.charset or "utf-8", "replace")
            self.form.fields.setdefault(name, []).append(value)
        self.segment = None

    def abandon(self) -> None:
        """Close and delete the file being written and every file saved so far."""
        _abandon(self.form, self.out, self.out_path)


async def parse_multipart_stream(
    chunks: AsyncIterator[bytes],
    boundary: bytes | str,
    dest_dir: Path,
    *,
    max_file_bytes: int = MAX_BYTES,
    max_files: int = MAX_FILES,
    max_fields: int = MAX_FIELDS,
    max_field_bytes: int = MAX_FIELD_BYTES,
) -> MultipartForm:
    """Parse a ``multipart/form-data`` body as it streams in; files go to ``dest_dir``.

    Memory: one body chunk plus at most ``max_field_bytes`` per text field. Each file is refused
    (``too_large``) the moment it passes ``max_file_bytes``; more than ``max_files`` files or
    ``max_fields`` text fields → ``too_many_parts``; a longer text field → ``field_too_long``; a
    malformed or incomplete body → ``bad_form``. File inputs left empty by the browser
    (``filename=""`` and no bytes) are skipped. The whole body size is bounded by the route's
    ``request_max_body_size`` (Litestar checks it in ``request.stream()``).
    """
    builder = _FormBuilder(dest_dir, max_file_bytes=max_file_bytes, max_files=max_files, max_fields=max_fields,
                           max_field_bytes=max_field_bytes)
    try:
        with PushMultipartParser(boundary, max_header_count=8,
                                 max_segment_count=max_files + max_fields + 1) as parser:
            async for chunk in chunks:
                if not chunk:
                    continue
                for event in parser.parse(chunk):
                    builder.feed(event)
                if parser.closed:
                    break
    except ParserLimitReached:
        builder.abandon()
        raise UploadRejected("too_many_parts") from None
    except ParserError:
        builder.abandon()
        raise UploadRejected("bad_form") from None
    except BaseException:
        builder.abandon()
        raise
    return builder.form


def _abandon(form: MultipartForm, out: IO[bytes] | None, out_path: Path | None) -> None:
    if out is not None:
        out.close()
    if out_path is not None:
        out_path.unlink(missing_ok=True)
    form.cleanup()
