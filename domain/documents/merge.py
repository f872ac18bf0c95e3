"""The pages of one document slot made ONE PDF: scanned photos become A4 pages, PDFs are concatenated.

Used when an officer receives a dossier at the counter (issue 14): the pages scanned for a slot are
filed as one document. It reads and writes files only, so it runs OUTSIDE any database transaction
(docs/adr/0008): merge first, then open the transaction that files the result.

* **Images** (JPEG, PNG, WebP as stored by the upload pipeline, already re-encoded and stripped): a JPEG
  is embedded as it is (its DCT data copied into the PDF, no second lossy encoding); PNG pixels are
  embedded losslessly (Flate), transparency flattened onto white; WebP (and anything else Pillow reads) is
  decoded and embedded as JPEG. Each image gets an A4 page turned like the image (portrait when it is
  taller than wide), the image fitted inside and centred, aspect kept.
* **PDFs** (checked by the upload pipeline) have their pages appended as they are.
* **No metadata travels**: no document information dictionary, no XMP (document or page), no piece info,
  a file ID derived from the content (the same pages give the same bytes, so the same storage key).
* **Nothing half-written**: everything is read and built in memory first; the one ``storage.put`` under the
  content key of the result (``sha256[:2]/sha256``) comes last, and a store writes atomically.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from collections.abc import Sequence
from typing import Any

from domain.documents.processing import JPEG_QUALITY, PDF_TYPE, sniff
from domain.documents.storage import Storage, check_key, key_for
from domain.documents.stored import StoredFile
from domain.errors import InvalidInput, NotFound

A4 = (595.2756, 841.8898)  # pt (210 × 297 mm)
MAX_PAGES = 200  # pages in the merged PDF
MAX_INPUT_BYTES = 200 * 1024 * 1024  # all inputs together, held in memory while merging
_METADATA_KEYS = ("/Metadata", "/PieceInfo", "/LastModified")


MergedFile = StoredFile  # the merged PDF as stored: filed like any upload


def merge_pages(storage: Storage, keys: Sequence[str], *, display_name: str = "giấy tờ.pdf",
                max_pages: int = MAX_PAGES, max_input_bytes: int = MAX_INPUT_BYTES,
                jpeg_quality: int = JPEG_QUALITY) -> MergedFile:
    """One PDF from the stored files under ``keys``, in that order, written to ``storage``.

    Raises :class:`NotFound` when a key has no stored file, :class:`InvalidInput` when there is no page,
    too many, or a file is neither an image nor a PDF; nothing is written then. Synchronous file and CPU
    work: call it from a worker thread in async code, never inside a transaction.
    """
    import pikepdf  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    if not keys:
        raise InvalidInput("Chưa có trang nào để ghép thành tệp PDF.", field="pages")
    if len(keys) > max_pages:
        raise InvalidInput(f"Một giấy tờ ghép được tối đa {max_pages} trang.", field="pages")
    contents = _read_all(storage, keys, max_input_bytes=max_input_bytes)
    pdf = pikepdf.new()
    opened: list[Any] = []  # source PDFs stay open until the merged file is saved
    try:
        for number, data in enumerate(contents, start=1):
            kind = sniff(data[:64])
            if kind == PDF_TYPE:
                src = _open_pdf(pikepdf, data, number)
                opened.append(src)
                pdf.pages.extend(src.pages)
            elif kind is not None:
                _add_image_page(pikepdf, pdf, data, number, jpeg_quality=jpeg_quality)
            else:
                raise InvalidInput(f"Trang {number} không phải ảnh hay tệp PDF.", field="pages")
            if len(pdf.pages) > max_pages:
                raise InvalidInput(f"Một giấy tờ ghép được tối đa {max_pages} trang.", field="pages")
        _strip_metadata(pdf)
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)
        pages = len(pdf.pages)
    finally:
        for src in opened:
            src.close()
        pdf.close()
    merged = out.getvalue()
    sha256 = hashlib.sha256(merged).hexdigest()
    key = key_for(sha256)
    storage.put(key, merged, PDF_TYPE)
    return MergedFile(storage_key=key, sha256=sha256, content_type=PDF_TYPE, size=len(merged),
                      display_name=display_name, pages=pages)


def _read_all(storage: Storage, keys: Sequence[str], *, max_input_bytes: int) -> list[bytes]:
    contents: list[bytes] = []
    total = 0
    for number, key in enumerate(keys, start=1):
        try:
            check_key(key)
            with storage.open(key) as fh:
                data = fh.read(max_input_bytes - total + 1)
        except ValueError:
            raise InvalidInput(f"Trang {number}: khoá lưu trữ không hợp lệ.", field="pages") from None
        except FileNotFoundError:
            raise NotFound(f"Không tìm thấy tệp của trang {number} trong kho lưu trữ; hãy quét lại trang này.",
                           field="pages") from None
        total += len(data)
        if total > max_input_bytes:
            raise InvalidInput("Các trang quá lớn để ghép thành một tệp PDF.", field="pages")
        contents.append(data)
    return contents


def _open_pdf(pikepdf: Any, data: bytes, number: int) -> Any:
    try:
        return pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, pikepdf.PasswordError):
        raise InvalidInput(f"Trang {number}: tệp PDF không hợp lệ.", field="pages") from None


def _fit(width: int, height: int) -> tuple[float, float, float, float, float, float]:
    """(page width, page height, x, y, drawn width, drawn height): A4 turned like the image, image centred."""
    page_w, page_h = A4 if height >= width else (A4[1], A4[0])
    ratio = min(page_w / width, page_h / height)
    w, h = width * ratio, height * ratio
    return page_w, page_h, (page_w - w) / 2, (page_h - h) / 2, w, h


def _add_image_page(pikepdf: Any, pdf: Any, data: bytes, number: int, *, jpeg_quality: int) -> None:
    from PIL import Image  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    try:
        with Image.open(io.BytesIO(data)) as img:
            image = _image_xobject(pikepdf, pdf, img, data, jpeg_quality=jpeg_quality)
    except InvalidInput:
        raise
    except MemoryError:
        raise
    except Exception:  # a decoder error: the file was stored by the upload pipeline, so this is rare
        raise InvalidInput(f"Trang {number}: ảnh bị hỏng.", field="pages") from None
    page_w, page_h, x, y, w, h = _fit(int(image.Width), int(image.Height))
    content = pdf.make_stream(f"q {w:.4f} 0 0 {h:.4f} {x:.4f} {y:.4f} cm /Im0 Do Q".encode())
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, round(page_w, 4), round(page_h, 4)],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)), Contents=content)
    pdf.pages.append(pikepdf.Page(page))


def _image_xobject(pikepdf: Any, pdf: Any, img: Any, data: bytes, *, jpeg_quality: int) -> Any:
    """The image as a PDF image stream: a JPEG's own bytes when it can go as is, else re-encoded."""
    orientation = img.getexif().get(0x0112, 1)
    if img.format == "JPEG" and img.mode in ("L", "RGB") and orientation in (1, None):
        return _stream(pikepdf, pdf, data, img.size, img.mode, "/DCTDecode", img.info.get("icc_profile"))
    from PIL import Image, ImageOps  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    img.load()
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA", "P") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    elif img.mode not in ("L", "RGB"):
        img = img.convert("L" if img.mode in ("1", "I", "I;16", "F") else "RGB")
    if img.format == "PNG" or img.format is None and data[:8] == b"\x89PNG\r\n\x1a\n":
        return _stream(pikepdf, pdf, zlib.compress(img.tobytes(), 6), img.size, img.mode, "/FlateDecode", None)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=jpeg_quality)
    return _stream(pikepdf, pdf, buf.getvalue(), img.size, img.mode, "/DCTDecode", None)


def _stream(pikepdf: Any, pdf: Any, data: bytes, size: tuple[int, int], mode: str, pdf_filter: str,
            icc: bytes | None) -> Any:
    components = 1 if mode == "L" else 3
    space: Any = pikepdf.Name("/DeviceGray" if components == 1 else "/DeviceRGB")
    if icc:
        profile = pdf.make_stream(icc)
        profile.N = components
        space = pikepdf.Array([pikepdf.Name.ICCBased, profile])
    stream = pdf.make_stream(data)
    stream.Type = pikepdf.Name.XObject
    stream.Subtype = pikepdf.Name.Image
    stream.Width, stream.Height = size
    stream.ColorSpace = space
    stream.BitsPerComponent = 8
    stream.Filter = pikepdf.Name(pdf_filter)
    return stream


def _strip_metadata(pdf: Any) -> None:
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    for key in ("/Metadata", "/PieceInfo", "/Outlines", "/Names", "/OpenAction", "/AA"):
        if key in pdf.Root:
            del pdf.Root[key]
    for page in pdf.pages:
        for key in _METADATA_KEYS:
            if key in page.obj:
                del page.obj[key]
