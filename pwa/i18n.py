"""Languages: Vietnamese first (the source strings), English from a gettext catalogue (Babel).

The ``.po`` file is compiled in memory at start-up, so the repository holds no binary ``.mo``.
"""

from __future__ import annotations

import functools
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from domain.calendar.engine import TZ as VN_TZ  # Asia/Ho_Chi_Minh

LOCALES = Path(__file__).resolve().parent / "locales"
LANGUAGES = ("vi", "en")
DEFAULT = "vi"


@functools.cache
def translations(lang: str) -> NullTranslations:
    if lang == DEFAULT:
        return NullTranslations()
    po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def pick_language(query_lang: str | None, cookie_lang: str | None) -> str:
    """?lang= wins, then the cookie; anything unknown falls back to Vietnamese."""
    for candidate in (query_lang, cookie_lang):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


def format_vnd(amount: int | None) -> str:
    """10000 → '10.000 ₫' (Vietnamese thousands separator, no-break space before the sign)."""
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + "\u00a0₫"


def format_date(value: date | datetime | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.strftime("%d/%m/%Y")



def _vn(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # stored in UTC
    return value.astimezone(VN_TZ)


def format_date_vn(value: datetime | str | None) -> str:
    moment = _vn(value)
    return moment.strftime("%d/%m/%Y") if moment else ""


def format_datetime_vn(value: datetime | str | None) -> str:
    moment = _vn(value)
    return moment.strftime("%H:%M %d/%m/%Y") if moment else ""


def format_time_vn(value: datetime | str | None) -> str:
    moment = _vn(value)
    return moment.strftime("%H:%M") if moment else ""


DURATION_UNITS: dict[str, tuple[str, str]] = {
    # unit: (Vietnamese, English) — plain words, the template picks by language
    "working_days": ("ngày làm việc", "working days"),
    "days": ("ngày", "days"),
    "hours": ("giờ", "hours"),
    "months": ("tháng", "months"),
    "unspecified": ("(không rõ đơn vị)", "(unit unknown)"),
}


def format_duration(duration: dict[str, Any] | None, lang: str) -> str:
    if not duration or duration.get("value") is None:
        return ""
    value = duration["value"]
    number = f"{value:g}".replace(".", ",") if lang == "vi" else f"{value:g}"
    vi, en = DURATION_UNITS.get(duration.get("unit") or "unspecified", DURATION_UNITS["unspecified"])
    if lang != "vi" and value == 1 and en.endswith("s"):
        en = en[:-1]  # "1 working day", not "1 working days"
    return f"{number} {vi if lang == 'vi' else en}"
