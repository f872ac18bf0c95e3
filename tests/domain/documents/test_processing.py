"""Uploads: sniffing, the image and PDF checks, bad input, streaming to disk and multipart parsing.

Every file is made here (Pillow, pypdf or by hand): no binary fixtures.
"""

from __future__ import annotations

import io
import random
import struct
import time
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pillow_heif
import pytest
from litestar import Litestar, Request, post
from litestar.datastructures import UploadFile
from litestar.testing import TestClient
from PIL import Image, ImageCms, ImageDraw, ImageOps
from PIL.PngImagePlugin import PngInfo
from pypdf import PdfWriter
from pypdf.actions import JavaScript

from api.web.errors import error_handlers
from domain.documents import processing
from domain.documents.processing import (
    ProcessedFile,
    UploadRejected,
    client_hint_mismatch,
    process_upload,
    safe_display_name,
    sniff,
)
from domain.documents.streaming import (
    boundary_from_content_type,
    parse_multipart_stream,
    save_upload_file,
    stream_to_file,
)
from domain.errors import InvalidInput
from tests.domain.documents.pdfs import make_pdf, make_pdf_objstm

MiB = 1024 * 1024


# --- builders -----------------------------------------------------------------------------------


def noisy(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """A picture JPEG cannot squeeze to nothing, with a red top-left corner to follow rotations."""
    rnd = random.Random(seed)
    img = Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))
    img.paste((255, 0, 0), (0, 0, max(2, size[0] // 6), max(2, size[1] // 6)))
    return img


def exif_gps(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x0110] = "Model X"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 51.0, 12.0)})
    return exif


def encode(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A valid-looking PNG whose header claims width×height (1-bit grey) with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 65536, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def pypdf_bytes(pages: int = 2, setup: Callable[[Any], None] | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if setup:
        setup(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def listdir(path: Path) -> list[Path]:
    return sorted(path.iterdir())


def px(img: Image.Image, xy: tuple[int, int]) -> tuple[int, ...]:
    value = img.getpixel(xy)
    assert isinstance(value, tuple)
    return value


def rejected(path: Path, reason: str, **kw: Any) -> UploadRejected:
    before = set(path.parent.iterdir())
    with pytest.raises(UploadRejected) as info:
        process_upload(path, **kw)
    assert info.value.reason == reason, info.value.reason
    assert set(path.parent.iterdir()) == before, "a rejected upload must leave nothing behind"
    return info.value


def accepted(path: Path, **kw: Any) -> ProcessedFile:
    result = process_upload(path, **kw)
    assert result.path.exists() and result.size == result.path.stat().st_size
    assert result.key == f"{result.sha256[:2]}/{result.sha256}"
    return result


def reopen(result: ProcessedFile) -> Image.Image:
    img = Image.open(result.path)
    img.load()
    return img


# --- sniffing and names -------------------------------------------------------------------------


@pytest.mark.parametrize(("head", "kind"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "image/heic"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "image/heic"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),  # AVIF: not ours
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1avif", None),
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # an MP4 video
    (b"%PDF-1.7\n", "application/pdf"),
    (b"  %PDF-1.7\n", None),
    (b"GIF89a\x01\x00", None),
    (b"PK\x03\x04", None),
    (b"<html><body>", None),
    (b"", None),
])
def test_sniff_by_magic_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_client_hints_only_warn() -> None:
    assert client_hint_mismatch("scan.jpg", "image/jpeg", "application/pdf")
    assert client_hint_mismatch("a", "text/plain", "image/png")
    assert not client_hint_mismatch("IMG_0001.HEIC", "image/heif", "image/heic")
    assert not client_hint_mismatch("x.jpeg", "image/jpg", "image/jpeg")
    assert not client_hint_mismatch(None, "application/octet-stream", "image/png")


@pytest.mark.parametrize(("raw", "shown"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
    ("/var/www/../x.jpg", "x.jpg"),
    ("C:\\Users\\An\\Ảnh CCCD mặt trước.jpg", "Ảnh CCCD mặt trước.jpg"),
    ("Giấy khai sinh.pdf", "Giấy khai sinh.pdf"),
    ("Gia\u0302\u0301y to\u031b\u0300.pdf", "Giấy tờ.pdf"),  # decomposed → NFC
    ("a\x00b\x1fc\u202egpj.exe", "abcgpj.exe"),  # NUL, control and bidi override dropped
    ('<script>"x"|?*.png', "scriptx.png"),
    ("..", "tệp"),
    ("", "tệp"),
    ("   .hidden  ", "hidden"),
    ("a\tb\n  c.jpg", "a b c.jpg"),
])
def test_safe_display_name(raw: str, shown: str) -> None:
    assert safe_display_name(raw) == shown


def test_safe_display_name_is_bounded_and_keeps_extension() -> None:
    name = safe_display_name("đ" * 500 + ".jpeg")
    assert len(name) == 120 and name.endswith(".jpeg") and name.startswith("đđđ")
    assert len(safe_display_name("x" * 500)) == 120


def test_rejection_is_invalid_input_with_vietnamese_message() -> None:
    exc = UploadRejected("unsupported_type")
    assert isinstance(exc, InvalidInput) and exc.status == 415
    assert exc.detail == "Chỉ nhận ảnh (JPEG, PNG, WebP, HEIC) hoặc PDF."
    big = processing.too_large(20 * MiB)
    assert big.status == 413 and big.reason == "too_large" and big.detail == "Tệp quá lớn (tối đa 20 MB)."
    assert UploadRejected("corrupt_image").status == 400


# --- images -------------------------------------------------------------------------------------


def test_jpeg_exif_gps_stripped_and_orientation_applied(tmp_path: Path) -> None:
    src = noisy((120, 80))
    data = encode(src, "JPEG", quality=90, exif=exif_gps(6), comment=b"secret comment")
    assert dict(Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825))  # the input has GPS
    result = accepted(write(tmp_path, "IMG_0001.jpg", data))
    assert result.content_type == "image/jpeg" and result.extension == ".jpg"
    assert (result.width, result.height) == (80, 120)  # rotated: width and height swapped
    out = reopen(result)
    assert out.format == "JPEG" and out.size == (80, 120)
    assert not out.getexif() and "exif" not in out.info and "comment" not in out.info
    raw = result.path.read_bytes()
    for marker in (b"Exif", b"PhoneMaker", b"Model X", b"secret", b"http://ns.adobe.com/xap"):
        assert marker not in raw
    # orientation 6 = rotate 90° clockwise to display: the red top-left corner goes top-right
    r, g, b = px(out, (out.width - 3, 2))
    assert r > 180 and g < 90 and b < 90
    assert result.path.parent == tmp_path and result.path.name != "IMG_0001.jpg"


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 7, 8])
def test_every_orientation(tmp_path: Path, orientation: int) -> None:
    data = encode(noisy((60, 40)), "JPEG", quality=95, exif=exif_gps(orientation))
    out = reopen(accepted(write(tmp_path, "o.jpg", data)))
    expected = (40, 60) if orientation in (5, 6, 7, 8) else (60, 40)
    assert out.size == expected
    reference = Image.open(io.BytesIO(data))
    want = ImageOps.exif_transpose(reference).convert("RGB")
    corner = [(0, 0), (want.width - 1, 0), (0, want.height - 1), (want.width - 1, want.height - 1)]
    red = [c for c in corner if px(want, c)[0] > 180 and px(want, c)[1] < 90]
    assert red and all(px(out, c)[0] > 180 and px(out, c)[1] < 90 for c in red)


def test_png_stays_png_without_metadata(tmp_path: Path) -> None:
    meta = PngInfo()
    meta.add_text("Comment", "GPS 21.0285,105.8542")
    meta.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret</x:xmpmeta>")
    img = Image.new("RGBA", (50, 30), (0, 128, 255, 100))
    data = encode(img, "PNG", pnginfo=meta, exif=exif_gps(1))
    result = accepted(write(tmp_path, "screenshot.png", data))
    assert result.content_type == "image/png" and (result.width, result.height) == (50, 30)
    out = reopen(result)
    assert out.mode == "RGBA" and out.getpixel((3, 3)) == (0, 128, 255, 100)
    raw = result.path.read_bytes()
    assert b"GPS" not in raw and b"secret" not in raw and b"eXIf" not in raw and b"tEXt" not in raw


def test_palette_png_keeps_transparency(tmp_path: Path) -> None:
    img = Image.new("P", (20, 20), 1)
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    img.paste(0, (0, 0, 5, 5))
    data = encode(img, "PNG", transparency=0)
    out = reopen(accepted(write(tmp_path, "p.png", data)))
    assert out.mode == "P" and out.info.get("transparency") == 0
    assert px(out.convert("RGBA"), (1, 1))[3] == 0 and px(out.convert("RGBA"), (10, 10))[3] == 255


def test_sixteen_bit_png(tmp_path: Path) -> None:
    img = Image.new("I;16", (10, 10), 40000)
    out = reopen(accepted(write(tmp_path, "deep.png", encode(img, "PNG"))))
    value = out.getpixel((5, 5))
    assert out.mode == "L" and isinstance(value, int) and abs(value - 40000 // 256) <= 1


def test_webp_becomes_jpeg_or_png(tmp_path: Path) -> None:
    opaque = accepted(write(tmp_path, "a.webp", encode(noisy((40, 30)), "WEBP", quality=90)))
    assert opaque.content_type == "image/jpeg" and reopen(opaque).format == "JPEG"
    alpha = Image.new("RGBA", (40, 30), (10, 20, 30, 128))
    clear = accepted(write(tmp_path, "b.webp", encode(alpha, "WEBP", lossless=True)))
    assert clear.content_type == "image/png" and reopen(clear).mode == "RGBA"


def test_animated_images_are_refused(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (20, 20), c) for c in ((255, 0, 0), (0, 255, 0))]
    apng = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    err = rejected(write(tmp_path, "anim.png", apng), "animated")
    assert err.detail == "Không nhận ảnh động; hãy gửi ảnh chụp thường."
    webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    rejected(write(tmp_path, "anim.webp", webp), "animated")


def test_multi_picture_jpeg_keeps_the_first_picture(tmp_path: Path) -> None:
    first, second = noisy((60, 40), seed=1), Image.new("RGB", (60, 40), (0, 0, 255))
    data = encode(first, "MPO", save_all=True, append_images=[second], exif=exif_gps(1))
    assert Image.open(io.BytesIO(data)).format == "MPO"
    result = accepted(write(tmp_path, "mpo.jpg", data))
    out = reopen(result)
    assert result.content_type == "image/jpeg" and out.format == "JPEG" and out.size == (60, 40)
    assert px(out, (2, 2))[0] > 180 and not getattr(out, "is_animated", False)
    assert result.path.read_bytes().count(b"\xff\xd8") == 1  # the second picture is gone


def _heic_encoder() -> bool:
    try:
        import pillow_heif  # noqa: PLC0415  (optional: the test is skipped without it)
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("encoders", {}).get("x265") or pillow_heif.libheif_info().get("HEIF"))


@pytest.mark.skipif(not _heic_encoder(), reason="this libheif build cannot encode HEIC (decode-only)")
def test_heic_becomes_jpeg_without_metadata(tmp_path: Path) -> None:
    pillow_heif.register_heif_opener()
    data = encode(noisy((60, 40)), "HEIF", quality=90, exif=exif_gps(6).tobytes())
    assert sniff(data[:64]) == "image/heic"
    result = accepted(write(tmp_path, "IMG_0002.HEIC", data))
    assert result.content_type == "image/jpeg" and (result.width, result.height) == (40, 60)
    out = reopen(result)
    assert not out.getexif() and b"PhoneMaker" not in result.path.read_bytes()
    r, g, _ = px(out, (out.width - 2, 1))  # libheif applies the rotation: red corner top-right
    assert r > 150 and g < 110


def test_icc_profile_kept_when_valid_dropped_when_not(tmp_path: Path) -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    kept = reopen(accepted(write(tmp_path, "icc.jpg", encode(noisy((30, 30)), "JPEG", icc_profile=srgb))))
    assert kept.info.get("icc_profile") == srgb
    junk = b"\x00\x00\x02\x00not really an icc profile" + b"\x00" * 600
    dropped = reopen(accepted(write(tmp_path, "bad.jpg", encode(noisy((30, 30)), "JPEG", icc_profile=junk))))
    assert "icc_profile" not in dropped.info


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    data = encode(Image.new("CMYK", (20, 20), (0, 255, 255, 0)), "JPEG")
    out = reopen(accepted(write(tmp_path, "cmyk.jpg", data)))
    assert out.mode == "RGB" and px(out, (10, 10))[0] > 200


def test_big_images_are_scaled_to_max_side(tmp_path: Path) -> None:
    jpeg = encode(Image.new("RGB", (9000, 1000), (200, 100, 50)), "JPEG", quality=80)
    result = accepted(write(tmp_path, "wide.jpg", jpeg))
    assert (result.width, result.height) == (4000, 444)
    png = encode(Image.new("L", (1200, 6000), 128), "PNG")
    result = accepted(write(tmp_path, "tall.png", png))
    assert (result.width, result.height) == (800, 4000)
    small = accepted(write(tmp_path, "small.jpg", jpeg), max_side=1000)
    assert max(small.width or 0, small.height or 0) == 1000


def test_same_content_same_key(tmp_path: Path) -> None:
    data = encode(noisy((30, 20)), "JPEG", exif=exif_gps(1))
    a = accepted(write(tmp_path, "a.jpg", data))
    b = accepted(write(tmp_path, "b.jpg", data))
    assert a.key == b.key and a.path != b.path


# --- bad input ----------------------------------------------------------------------------------


def test_text_file_named_png_is_refused(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "a.png", b"hello, I am not a picture\n" * 10), "unsupported_type")
    assert err.detail == "Chỉ nhận ảnh (JPEG, PNG, WebP, HEIC) hoặc PDF." and err.status == 415


@pytest.mark.parametrize("data", [
    b"GIF89a" + b"\x00" * 100,
    b"<!DOCTYPE html><script>alert(1)</script>",
    b"PK\x03\x04" + b"\x00" * 100,
    b"\x7fELF" + b"\x00" * 100,
])
def test_other_types_are_refused(tmp_path: Path, data: bytes) -> None:
    rejected(write(tmp_path, "x.jpg", data), "unsupported_type")


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert rejected(write(tmp_path, "e.jpg", b""), "empty").detail == "Tệp rỗng, không có nội dung."


def test_oversize_file_is_refused_by_process_upload(tmp_path: Path) -> None:
    data = encode(noisy((20, 20)), "JPEG")
    err = rejected(write(tmp_path, "big.jpg", data), "too_large", max_bytes=len(data) - 1)
    assert err.status == 413 and "tối đa" in err.detail


def test_pdf_content_with_jpg_name_is_treated_as_pdf(tmp_path: Path) -> None:
    path = write(tmp_path, "scan.jpg", make_pdf(pages=2))
    result = accepted(path)
    assert result.content_type == "application/pdf" and result.pages == 2 and result.extension == ".pdf"
    assert result.path == path  # PDFs are kept byte for byte
    assert client_hint_mismatch("scan.jpg", "image/jpeg", result.content_type)


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    data = encode(noisy((200, 150)), "JPEG", quality=90)
    err = rejected(write(tmp_path, "cut.jpg", data[: len(data) * 2 // 3]), "corrupt_image")
    assert err.detail == "Ảnh bị hỏng hoặc chưa tải lên hết."


def test_truncated_png_and_webp_are_refused(tmp_path: Path) -> None:
    png = encode(noisy((200, 150)), "PNG")
    rejected(write(tmp_path, "cut.png", png[: len(png) // 2]), "corrupt_image")
    webp = encode(noisy((200, 150)), "WEBP", quality=90)
    rejected(write(tmp_path, "cut.webp", webp[: len(webp) // 2]), "corrupt_image")


def test_header_only_and_garbage_images_are_refused(tmp_path: Path) -> None:
    rejected(write(tmp_path, "h.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 50), "corrupt_image")
    rejected(write(tmp_path, "h.png", b"\x89PNG\r\n\x1a\n" + b"junk" * 20), "corrupt_image")
    rejected(write(tmp_path, "h.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64),
             "corrupt_image")


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(field)


@pytest.mark.parametrize(("width", "height"), [(50_000, 50_000), (7_000, 7_000), (1, 45_000_000)])
def test_pixel_flood_refused_fast_without_memory(tmp_path: Path, width: int, height: int) -> None:
    data = png_claiming(width, height)
    assert len(data) < 1024
    path = write(tmp_path, "flood.png", data)
    can_reset = _reset_peak_rss()
    before = _rss_kib("VmRSS") if can_reset else _rss_kib("VmHWM")
    started = time.perf_counter()
    err = rejected(path, "too_many_pixels")
    elapsed = time.perf_counter() - started
    growth_mib = (_rss_kib("VmHWM") - before) / 1024
    assert err.detail == "Ảnh quá lớn về số điểm ảnh."
    assert elapsed < 1.0
    assert growth_mib < 50, f"peak RSS grew by {growth_mib:.0f} MiB"


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF header is patched to claim width×height."""
    data = bytearray(encode(noisy((64, 48)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_jpeg_pixel_flood(tmp_path: Path) -> None:
    started = time.perf_counter()
    rejected(write(tmp_path, "a.jpg", jpeg_claiming(60_000, 60_000)), "too_many_pixels")
    assert time.perf_counter() - started < 1.0
    # 12,000×12,000 (144 MP) is decoded at 1/4 scale (3,000 px, 9 MP): the pixel count passes. The
    # scans stop early but the file ends with EOI, so libjpeg pads with grey instead of failing
    # (only a warning inside libjpeg, which Pillow does not surface): stored as a grey picture,
    # which is harmless; what matters is that time and memory stay bounded.
    path = write(tmp_path, "b.jpg", jpeg_claiming(12_000, 12_000))
    can_reset = _reset_peak_rss()
    before = _rss_kib("VmRSS") if can_reset else _rss_kib("VmHWM")
    started = time.perf_counter()
    result = process_upload(path)
    assert time.perf_counter() - started < 3.0
    assert max(result.width or 0, result.height or 0) <= 4000
    assert (_rss_kib("VmHWM") - before) / 1024 < 100


def test_big_jpeg_is_decoded_at_reduced_scale(tmp_path: Path) -> None:
    img = Image.new("RGB", (9000, 6000), (250, 250, 240))  # 54 MP: over 40 MP at full scale
    ImageDraw.Draw(img).rectangle((0, 0, 1500, 1000), fill=(255, 0, 0))
    path = write(tmp_path, "50mp.jpg", encode(img, "JPEG", quality=80, exif=exif_gps(6)))
    del img
    can_reset = _reset_peak_rss()
    before = _rss_kib("VmRSS") if can_reset else _rss_kib("VmHWM")
    result = accepted(path)
    growth_mib = (_rss_kib("VmHWM") - before) / 1024
    assert (result.width, result.height) == (2667, 4000)  # 1/2 scale (4,500 px), scaled, rotated
    out = reopen(result)
    assert px(out, (out.width - 10, 10))[0] > 200 and px(out, (out.width - 10, 10))[1] < 60
    # decoded at 1/2 scale (54 MB) + the two resize passes (~90 MB); at full scale the decode
    # alone would be 216 MB
    assert growth_mib < 180, f"peak RSS grew by {growth_mib:.0f} MiB"
    assert rejected(write(tmp_path, "p.png", png_claiming(9000, 6000)), "too_many_pixels")


def test_pixel_limit_is_configurable(tmp_path: Path) -> None:
    data = encode(noisy((100, 100)), "PNG")
    rejected(write(tmp_path, "p.png", data), "too_many_pixels", max_pixels=9_999)
    accepted(write(tmp_path, "q.png", data), max_pixels=10_000)


def test_jpeg_zip_polyglot_loses_its_payload(tmp_path: Path) -> None:
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zf.writestr("evil.html", "<script>alert(document.cookie)</script>")
    html = b"<html><script>alert(1)</script></html>"
    data = encode(noisy((64, 64)), "JPEG", comment=html) + zbuf.getvalue() + make_pdf()
    assert zipfile.is_zipfile(io.BytesIO(data))  # a real polyglot: image and ZIP at once
    result = accepted(write(tmp_path, "poly.jpg", data))
    raw = result.path.read_bytes()
    assert result.content_type == "image/jpeg" and raw.endswith(b"\xff\xd9")
    for payload in (b"PK\x03\x04", b"PK\x05\x06", b"<script", b"%PDF", b"evil"):
        assert payload not in raw
    assert not zipfile.is_zipfile(io.BytesIO(raw))


def test_pdf_behind_a_jpeg_header_is_not_a_pdf(tmp_path: Path) -> None:
    rejected(write(tmp_path, "x.pdf", b"\xff\xd8\xff\xe0" + make_pdf()), "corrupt_image")


# --- PDFs ---------------------------------------------------------------------------------------


def test_valid_pdfs_are_accepted_with_page_count(tmp_path: Path) -> None:
    assert accepted(write(tmp_path, "a.pdf", make_pdf(pages=3))).pages == 3
    assert accepted(write(tmp_path, "b.pdf", pypdf_bytes(pages=2))).pages == 2
    pil_pdf = encode(noisy((100, 140)), "PDF", resolution=72)
    result = accepted(write(tmp_path, "c.pdf", pil_pdf))
    assert result.pages == 1 and result.width is None and result.sha256 == __import__("hashlib").sha256(
        pil_pdf).hexdigest()


def test_pdf_with_junk_before_header_is_refused(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "j.pdf", b"junk\n" + make_pdf()), "invalid_pdf")
    assert err.detail == "Tệp PDF không hợp lệ."
    rejected(write(tmp_path, "h.pdf", b"<html>" + make_pdf()), "invalid_pdf")


@pytest.mark.parametrize("data", [
    make_pdf()[:-40],  # no %%EOF: truncated upload
    b"%PDF-1.7\n" + b"garbage " * 100 + b"\n%%EOF\n",
    b"%PDF-1.4\n%%EOF\n",
    make_pdf(pages=0),
])
def test_broken_pdfs_are_refused(tmp_path: Path, data: bytes) -> None:
    rejected(write(tmp_path, "b.pdf", data), "invalid_pdf")


ACTIVE = [
    b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>",
    b"/OpenAction << /S /Launch /F (cmd.exe) >>",
    b"/Names << /EmbeddedFiles << /Names [(a.exe) 3 0 R] >> >>",
    b"/AA << /O << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >> >>",  # #xx-escaped names
    b"/OpenAction << /S /ImportData /F (x.fdf) >>",
]


@pytest.mark.parametrize("extra", ACTIVE)
def test_pdf_with_active_content_is_refused(tmp_path: Path, extra: bytes) -> None:
    err = rejected(write(tmp_path, "a.pdf", make_pdf(catalog_extra=extra)), "pdf_active_content")
    assert err.detail == "PDF chứa mã chạy hoặc tệp đính kèm, không được chấp nhận."


def test_escaped_javascript_is_found_by_the_parser(tmp_path: Path) -> None:
    data = make_pdf(catalog_extra=ACTIVE[3])
    path = write(tmp_path, "e.pdf", data)
    assert not processing._raw_active(path)  # the byte scan cannot see it …
    rejected(path, "pdf_active_content")  # … the object walk does


def test_javascript_in_a_compressed_object_stream_is_found(tmp_path: Path) -> None:
    bad = write(tmp_path, "objstm.pdf", make_pdf_objstm(b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"))
    assert b"JavaScript" not in bad.read_bytes()
    rejected(bad, "pdf_active_content")
    good = write(tmp_path, "objstm-ok.pdf", make_pdf_objstm(b"<< /S /URI /URI (https://dichvucong.gov.vn) >>"))
    assert accepted(good).pages == 1


def test_pdf_javascript_and_attachments_made_by_pypdf_are_refused(tmp_path: Path) -> None:
    js = pypdf_bytes(setup=lambda w: w.add_open_action(JavaScript("app.alert('x');")))
    rejected(write(tmp_path, "js.pdf", js), "pdf_active_content")
    att = pypdf_bytes(setup=lambda w: w.add_attachment("payload.exe", b"MZ\x90\x00"))
    rejected(write(tmp_path, "att.pdf", att), "pdf_active_content")


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    data = pypdf_bytes(setup=lambda w: w.encrypt("mật khẩu", algorithm="AES-128"))
    err = rejected(write(tmp_path, "locked.pdf", data), "pdf_encrypted")
    assert "mật khẩu" in err.detail


def test_too_many_pages(tmp_path: Path) -> None:
    err = rejected(write(tmp_path, "long.pdf", make_pdf(pages=5)), "too_many_pages", max_pages=4)
    assert "tối đa 4 trang" in err.detail


# --- streaming to disk --------------------------------------------------------------------------


async def _chunks(total: int, size: int = 64 * 1024, taken: list[int] | None = None) -> AsyncIterator[bytes]:
    block = b"\xab" * size
    sent = 0
    while sent < total:
        part = block[: min(size, total - sent)]
        sent += len(part)
        if taken is not None:
            taken.append(len(part))
        yield part


async def test_stream_to_file_writes_everything(tmp_path: Path) -> None:
    path = await stream_to_file(_chunks(3 * MiB + 5), tmp_path / "in", max_bytes=20 * MiB)
    assert path.parent == tmp_path / "in" and path.stat().st_size == 3 * MiB + 5


async def test_stream_to_file_stops_at_the_limit(tmp_path: Path) -> None:
    taken: list[int] = []
    with pytest.raises(UploadRejected) as info:
        await stream_to_file(_chunks(200 * MiB, taken=taken), tmp_path, max_bytes=20 * MiB)
    assert info.value.reason == "too_large" and info.value.status == 413
    assert info.value.detail == "Tệp quá lớn (tối đa 20 MB)."
    assert listdir(tmp_path) == []  # nothing stored half-way
    assert sum(taken) <= 20 * MiB + 64 * 1024  # stopped reading right after the limit


async def test_stream_to_file_exactly_at_the_limit_and_one_over(tmp_path: Path) -> None:
    path = await stream_to_file(_chunks(20 * MiB), tmp_path, max_bytes=20 * MiB)
    assert path.stat().st_size == 20 * MiB
    path.unlink()
    with pytest.raises(UploadRejected):
        await stream_to_file(_chunks(20 * MiB + 1), tmp_path, max_bytes=20 * MiB)
    assert listdir(tmp_path) == []


async def test_stream_to_file_cleans_up_when_the_client_goes_away(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise ConnectionResetError("client disconnected")

    with pytest.raises(ConnectionResetError):
        await stream_to_file(broken(), tmp_path, max_bytes=MiB)
    assert listdir(tmp_path) == []


async def test_save_upload_file_copies_a_litestar_upload(tmp_path: Path) -> None:
    upload = UploadFile("image/jpeg", "a.jpg", file_data=b"\xff\xd8\xff" + b"1" * (3 * MiB))
    path = await save_upload_file(upload, tmp_path, max_bytes=4 * MiB)
    assert path.stat().st_size == 3 * MiB + 3
    await upload.seek(0)
    with pytest.raises(UploadRejected):
        await save_upload_file(upload, tmp_path, max_bytes=MiB)
    assert listdir(tmp_path) == [path]


# --- multipart ----------------------------------------------------------------------------------

BOUNDARY = "----motcua-test-boundary-7d1a"


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = BOUNDARY) -> bytes:
    out = b""
    for name, filename, content in parts:
        out += f"--{boundary}\r\n".encode()
        if filename is None:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        else:
            out += (f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                    "Content-Type: image/jpeg\r\n\r\n").encode()
        out += content + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


async def _split(data: bytes, size: int = 7919) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
    yield b""  # Litestar's request.stream() ends with an empty chunk


async def test_multipart_stream_fields_and_files(tmp_path: Path) -> None:
    body = multipart([
        ("slot", None, "Căn cước công dân".encode()),
        ("page", "../../Ảnh trang 1.jpg", b"\xff\xd8\xff" + b"a" * 300_000),
        ("page", "trang2.jpg", b"\xff\xd8\xff" + b"b" * 1000),
        ("empty", "", b""),  # a file input left empty by the browser
    ])
    form = await parse_multipart_stream(_split(body), BOUNDARY.encode(), tmp_path)
    assert form.get("slot") == "Căn cước công dân" and form.get("missing") is None
    pages = form.files_of("page")
    assert [p.filename for p in pages] == ["Ảnh trang 1.jpg", "trang2.jpg"]
    assert [p.size for p in pages] == [300_003, 1003]
    assert pages[0].path.read_bytes() == b"\xff\xd8\xff" + b"a" * 300_000
    assert all(p.path.parent == tmp_path for p in pages) and form.files_of("empty") == []
    assert len(listdir(tmp_path)) == 2
    form.cleanup()
    assert listdir(tmp_path) == []


@pytest.mark.parametrize(("body", "kw", "reason"), [
    (multipart([("a", "1.jpg", b"x" * 100), ("b", "2.jpg", b"y" * 5000)]), {"max_file_bytes": 4096}, "too_large"),
    (multipart([(f"f{i}", f"{i}.jpg", b"x") for i in range(4)]), {"max_files": 3}, "too_many_parts"),
    (multipart([(f"t{i}", None, b"x") for i in range(6)]), {"max_fields": 5}, "too_many_parts"),
    (multipart([("a", "1.jpg", b"x" * 100), ("t", None, b"z" * 70_000)]), {}, "field_too_long"),
    (multipart([("a", "1.jpg", b"x" * 100_000)])[:60_000], {}, "bad_form"),  # cut short
    (b"this is not multipart at all", {}, "bad_form"),
])
async def test_multipart_stream_refusals_leave_nothing(tmp_path: Path, body: bytes, kw: dict[str, int],
                                                       reason: str) -> None:
    with pytest.raises(UploadRejected) as info:
        await parse_multipart_stream(_split(body), BOUNDARY, tmp_path, **kw)
    assert info.value.reason == reason
    assert listdir(tmp_path) == []


def test_boundary_from_content_type() -> None:
    assert boundary_from_content_type(f'multipart/form-data; boundary="{BOUNDARY}"') == BOUNDARY.encode()
    assert boundary_from_content_type(f"multipart/form-data; charset=utf-8; boundary={BOUNDARY}") == \
        BOUNDARY.encode()
    for bad in (None, "", "application/json", "multipart/form-data", "multipart/form-data; boundary="):
        with pytest.raises(UploadRejected):
            boundary_from_content_type(bad)


# --- through a real Litestar route (the way the skins will use it) -----------------------------


@pytest.fixture
def upload_app(tmp_path: Path) -> Iterator[Any]:
    @post("/api/upload", request_max_body_size=21 * MiB)
    async def upload(request: Request[Any, Any, Any]) -> dict[str, Any]:
        boundary = boundary_from_content_type(request.headers.get("content-type"))
        form = await parse_multipart_stream(request.stream(), boundary, tmp_path / "in")
        try:
            results = [process_upload(f.path) for f in form.files]
            for r in results:
                if r.path.parent == tmp_path / "in" and r.path.exists() and r.content_type != "application/pdf":
                    r.path.unlink()
            return {"files": [{"type": r.content_type, "pages": r.pages, "width": r.width} for r in results]}
        finally:
            form.cleanup()

    app = Litestar([upload], exception_handlers=error_handlers(), request_max_body_size=1024 * 1024)
    with TestClient(app) as client:
        yield client


def test_route_accepts_a_photo_and_a_pdf(upload_app: Any, tmp_path: Path) -> None:
    photo = encode(noisy((300, 200)), "JPEG", exif=exif_gps(6))
    files = [("page", ("IMG.jpg", photo, "image/jpeg")), ("page", ("scan.pdf", make_pdf(2), "application/pdf"))]
    res = upload_app.post("/api/upload", files=files)
    assert res.status_code == 201, res.text
    assert res.json()["files"] == [{"type": "image/jpeg", "pages": None, "width": 200},
                                   {"type": "application/pdf", "pages": 2, "width": None}]
    assert listdir(tmp_path / "in") == []


def test_route_refusals_are_problem_details(upload_app: Any, tmp_path: Path) -> None:
    res = upload_app.post("/api/upload", files=[("page", ("a.png", b"not an image", "image/png"))])
    assert res.status_code == 415 and res.headers["content-type"].startswith("application/problem+json")
    assert res.json()["detail"] == "Chỉ nhận ảnh (JPEG, PNG, WebP, HEIC) hoặc PDF."
    res = upload_app.post("/api/upload", files=[("page", ("flood.png", png_claiming(50_000, 50_000), "image/png"))])
    assert res.status_code == 400 and res.json()["detail"] == "Ảnh quá lớn về số điểm ảnh."
    res = upload_app.post(
        "/api/upload", files=[("page", ("big.jpg", b"\xff\xd8\xff" + b"0" * (20 * MiB), "image/jpeg"))]
    )
    assert res.status_code == 413 and res.json()["detail"] == "Tệp quá lớn (tối đa 20 MB)."
    assert listdir(tmp_path / "in") == []


def test_route_body_limit_still_applies(upload_app: Any) -> None:
    files = [("a", ("1.jpg", b"1" * (11 * MiB), "image/jpeg")), ("b", ("2.jpg", b"2" * (11 * MiB), "image/jpeg"))]
    assert upload_app.post("/api/upload", files=files).status_code == 413
