"""Merging a slot's pages into one PDF: images as A4 pages (JPEGs embedded as they are), PDFs appended,
nothing written on error, no metadata carried over. Every file is made here (Pillow, pypdf)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
from pathlib import Path
from typing import cast

import pikepdf
import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter

from domain.documents.merge import A4, MergedFile, merge_pages
from domain.documents.storage import LocalStorage, key_for
from domain.dossiers.filing import StoredFile
from domain.errors import InvalidInput, NotFound


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "files")


def put(storage: LocalStorage, data: bytes) -> str:
    key = key_for(hashlib.sha256(data).hexdigest())
    storage.put(key, data, "application/octet-stream")
    return key


def picture(size: tuple[int, int] = (1200, 1600), *, mode: str = "RGB", text: str = "trang") -> Image.Image:
    img = Image.new(mode, size, "white" if mode != "RGBA" else (255, 255, 255, 0))
    draw = ImageDraw.Draw(img)
    for i in range(10):
        draw.line((40, 60 + i * 40, size[0] - 40, 60 + i * 40), fill="black", width=3)
    draw.text((40, 20), text, fill="black")
    return img


def encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def pdf_bytes(pages: int, *, author: str = "") -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    if author:
        writer.add_metadata({"/Author": author, "/Producer": "Scanner Pro 9"})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def stored_files(storage: LocalStorage) -> set[Path]:
    return {p for p in storage.root.rglob("*") if p.is_file()} if storage.root.exists() else set()


def read(storage: LocalStorage, merged: MergedFile) -> bytes:
    with storage.open(merged.storage_key) as fh:
        return fh.read()


def test_images_only_become_a4_pages_with_the_jpeg_embedded_as_is(storage: LocalStorage) -> None:
    portrait = encoded(picture((1200, 1600)), "JPEG", quality=85)
    landscape = encoded(picture((1600, 900)), "JPEG", quality=85)
    merged = merge_pages(storage, [put(storage, portrait), put(storage, landscape)])
    data = read(storage, merged)
    assert (merged.content_type, merged.pages, merged.size) == ("application/pdf", 2, len(data))
    assert merged.sha256 == hashlib.sha256(data).hexdigest()
    assert merged.storage_key == key_for(merged.sha256)
    reader = PdfReader(io.BytesIO(data))
    sizes = [(round(float(p.mediabox.width), 1), round(float(p.mediabox.height), 1)) for p in reader.pages]
    assert sizes == [(round(A4[0], 1), round(A4[1], 1)), (round(A4[1], 1), round(A4[0], 1))]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        images = [next(iter(pikepdf.Page(p).get_images().values())) for p in pdf.pages]
        assert [im.Filter for im in images] == [pikepdf.Name.DCTDecode] * 2
        assert images[0].read_raw_bytes() == portrait  # not re-encoded
        assert images[1].read_raw_bytes() == landscape


def test_one_page(storage: LocalStorage) -> None:
    merged = merge_pages(storage, [put(storage, encoded(picture(), "JPEG"))], display_name="CCCD.pdf")
    assert (merged.pages, merged.display_name) == (1, "CCCD.pdf")
    assert len(PdfReader(io.BytesIO(read(storage, merged))).pages) == 1


def test_pdfs_only_are_concatenated_without_their_metadata(storage: LocalStorage) -> None:
    keys = [put(storage, pdf_bytes(2, author="Nguyễn Văn An")), put(storage, pdf_bytes(3))]
    merged = merge_pages(storage, keys)
    data = read(storage, merged)
    assert merged.pages == 5
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 5
    assert reader.metadata is None or not dict(reader.metadata)
    for leak in (b"Scanner Pro", b"Author", b"Producer", b"pikepdf", b"qpdf"):
        assert leak not in data


def test_mixed_pages_keep_their_order_and_kinds(storage: LocalStorage) -> None:
    alpha = picture((800, 800), mode="RGBA")
    keys = [
        put(storage, encoded(picture(text="1"), "JPEG")),
        put(storage, pdf_bytes(2)),
        put(storage, encoded(alpha, "PNG")),
        put(storage, encoded(picture((900, 1200), mode="L"), "PNG")),
        put(storage, encoded(picture((1000, 700)), "WEBP", quality=80)),
    ]
    merged = merge_pages(storage, keys)
    assert merged.pages == 6
    with pikepdf.open(io.BytesIO(read(storage, merged))) as pdf:
        filters = []
        for page in pdf.pages:
            found = list(pikepdf.Page(page).get_images().values())
            filters.append(str(found[0].Filter) if found else "")
        assert filters == ["/DCTDecode", "", "", "/FlateDecode", "/FlateDecode", "/DCTDecode"]
        third = next(iter(pikepdf.Page(pdf.pages[3]).get_images().values()))
        flat = pikepdf.PdfImage(cast(pikepdf.Stream, third)).as_pil_image()
        assert flat.mode == "RGB" and flat.getpixel((5, 5)) == (255, 255, 255)  # transparency onto white


def test_the_same_pages_give_the_same_file(storage: LocalStorage) -> None:
    keys = [put(storage, encoded(picture(), "JPEG")), put(storage, pdf_bytes(1))]
    assert merge_pages(storage, keys).storage_key == merge_pages(storage, keys).storage_key


def test_the_result_files_as_a_stored_file(storage: LocalStorage) -> None:
    merged = merge_pages(storage, [put(storage, encoded(picture(), "JPEG"))])
    stored = StoredFile(**dataclasses.asdict(merged))
    assert (stored.storage_key, stored.pages, stored.content_type) == (merged.storage_key, 1, "application/pdf")


def test_a_missing_key_is_a_clear_error_and_nothing_is_written(storage: LocalStorage) -> None:
    good = put(storage, encoded(picture(), "JPEG"))
    missing = key_for(hashlib.sha256(b"never stored").hexdigest())
    before = stored_files(storage)
    with pytest.raises(NotFound) as e:
        merge_pages(storage, [good, missing])
    assert "trang 2" in e.value.detail
    assert stored_files(storage) == before


@pytest.mark.parametrize("bad", [b"GIF89a" + bytes(200), b"%PDF-1.7\nnot really a pdf\n%%EOF\n",
                                 b"\xff\xd8\xff\xe0" + bytes(300)])
def test_a_page_that_is_not_an_image_or_pdf_writes_nothing(storage: LocalStorage, bad: bytes) -> None:
    keys = [put(storage, encoded(picture(), "JPEG")), put(storage, bad)]
    before = stored_files(storage)
    with pytest.raises(InvalidInput) as e:
        merge_pages(storage, keys)
    assert "Trang 2" in e.value.detail
    assert stored_files(storage) == before


def test_no_pages_too_many_pages_and_a_bad_key(storage: LocalStorage) -> None:
    with pytest.raises(InvalidInput):
        merge_pages(storage, [])
    pdf = put(storage, pdf_bytes(3))
    with pytest.raises(InvalidInput) as e:
        merge_pages(storage, [pdf, pdf], max_pages=5)
    assert "tối đa 5 trang" in e.value.detail
    with pytest.raises(InvalidInput):
        merge_pages(storage, ["../../etc/passwd"])
    with pytest.raises(InvalidInput):
        merge_pages(storage, [pdf], max_input_bytes=100)
