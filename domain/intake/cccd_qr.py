"""The QR code printed on a chip CCCD card (căn cước công dân gắn chip): parse its text, find it in a photo.

The card's QR holds one line of UTF-8 text, seven fields separated by ``|``::

    CCCD (12 digits)|old ID number (9 digits, or empty)|full name|birth date ddmmyyyy|sex (Nam/Nữ)|
    address|issue date ddmmyyyy

:func:`parse` is strict: anything else (another QR, a field missing or added, a CCCD that is not 12 digits,
a date that does not exist, an unknown sex) raises :class:`domain.errors.InvalidInput` with a Vietnamese
message, never a partial result. :func:`decode_image` opens a photo from the tablet's camera with Pillow
(the type sniffed from the bytes, the pixel count checked from the header before decoding, the EXIF
orientation applied), finds the QR with zxing-cpp and parses it.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from datetime import date
from typing import Any, Literal

import msgspec

from domain.documents.processing import sniff
from domain.errors import InvalidInput

NOT_CCCD = "Mã QR này không phải mã QR trên thẻ căn cước công dân gắn chip"
NOT_IMAGE = "Tệp này không phải ảnh (chỉ nhận ảnh JPEG, PNG, WebP hoặc HEIC chụp mã QR trên thẻ căn cước)."
NO_QR = ("Không tìm thấy mã QR trong ảnh; hãy chụp lại mặt trước thẻ căn cước, rõ nét, đủ sáng, "
         "mã QR nằm trọn trong ảnh.")
TOO_BIG = "Ảnh quá lớn; hãy chụp lại với độ phân giải thấp hơn."
BROKEN = "Ảnh bị hỏng hoặc chưa tải lên hết; hãy chụp lại."

MAX_PIXELS = 40_000_000  # decoded pixels (JPEGs counted after DCT scaling)
MAX_BYTES = 20 * 1024 * 1024
MAX_TEXT = 1_000  # the card's text is ~150 characters
SCAN_SIDE = 2_000  # px on the long side: a QR filling a tenth of a photo is still ~8 px a module
_CCCD = re.compile(r"\d{12}")
_OLD_ID = re.compile(r"(?:\d{9})?")
_DATE = re.compile(r"\d{8}")
_SEX = {"nam": "nam", "nữ": "nu", "nu": "nu"}
_IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}


class CccdQr(msgspec.Struct, frozen=True):
    """What the card's QR says, checked."""

    cccd: str
    old_id: str  # the 9-digit identity card number it replaced, or ""
    full_name: str
    birth_date: date
    sex: Literal["nam", "nu"]
    address: str
    issued_on: date


def _refuse(why: str) -> InvalidInput:
    return InvalidInput(f"{NOT_CCCD} ({why}).", field="cccd_qr")


def _date(value: str, what: str) -> date:
    if not _DATE.fullmatch(value):
        raise _refuse(f"{what} không đúng dạng ngày tháng năm ddmmyyyy")
    try:
        d = date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        raise _refuse(f"{what} không phải một ngày có thật") from None
    if d.year < 1900:
        raise _refuse(f"{what} không phải một ngày có thật")
    return d


def _text(value: str, what: str, *, required: bool) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise _refuse(f"thiếu {what}")
    if any(unicodedata.category(c)[0] == "C" for c in value):
        raise _refuse(f"{what} chứa ký tự không hợp lệ")
    return value


def parse(text: str) -> CccdQr:
    """The card's fields from the QR text, or :class:`InvalidInput` (nothing partial)."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise _refuse("nội dung quá dài")
    text = unicodedata.normalize("NFC", text.strip().lstrip("\ufeff"))
    fields = text.split("|")
    if len(fields) != 7:
        raise _refuse(f"cần 7 trường cách nhau bởi dấu |, mã này có {len(fields)}")
    cccd, old_id, name, birth, sex, address, issued = (f.strip() for f in fields)
    if not _CCCD.fullmatch(cccd):
        raise _refuse("số căn cước phải gồm đúng 12 chữ số")
    if not _OLD_ID.fullmatch(old_id):
        raise _refuse("số chứng minh nhân dân cũ phải gồm 9 chữ số hoặc để trống")
    full_name = _text(name, "họ và tên", required=True)
    if len(full_name) > 100 or any(c.isdigit() for c in full_name):
        raise _refuse("họ và tên không hợp lệ")
    birth_date = _date(birth, "ngày sinh")
    issued_on = _date(issued, "ngày cấp")
    if issued_on < birth_date:
        raise _refuse("ngày cấp trước ngày sinh")
    sex_code = _SEX.get(sex.casefold())
    if sex_code is None:
        raise _refuse("giới tính phải là Nam hoặc Nữ")
    return CccdQr(cccd=cccd, old_id=old_id, full_name=full_name, birth_date=birth_date,
                  sex="nam" if sex_code == "nam" else "nu", address=_text(address, "nơi thường trú", required=False),
                  issued_on=issued_on)


def _scale(long_side: int) -> int:
    """The JPEG DCT scale (1, 2, 4 or 8) that still leaves at least SCAN_SIDE px on the long side."""
    for scale in (8, 4, 2):
        if long_side // scale >= SCAN_SIDE:
            return scale
    return 1


def _open(data: bytes, *, max_pixels: int) -> Any:
    """The photo upright, at most ~SCAN_SIDE px on the long side, in grey: a PIL image."""
    from PIL import Image, ImageOps  # noqa: PLC0415  (imaging libraries load only when a photo is read)

    kind = sniff(data[:64])
    if kind not in _IMAGE_FORMATS:
        raise InvalidInput(NOT_IMAGE, field="file")
    if kind == "image/heic":
        import pillow_heif  # noqa: PLC0415  (imaging libraries load only when a photo is read)

        pillow_heif.register_heif_opener(thumbnails=False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit is below
            with Image.open(io.BytesIO(data), formats=[_IMAGE_FORMATS[kind]]) as img:
                width, height = img.size
                scale = _scale(max(width, height)) if img.format in ("JPEG", "MPO") else 1
                if width < 1 or height < 1 or -(-width // scale) * -(-height // scale) > max_pixels:
                    raise InvalidInput(TOO_BIG, field="file")
                if scale > 1:
                    img.draft("L", (width // scale, height // scale))
                img.load()
                upright = ImageOps.exif_transpose(img)
                grey = upright.convert("L")
    except InvalidInput:
        raise
    except Image.DecompressionBombError:
        raise InvalidInput(TOO_BIG, field="file") from None
    except MemoryError:
        raise
    except Exception:  # any decoder error: truncated, corrupt, not what the header says
        raise InvalidInput(BROKEN, field="file") from None
    if max(grey.size) > SCAN_SIDE * 1.5:
        grey.thumbnail((SCAN_SIDE, SCAN_SIDE))
    return grey


def decode_image(data: bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> CccdQr:
    """Find the card's QR in a photo and parse it. CPU work (~0.1–0.3 s): call it from a worker thread.

    Not an image, too big, broken, no QR found, or a QR that is not a CCCD's: :class:`InvalidInput`.
    When the photo holds several QR codes, the first one that parses as a CCCD wins.
    """
    if not data:
        raise InvalidInput(NOT_IMAGE, field="file")
    if len(data) > max_bytes:
        raise InvalidInput(TOO_BIG, field="file")
    grey = _open(data, max_pixels=max_pixels)
    import zxingcpp  # noqa: PLC0415  (the barcode reader loads only when a photo is read)

    found = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    if not found:
        raise InvalidInput(NO_QR, field="file")
    refusal: InvalidInput | None = None
    for barcode in found:
        try:
            return parse(barcode.text)
        except InvalidInput as e:
            refusal = refusal or e
    assert refusal is not None
    raise refusal
