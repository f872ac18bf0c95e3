"""Result documents generated from a template with the dossier's data (an A4 PDF with a QR code).

Rendered with Pillow (text and the QR code drawn on an A4 page at 150 dpi, saved as PDF). Fonts with
Vietnamese glyphs are looked up among the system's (Noto, DejaVu); without one Pillow's own font is used.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import segno
from PIL import Image, ImageDraw, ImageFont

from domain.calendar.engine import TZ

FONTS = [
    "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]
BOLD = ["/usr/share/fonts/truetype/noto/NotoSerif-Bold.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"]
A4 = (1240, 1754)  # 150 dpi


def _font(size: int, bold: bool = False) -> Any:
    for path in (BOLD if bold else []) + FONTS:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def render_result_pdf(*, unit_name: str, title: str, procedure_name: str, dossier_code: str, applicant: str,
                      issued_on: datetime, verify_url: str, lines: list[str] | None = None) -> bytes:
    page = Image.new("RGB", A4, "white")
    draw = ImageDraw.Draw(page)
    y = 90

    def centred(text: str, size: int, bold: bool = False, gap: int = 14) -> None:
        nonlocal y
        font = _font(size, bold)
        width = draw.textlength(text, font=font)
        draw.text(((A4[0] - width) / 2, y), text, font=font, fill="black")
        y += size + gap

    def para(text: str, size: int = 30) -> None:
        nonlocal y
        for line in textwrap.wrap(text, width=70) or [""]:
            draw.text((120, y), line, font=_font(size), fill="black")
            y += size + 12

    draw.text((120, y), unit_name.upper()[:60], font=_font(26, True), fill="black")
    y += 40
    centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 30, True, 6)
    centred("Độc lập - Tự do - Hạnh phúc", 28, False, 60)
    centred(title.upper()[:70], 40, True, 50)
    para(f"Thủ tục: {procedure_name}")
    para(f"Mã hồ sơ: {dossier_code}")
    para(f"Người yêu cầu: {applicant}")
    for line in lines or []:
        para(line)
    y += 20
    local = issued_on.astimezone(TZ)
    draw.text((A4[0] - 620, y), f"Ngày {local:%d} tháng {local:%m} năm {local:%Y}", font=_font(28), fill="black")
    qr = segno.make(verify_url, error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=6, border=2)
    code = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    page.paste(code, (120, A4[1] - code.height - 160))
    draw.text((120 + code.width + 30, A4[1] - 260), "Quét mã để kiểm tra tính xác thực", font=_font(24), fill="black")
    draw.text((120 + code.width + 30, A4[1] - 225), verify_url[:70], font=_font(20), fill="black")
    out = io.BytesIO()
    page.save(out, "PDF", resolution=150.0)
    return out.getvalue()
