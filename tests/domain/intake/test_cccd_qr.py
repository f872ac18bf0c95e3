"""The chip CCCD card's QR: parsing its text strictly, finding it in photos made here (segno + Pillow)."""

from __future__ import annotations

import io
import random
import unicodedata
from datetime import date

import pytest
import segno
from PIL import Image, ImageDraw, ImageFilter
from pypdf import PdfWriter

from domain.errors import InvalidInput
from domain.intake import cccd_qr
from domain.intake.cccd_qr import CccdQr, decode_image, parse

TEXT = "001099012345|123456789|Nguyễn Văn An|01021990|Nam|Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội|15032021"
EXPECTED = CccdQr(cccd="001099012345", old_id="123456789", full_name="Nguyễn Văn An",
                  birth_date=date(1990, 2, 1), sex="nam", address="Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
                  issued_on=date(2021, 3, 15))


def qr_image(text: str, *, scale: int = 6) -> Image.Image:
    buf = io.BytesIO()
    segno.make(text, micro=False).save(buf, kind="png", scale=scale, border=4)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def photo(text: str = TEXT, *, size: tuple[int, int] = (3000, 2250), qr_scale: int = 9, angle: float = 0,
          seed: int = 1) -> Image.Image:
    """A phone-photo-like picture: a card on a desk, the QR on the card, a little tilt and blur."""
    rnd = random.Random(seed)
    img = Image.new("RGB", size, (120, 100, 80))
    draw = ImageDraw.Draw(img)
    for _ in range(60):  # desk clutter
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.rectangle((x, y, x + rnd.randrange(20, 200), y + rnd.randrange(20, 200)),
                       fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    card = Image.new("RGB", (1400, 900), (235, 238, 230))
    ImageDraw.Draw(card).text((60, 60), "CĂN CƯỚC CÔNG DÂN", fill=(30, 30, 30))
    code = qr_image(text, scale=qr_scale)
    card.paste(code, (card.width - code.width - 60, 60))
    card = card.rotate(angle, expand=True, fillcolor=(120, 100, 80))
    img.paste(card, ((size[0] - card.width) // 2, (size[1] - card.height) // 2))
    return img.filter(ImageFilter.GaussianBlur(1.2))


def jpeg(img: Image.Image, *, orientation: int | None = None, quality: int = 88) -> bytes:
    buf = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def refused(text: str) -> str:
    with pytest.raises(InvalidInput) as e:
        parse(text)
    assert e.value.detail.startswith(cccd_qr.NOT_CCCD)
    return e.value.detail


# --- parse ----------------------------------------------------------------------------------------


def test_parse_reads_every_field() -> None:
    assert parse(TEXT) == EXPECTED


def test_parse_takes_an_empty_old_id_female_and_decomposed_letters() -> None:
    text = "079302000123||Trần Thị Bích|29022004|Nữ|Phường Bến Nghé, Quận 1, TP Hồ Chí Minh|01072021"
    got = parse(text)
    assert (got.old_id, got.sex, got.birth_date) == ("", "nu", date(2004, 2, 29))
    assert parse(unicodedata.normalize("NFD", text)) == got  # an NFD "Nữ" / name from a scanner app


@pytest.mark.parametrize("text", [
    "001099012345|123456789|Nguyễn Văn An|01021990|Nam|Hà Nội",  # 6 fields
    TEXT + "|extra",  # 8 fields
    "https://example.test/cccd",  # another QR
    "",
])
def test_parse_refuses_the_wrong_number_of_fields(text: str) -> None:
    assert "7 trường" in refused(text)


@pytest.mark.parametrize(("field", "value", "words"), [
    (0, "00109901234", "12 chữ số"),
    (0, "00109901234X", "12 chữ số"),
    (1, "12345678", "9 chữ số"),
    (2, "", "họ và tên"),
    (2, "Nguyễn 123", "họ và tên"),
    (3, "31021990", "ngày có thật"),
    (3, "29021990", "ngày có thật"),
    (3, "1990-02-01", "ddmmyyyy"),
    (6, "00002021", "ngày có thật"),
    (6, "01011980", "ngày cấp trước ngày sinh"),
    (4, "Male", "Nam hoặc Nữ"),
    (4, "", "Nam hoặc Nữ"),
    (5, "Hà Nội\x00", "ký tự không hợp lệ"),
])
def test_parse_refuses_a_bad_field(field: int, value: str, words: str) -> None:
    fields = TEXT.split("|")
    fields[field] = value
    assert words in refused("|".join(fields))


def test_parse_refuses_a_huge_text() -> None:
    assert "quá dài" in refused("1" * 5000)


# --- decode_image ---------------------------------------------------------------------------------


def test_a_clean_qr_image() -> None:
    assert decode_image(png(qr_image(TEXT))) == EXPECTED


@pytest.mark.parametrize("angle", [0, 12, 90, 180, 237])
def test_a_photo_tilted_or_turned(angle: float) -> None:
    assert decode_image(jpeg(photo(angle=angle))) == EXPECTED


def test_a_photo_scaled_down_and_one_scaled_up() -> None:
    small = photo(size=(2000, 1500), qr_scale=6).resize((1200, 900))  # ~3.6 px a module
    assert decode_image(jpeg(small)) == EXPECTED
    big = photo(size=(3000, 2250), qr_scale=3).resize((6000, 4500))  # a 27 MP photo, QR still ~6 px a module
    assert decode_image(jpeg(big, quality=80)) == EXPECTED


def test_the_exif_orientation_is_applied() -> None:
    upright = photo(size=(2000, 1500), qr_scale=6)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote; EXIF 6 turns it back
    data = jpeg(stored, orientation=6)
    assert cccd_qr._open(data, max_pixels=cccd_qr.MAX_PIXELS).size == (2000, 1500)
    assert decode_image(data) == EXPECTED
    mirrored = upright.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert decode_image(jpeg(mirrored, orientation=2)) == EXPECTED


def test_a_qr_that_is_not_a_cccd() -> None:
    with pytest.raises(InvalidInput) as e:
        decode_image(jpeg(photo("https://dichvucong.gov.vn/p/home/dvc-trang-chu.html")))
    assert e.value.detail.startswith(cccd_qr.NOT_CCCD)


def test_a_qr_with_six_fields_and_one_with_a_bad_date() -> None:
    for text in ("001099012345|123456789|Nguyễn Văn An|01021990|Nam|Hà Nội",
                 "001099012345|123456789|Nguyễn Văn An|32011990|Nam|Hà Nội|15032021"):
        with pytest.raises(InvalidInput) as e:
            decode_image(png(qr_image(text)))
        assert e.value.detail.startswith(cccd_qr.NOT_CCCD)


def test_a_photo_without_a_qr() -> None:
    with pytest.raises(InvalidInput) as e:
        decode_image(jpeg(photo(size=(1600, 1200)).crop((0, 0, 400, 300))))
    assert e.value.detail == cccd_qr.NO_QR


def test_a_pdf_garbage_and_nothing_are_not_images() -> None:
    pdf = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(pdf)
    for data in (pdf.getvalue(), b"GIF89a" + bytes(100), random.Random(2).randbytes(5000), b""):
        with pytest.raises(InvalidInput) as e:
            decode_image(data)
        assert e.value.detail == cccd_qr.NOT_IMAGE


def test_a_truncated_photo_is_refused() -> None:
    data = jpeg(photo(size=(1600, 1200)))
    with pytest.raises(InvalidInput) as e:
        decode_image(data[: len(data) // 2])
    assert e.value.detail == cccd_qr.BROKEN


def test_size_limits_are_checked_before_decoding() -> None:
    flood = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(flood, "PNG")  # 144 MP of nothing, a few kB on disk
    with pytest.raises(InvalidInput) as e:
        decode_image(flood.getvalue())
    assert e.value.detail == cccd_qr.TOO_BIG
    with pytest.raises(InvalidInput) as e:
        decode_image(png(qr_image(TEXT)), max_bytes=100)
    assert e.value.detail == cccd_qr.TOO_BIG
