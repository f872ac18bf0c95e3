"""Check and clean one uploaded file: sniff by content, refuse what is bad, re-encode images.

Pure functions, no web framework. The caller streams the request body to a temporary file (see
``domain.documents.streaming``), calls :func:`process_upload` on it (in a worker thread: it is CPU
work) and stores ``result.path`` under ``result.key``.

Choices (the issue leaves them to the server):

* **Types**: JPEG, PNG, WebP, HEIC and PDF, recognised by their magic bytes only. The client's file
  name, extension and declared content type are never trusted (:func:`client_hint_mismatch` only
  tells whether to warn).
* **Images are always decoded and re-encoded**, so nothing but pixels survives: EXIF (GPS!), XMP,
  comments, maker notes, thumbnails and any payload glued to the file (polyglots) are gone.
  JPEG → JPEG (quality 85, 4:2:0); PNG → PNG (zlib level 6, palette and transparency kept);
  WebP and HEIC → JPEG, or PNG when they have an alpha channel. So every stored image is JPEG or
  PNG, which every viewer and PDF tool reads.
* **Orientation**: the EXIF (or XMP) orientation is applied to the pixels, then dropped.
* **Size**: images keep up to :data:`MAX_SIDE` (4,000) px on the long side; bigger ones are scaled
  down. Big JPEGs are decoded at 1/2, 1/4 or 1/8 scale directly by libjpeg (keeping at least
  3,000 px), which is cheap: a 40 MP JPEG takes a fraction of the time and ~55 MB instead of ~290 MB
  (timings in bench/README.md).
  The browser normally sends ≤ 2,000 px already; the server bound protects storage when JS is off.
* **Pixel flood**: the pixel count is read from the header and checked *before* any decoding
  (and Pillow's own decompression-bomb guard refuses anything over ~179 MP inside ``Image.open``),
  so a 50,000×50,000 PNG is refused without allocating it. ``max_pixels`` (40 MP) counts the pixels
  the decoder would allocate: for JPEGs after the DCT scaling above, so a 50 MP "full resolution"
  phone photo is accepted (decoded at 1/2 scale), while PNG, WebP and HEIC are limited to 40 MP.
* **Memory**: at most :data:`PROCESSING_SLOTS` images are decoded at once per process (others
  wait); the worst accepted image (a 40 MP RGBA PNG) peaks at ~450 MB while being scaled.
* **ICC profile**: kept as-is when it is a valid RGB (or grey) display profile matching the output
  (e.g. Display P3 from phones: no colour shift, no CPU); dropped otherwise (CMYK input, broken or
  oversized profiles). No colour conversion is done.
* **Animation**: animated PNG/WebP are refused (a document is a still picture); for multi-image
  containers that phones write (HEIC with depth/burst images, MPO JPEGs) the primary image is used.
* **Truncated or corrupt images** are refused: ``ImageFile.LOAD_TRUNCATED_IMAGES`` stays False and
  the image is fully loaded.
* **PDFs are stored byte for byte** after checks when nothing had to go: ``%PDF-`` at offset 0,
  ``%%EOF`` in the last 1,024 bytes, parseable by pypdf with a readable page count
  (1..:data:`MAX_PAGES`), not encrypted, and no JavaScript, launch/import actions, rich media or
  embedded files (searched in the raw bytes *and* in every parsed object, so compressed object
  streams and ``#xx``-escaped names are seen). Outgoing actions (``/URI``, ``/GoToR``, ``/GoToE``,
  ``/SubmitForm``, …), ``/AA`` triggers and XFA forms are stripped by rewriting the file with pikepdf
  (every object, object streams and name trees included), and the rewritten file is checked again.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import InvalidInput

MiB = 1024 * 1024
MAX_BYTES = 20 * MiB  # an original straight from the camera, without JS
MAX_PIXELS = 40_000_000  # decoded pixels (JPEGs counted after DCT scaling, see _jpeg_scale)
MAX_SIDE = 4_000  # px, long side of a stored image
MAX_PAGES = 200
MAX_PDF_OBJECTS = 200_000
JPEG_QUALITY = 85
# Images decoded at once in this process (2 cores here). A 40 MP RGBA PNG needs ~450 MB while it is
# decoded and scaled, so concurrent uploads queue for a slot instead of multiplying that.
PROCESSING_SLOTS = threading.BoundedSemaphore(2)
MAX_ICC_BYTES = 1 * MiB
MAX_DISPLAY_NAME = 120

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
PDF_TYPE = "application/pdf"
ACCEPTED_TYPES = (*IMAGE_TYPES, PDF_TYPE)
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}

MESSAGES = {
    "empty": "Tệp rỗng, không có nội dung.",
    "too_large": "Tệp quá lớn (tối đa 20 MB).",
    "unsupported_type": "Chỉ nhận ảnh (JPEG, PNG, WebP, HEIC) hoặc PDF.",
    "too_many_pixels": "Ảnh quá lớn về số điểm ảnh.",
    "corrupt_image": "Ảnh bị hỏng hoặc chưa tải lên hết.",
    "animated": "Không nhận ảnh động; hãy gửi ảnh chụp thường.",
    "invalid_pdf": "Tệp PDF không hợp lệ.",
    "pdf_encrypted": "PDF đang được đặt mật khẩu hoặc mã hoá; hãy gửi bản không khoá.",
    "pdf_active_content": "PDF chứa mã chạy hoặc tệp đính kèm, không được chấp nhận.",
    "too_many_pages": "PDF có quá nhiều trang (tối đa 200 trang).",
    "bad_form": "Dữ liệu gửi lên không đúng định dạng biểu mẫu; hãy thử gửi lại.",
    "too_many_parts": "Gửi quá nhiều tệp hoặc trường trong một lần.",
    "field_too_long": "Một trường của biểu mẫu quá dài.",
}
STATUS = {"too_large": 413, "unsupported_type": 415}
TITLES = {413: "Request too large", 415: "Unsupported media type"}


class UploadRejected(InvalidInput):
    """An upload refused for a reason the user can fix.

    ``reason`` is a stable machine code (a key of :data:`MESSAGES`); ``detail`` is the Vietnamese
    message for the person. ``status`` is 413 for ``too_large``, 415 for ``unsupported_type``, 400
    otherwise.
    """

    def __init__(self, reason: str, detail: str | None = None, *, field: str | None = None) -> None:
        super().__init__(detail or MESSAGES[reason], field=field)
        self.reason = reason
        self.status = STATUS.get(reason, 400)
        self.title = TITLES.get(self.status, "Invalid input")


def _mb(n: int) -> str:
    value = n / MiB
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}".replace(".", ",")


def too_large(max_bytes: int, *, field: str | None = None) -> UploadRejected:
    return UploadRejected("too_large", f"Tệp quá lớn (tối đa {_mb(max_bytes)} MB).", field=field)


@dataclass(frozen=True)
class ProcessedFile:
    """A checked (and for images, re-encoded) file ready to store.

    ``path`` is a new file next to the input for images, the input itself for PDFs (kept byte for
    byte). The caller owns both and deletes them after storing.
    """

    path: Path
    content_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    pages: int | None

    @property
    def key(self) -> str:
        """The content-addressed storage key: ``sha256[:2]/sha256``."""
        return f"{self.sha256[:2]}/{self.sha256}"

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


# --- sniffing -----------------------------------------------------------------------------------

_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
_HEIF_BRANDS = {b"mif1", b"msf1"}


def sniff(head: bytes) -> str | None:
    """The content type of a file from its first bytes (give at least 32), or None if not accepted.

    Magic bytes only: JPEG ``FF D8 FF``; PNG signature; WebP ``RIFF....WEBP``; HEIC ``ftyp`` box
    with a HEVC brand (``heic``/``heix``/…, or ``mif1``/``msf1`` listing a HEVC brand, so AVIF,
    which this server cannot decode, is not taken for HEIC); PDF ``%PDF-`` at offset 0.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and len(head) >= 12:
        box = int.from_bytes(head[:4], "big")
        major = head[8:12]
        end = min(len(head), box if 16 <= box <= 4096 else 16)
        compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
        if major in _HEVC_BRANDS or (major in _HEIF_BRANDS and compatible & _HEVC_BRANDS):
            return "image/heic"
        return None
    if head.startswith(b"%PDF-"):
        return PDF_TYPE
    return None


_CLIENT_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".png": "image/png",
    ".webp": "image/webp", ".heic": "image/heic", ".heif": "image/heic", ".pdf": PDF_TYPE,
}


def client_hint_mismatch(filename: str | None, declared_type: str | None, sniffed: str) -> bool:
    """True when the client's extension or content type names another type than the content.

    Only for a warning in the log or a hint to the user: the content always wins.
    """
    ext = os.path.splitext((filename or "").lower())[1]
    by_ext = _CLIENT_TYPES.get(ext)
    declared = (declared_type or "").split(";")[0].strip().lower().replace("image/jpg", "image/jpeg")
    declared = "image/heic" if declared == "image/heif" else declared
    if by_ext and by_ext != sniffed:
        return True
    return bool(declared) and declared != "application/octet-stream" and declared != sniffed


# --- display names ------------------------------------------------------------------------------

_UNSAFE_CHARS = re.compile(r'[<>:"|?*\\/]')


def _display_char(c: str) -> str:
    kind = unicodedata.category(c)
    if c in "\t\n\r\x0b\x0c" or kind[0] == "Z":
        return " "
    return "" if kind[0] == "C" else c  # control, format (bidi overrides), private use, unassigned


def safe_display_name(name: str, *, default: str = "tệp") -> str:
    """The client's file name made safe to *show* (never a storage path: keys are server-made).

    Keeps the last path component only (``../../etc/passwd`` → ``passwd``, ``C:\\x\\y.jpg`` →
    ``y.jpg``), NFC-normalises (Vietnamese letters stay), drops control and format characters
    (incl. bidi overrides), characters that are special in file systems and headers, leading dots
    and spaces, and keeps at most 120 characters (the extension is kept when the stem is cut).
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(_display_char(c) for c in name)
    name = _UNSAFE_CHARS.sub("", name)
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_DISPLAY_NAME:
        stem, ext = os.path.splitext(name)
        if 1 < len(ext) <= 10:
            name = stem[: MAX_DISPLAY_NAME - len(ext)].rstrip(". ") + ext
        else:
            name = name[:MAX_DISPLAY_NAME].rstrip(". ")
    return name or default


# --- the pipeline -------------------------------------------------------------------------------


def process_upload(
    path_in: Path,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    max_pages: int = MAX_PAGES,
    jpeg_quality: int = JPEG_QUALITY,
) -> ProcessedFile:
    """Check ``path_in`` by its content and return the file to store.

    Raises :class:`UploadRejected` with a reason and a Vietnamese message for anything refused, and
    then leaves no output behind (``path_in`` itself stays: the caller made it and deletes it).
    Never raises anything else for bad input (MemoryError and OS errors of our own disk aside).
    """
    size = path_in.stat().st_size
    if size == 0:
        raise UploadRejected("empty")
    if size > max_bytes:
        raise too_large(max_bytes)
    with path_in.open("rb") as fh:
        head = fh.read(1024)
    kind = sniff(head)
    if kind is None:
        if b"%PDF-" in head:  # junk (or another format's header) before the PDF header
            raise UploadRejected("invalid_pdf")
        raise UploadRejected("unsupported_type")
    if kind == PDF_TYPE:
        pages = _check_pdf(path_in, size, max_pages=max_pages)  # may rewrite the file (stripped actions)
        return ProcessedFile(path_in, PDF_TYPE, path_in.stat().st_size, sha256_of(path_in), None, None, pages)
    return _process_image(path_in, kind, max_pixels=max_pixels, max_side=max_side, jpeg_quality=jpeg_quality)


def sha256_of(path: Path) -> str:
    """The file's SHA-256 (hex), read a megabyte at a time."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            h.update(block)
    return h.hexdigest()


# --- images -------------------------------------------------------------------------------------

_PIL_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}
_HEIF_READY = False


def _pil() -> Any:
    """Pillow, with the HEIF opener registered once (pillow-heif is imported only when needed)."""
    global _HEIF_READY
    from PIL import Image, ImageFile  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    if not _HEIF_READY:
        import pillow_heif  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

        pillow_heif.register_heif_opener(thumbnails=False)
        # Our own, lower limit is checked on every image; Pillow's warning in between is noise.
        warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
        _HEIF_READY = True
    if ImageFile.LOAD_TRUNCATED_IMAGES:  # somebody switched Pillow's guard off process-wide
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False")
    return Image


def _orientation(img: Any) -> int:
    try:
        value = int(img.getexif().get(0x0112, 1))
    except Exception:  # a broken EXIF block is dropped anyway; the pixels still count
        return 1
    return value if 1 <= value <= 8 else 1


def _transpose_method(orientation: int) -> Any:
    from PIL import Image  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    t = Image.Transpose
    return {2: t.FLIP_LEFT_RIGHT, 3: t.ROTATE_180, 4: t.FLIP_TOP_BOTTOM, 5: t.TRANSPOSE,
            6: t.ROTATE_270, 7: t.TRANSVERSE, 8: t.ROTATE_90}.get(orientation)


def _usable_icc(icc: Any, mode: str) -> bytes | None:
    if not isinstance(icc, bytes) or not icc or len(icc) > MAX_ICC_BYTES:
        return None
    try:
        from PIL import ImageCms  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

        space = ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except Exception:
        return None
    wanted = "GRAY" if mode in ("L", "LA", "1") else "RGB"
    return icc if space == wanted else None


def _sixteen_to_l(img: Any) -> Any:
    return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")


def _jpeg_scale(long_side: int, max_side: int) -> int:
    """The DCT scale (1, 2, 4 or 8) to decode a JPEG at: the largest that still leaves at least
    3/4 of ``max_side`` on the long side, and only when the image is bigger than ``max_side``."""
    if long_side <= max_side:
        return 1
    for scale in (8, 4, 2):
        if long_side / scale >= max_side * 0.75:
            return scale
    return 1


def _process_image(path_in: Path, kind: str, *, max_pixels: int, max_side: int,
                   jpeg_quality: int) -> ProcessedFile:
    with PROCESSING_SLOTS:  # bounds the memory of decoding to a few images at once
        return _process_image_now(path_in, kind, max_pixels=max_pixels, max_side=max_side,
                                  jpeg_quality=jpeg_quality)


def _process_image_now(  # noqa: C901  (one step per image fix-up, in order)
    path_in: Path, kind: str, *, max_pixels: int, max_side: int, jpeg_quality: int
) -> ProcessedFile:
    Image = _pil()
    fmt = _PIL_FORMAT[kind]
    try:
        with Image.open(path_in, formats=[fmt]) as img:
            width, height = img.size
            if width < 1 or height < 1:
                raise UploadRejected("corrupt_image")
            scale = _jpeg_scale(max(width, height), max_side) if img.format in ("JPEG", "MPO") else 1
            # header only so far, nothing decoded: count the pixels the decoder would allocate
            if -(-width // scale) * -(-height // scale) > max_pixels:
                raise UploadRejected("too_many_pixels")
            if fmt in ("PNG", "WEBP") and getattr(img, "is_animated", False):
                raise UploadRejected("animated")
            orientation = _orientation(img)
            icc = img.info.get("icc_profile")
            transparency = img.info.get("transparency")
            if scale > 1:
                img.draft(None, (width // scale, height // scale))
                if img.size[0] * img.size[1] > max_pixels:
                    raise UploadRejected("too_many_pixels")
            img.load()  # full decode: truncated or corrupt data fails here
            out, out_fmt, out_icc, out_transparency = _normalise(
                img, fmt, icc, transparency, max_side=max_side)
    except UploadRejected:
        raise
    except Image.DecompressionBombError:
        raise UploadRejected("too_many_pixels") from None
    except MemoryError:
        raise
    except Exception:  # any decoder error (OSError, SyntaxError, ValueError, zlib, struct…)
        raise UploadRejected("corrupt_image") from None

    orient = _transpose_method(orientation)
    if orient is not None:
        out = out.transpose(orient)
    out.info = {}  # nothing from the original travels: no EXIF, XMP, comments, text chunks
    fd, name = tempfile.mkstemp(dir=path_in.parent, prefix=".clean-", suffix=".tmp")
    path_out = Path(name)
    try:
        with os.fdopen(fd, "wb") as fh:
            if out_fmt == "JPEG":
                out.save(fh, "JPEG", quality=jpeg_quality, optimize=False, progressive=False,
                         icc_profile=out_icc)
            else:
                extra: dict[str, Any] = {"icc_profile": out_icc} if out_icc else {}
                if out_transparency is not None:
                    extra["transparency"] = out_transparency
                out.save(fh, "PNG", compress_level=6, **extra)
        content_type = "image/jpeg" if out_fmt == "JPEG" else "image/png"
        w, h = out.size
        return ProcessedFile(path_out, content_type, path_out.stat().st_size, sha256_of(path_out), w, h, None)
    except BaseException:
        path_out.unlink(missing_ok=True)
        raise


def _normalise(img: Any, fmt: str, icc: Any, transparency: Any, *,
               max_side: int) -> tuple[Any, str, bytes | None, Any]:
    """Mode and size for the output: (image, "JPEG"|"PNG", icc profile, PNG transparency)."""
    from PIL import Image  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    mode = img.mode
    alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or transparency is not None
    out_fmt = "JPEG" if fmt == "JPEG" else "PNG" if fmt == "PNG" else ("PNG" if alpha else "JPEG")
    resize = max(img.size) > max_side

    if out_fmt == "JPEG":
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            img = _sixteen_to_l(img)
        elif mode not in ("RGB", "L"):
            if mode == "CMYK":
                icc = None  # a CMYK profile does not describe the converted pixels
            img = img.convert("L" if mode in ("1", "LA", "La") else "RGB")
        transparency = None
    else:
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            img, transparency = _sixteen_to_l(img), None
        elif mode == "P" and transparency is not None and resize:
            img, transparency = img.convert("RGBA"), None
        elif mode == "P" and resize:
            img = img.convert("RGB")
        elif mode in ("L", "RGB") and transparency is not None:
            img, transparency = img.convert("LA" if mode == "L" else "RGBA"), None
        elif mode == "1" and resize:
            img = img.convert("L")
        elif mode not in ("1", "L", "LA", "RGB", "RGBA", "P"):
            img, transparency = img.convert("RGBA"), None

    if resize:
        w, h = img.size
        ratio = max_side / max(w, h)
        size = (max(1, round(w * ratio)), max(1, round(h * ratio)))
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    return img, out_fmt, _usable_icc(icc, img.mode), transparency


# --- PDFs ---------------------------------------------------------------------------------------

# Long names only: a 3-byte name like /JS would match random bytes inside big compressed streams.
_ACTIVE_RAW = re.compile(rb"/(?:JavaScript|Launch|EmbeddedFiles?|RichMedia|ImportData)(?![A-Za-z0-9])")
_ACTIVE_KEYS = {"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/EF", "/RichMedia",
                "/RichMediaContent"}
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/RichMediaExecute", "/GoToE", "/Rendition"}
# Outgoing actions (a link out, a remote or embedded document, a form sent somewhere) and the trigger
# dictionaries (/AA) and XFA forms are stripped by rewriting the file; the check afterwards refuses
# any that are left, together with the active content above.
_OUTGOING_ACTIONS = {"/URI", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData", "/Launch", "/Thread",
                     "/Sound", "/Movie", "/Rendition", "/RichMediaExecute", "/Hide", "/ResetForm"}
_STRIPPED_KEYS = {"/AA", "/XFA"}
_ACTION_KEYS = ("/A", "/OpenAction", "/Next", "/PA")
_LEFT_AFTER_STRIP = _ACTIVE_KEYS | _STRIPPED_KEYS
_ACTIONS_AFTER_STRIP = _ACTIVE_ACTIONS | _OUTGOING_ACTIONS
_SCAN_BLOCK = 1024 * 1024


def _raw_active(path: Path) -> bool:
    with path.open("rb") as fh:
        tail = b""
        while block := fh.read(_SCAN_BLOCK):
            data = tail + block
            if _ACTIVE_RAW.search(data):
                return True
            tail = data[-32:]
    return False


def _check_pdf(path: Path, size: int, *, max_pages: int) -> int:
    with path.open("rb") as fh:
        fh.seek(max(0, size - 1024))
        if b"%%EOF" not in fh.read():
            raise UploadRejected("invalid_pdf")
    if _raw_active(path):
        raise UploadRejected("pdf_active_content")
    try:
        from pypdf import PdfReader  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

        with path.open("rb") as fh:
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted:
                raise UploadRejected("pdf_encrypted")
            if _parsed_active(reader):
                raise UploadRejected("pdf_active_content")
        if _strip_outgoing(path):  # rewritten: check the result as it will be stored
            with path.open("rb") as fh:
                reader = PdfReader(fh, strict=False)
                if _parsed_active(reader, keys=_LEFT_AFTER_STRIP, actions=_ACTIONS_AFTER_STRIP):
                    raise UploadRejected("pdf_active_content")
        with path.open("rb") as fh:
            pages = len(PdfReader(fh, strict=False).pages)
    except UploadRejected:
        raise
    except MemoryError:
        raise
    except Exception:  # pypdf's PdfReadError and whatever a broken file provokes
        raise UploadRejected("invalid_pdf") from None
    if pages < 1:
        raise UploadRejected("invalid_pdf")
    if pages > max_pages:
        raise UploadRejected("too_many_pages", f"PDF có quá nhiều trang (tối đa {max_pages} trang).")
    return pages


def _strip_outgoing(path: Path) -> bool:  # noqa: C901  (one branch per PDF object that can carry an action)
    """Remove outgoing actions, /AA triggers and XFA from every object (object streams and name trees
    included: qpdf lists every object), rewriting ``path`` in place. Returns whether anything went;
    an untouched file keeps its bytes (and so any signature on it)."""
    import pikepdf  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    changed = False
    with pikepdf.open(path) as pdf:
        if len(pdf.objects) > MAX_PDF_OBJECTS:
            raise UploadRejected("invalid_pdf")
        stack: list[Any] = [pdf.trailer, *pdf.objects]
        seen: set[tuple[int, int]] = set()
        while stack:
            obj = stack.pop()
            if isinstance(obj, pikepdf.Array):
                stack.extend(v for v in obj if _direct_container(v))
                continue
            if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                continue
            if obj.is_indirect:
                if obj.objgen in seen:
                    continue
                seen.add(obj.objgen)
            for key in list(obj.keys()):
                value = obj.get(key)
                if key in _STRIPPED_KEYS or (key in _ACTION_KEYS and _outgoing(value)):
                    del obj[key]
                    changed = True
                elif isinstance(value, pikepdf.Array) and key == "/Next":
                    kept = [v for v in value if not _outgoing(v)]
                    if len(kept) != len(value):
                        obj[key] = pikepdf.Array(kept)
                        changed = True
                elif _direct_container(value):
                    stack.append(value)
        if changed:
            tmp = path.with_name(path.name + ".clean")
            try:
                pdf.save(tmp)
            except Exception:
                tmp.unlink(missing_ok=True)
                raise
    if changed:
        os.replace(tmp, path)
    return changed


def _direct_container(value: Any) -> bool:
    import pikepdf  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    return isinstance(value, (pikepdf.Array, pikepdf.Dictionary)) and not value.is_indirect


def _outgoing(value: Any) -> bool:
    """An action dictionary (or a chain of them) whose type reaches outside the document."""
    import pikepdf  # noqa: PLC0415  (imaging/PDF libraries load only when a file is processed)

    if isinstance(value, pikepdf.Array):
        return any(_outgoing(v) for v in value)
    if not isinstance(value, pikepdf.Dictionary):
        return False
    kind = value.get("/S")
    return kind is not None and str(kind) in _OUTGOING_ACTIONS


def _parsed_active(reader: Any, *, keys: set[str] = _ACTIVE_KEYS, actions: set[str] = _ACTIVE_ACTIONS) -> bool:
    """Walk every indirect object (and the trailer) for active content; indirect refs are not
    followed (each is visited as an object of its own), so cycles cannot loop."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject  # noqa: PLC0415  (heavy, only when needed)

    refs = [IndirectObject(idnum, gen, reader) for gen, entries in reader.xref.items() for idnum in entries]
    refs += [IndirectObject(idnum, 0, reader) for idnum in reader.xref_objStm]
    if len(refs) > MAX_PDF_OBJECTS:
        raise UploadRejected("invalid_pdf")
    roots: list[Any] = [reader.trailer]
    for ref in refs:
        roots.append(reader.get_object(ref))
    for root in roots:
        stack = [root]
        while stack:
            obj = stack.pop()
            if isinstance(obj, DictionaryObject):  # stream objects are dictionaries too
                for key, value in dict.items(obj):
                    if key in keys or (key == "/S" and isinstance(value, str) and value in actions):
                        return True
                    if not isinstance(value, IndirectObject):
                        stack.append(value)
            elif isinstance(obj, ArrayObject):
                stack.extend(v for v in obj if not isinstance(v, IndirectObject))
    return False
