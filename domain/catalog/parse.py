"""Normalise raw procedure records of the National Public Service Portal (dichvucong.gov.vn).

A raw record is one JSON object with Vietnamese keys whose values are strings scraped from the
portal's procedure page.  The page's HTML tables arrive flattened: cell borders are lost, so cells
are glued together (``Trực tuyến7 Ngày làm việc10,000 Việt Nam Đồng(...)``).  ``normalise`` splits
those strings back into structured values, keeps the original text beside every parsed value and
lists in ``review_reasons`` everything it could not parse with confidence instead of guessing.

Pure Python, standard library only, no I/O except in ``read_records``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal, TypedDict

__all__ = ["fold", "normalise", "read_records"]

NO_INFO = "Không có thông tin"
REQUIRED_KEYS = ("ma_thu_tuc", "ten_thu_tuc")
ORIGINAL_KEYS = (
    "cap_thuc_hien",
    "cach_thuc_thuc_hien",
    "thanh_phan_ho_so",
    "can_cu_phap_ly",
    "ket_qua_xu_ly",
    "doi_tuong_thuc_hien",
)

ChannelKey = Literal["online", "in_person", "postal"]
DurationUnit = Literal["working_days", "days", "hours", "months", "unspecified"]
FeeKind = Literal["free", "amount", "text", "none"]
CopyKind = Literal["original", "copy", "certified_copy", "original_or_copy", "unspecified"]


class Duration(TypedDict):
    value: int | float | None
    unit: DurationUnit


class Channel(TypedDict):
    channel: ChannelKey
    duration: Duration
    duration_text: str
    fee_vnd: int | None
    fee_kind: FeeKind
    fee_text: str
    description: str
    original: str


class Document(TypedDict):
    name: str
    template: str | None
    quantity: int | None
    copy_kind: CopyKind
    quantity_text: str
    group: str | None


class LegalBasis(TypedDict):
    title: str
    number: str | None


class Result(TypedDict):
    name: str
    code: str | None


class Agencies(TypedDict):
    performing: str | None
    competent: str | None
    coordinating: str | None
    authorised: str | None
    address: str | None


class Procedure(TypedDict):
    code: str
    name: str
    field: str
    levels: list[str]
    kind: str
    decision: str
    who_may_file: list[str]
    audiences: list[str]
    agencies: Agencies
    steps: str | None
    channels: list[Channel]
    documents: list[Document]
    legal_basis: list[LegalBasis]
    results: list[Result]
    conditions: str | None
    source_url: str | None
    needs_review: bool
    review_reasons: list[str]
    original: dict[str, str]


class _Reasons:
    """Ordered, de-duplicated list of machine-readable review reasons."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}

    def add(self, reason: str) -> None:
        self._items.setdefault(reason, None)

    def as_list(self) -> list[str]:
        return list(self._items)


# ---------------------------------------------------------------------------------------------
# Text helpers
# ---------------------------------------------------------------------------------------------

# Invisible characters that show up in scraped text: zero-width space/joiners, LRM/RLM marks,
# word joiner, BOM and soft hyphen.
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
# Any run of whitespace (used to collapse to a single space).
_WHITESPACE_RE = re.compile(r"\s+")
# Horizontal whitespace inside a line (spaces, tabs, NBSP and other Unicode spaces) — not newlines.
_INLINE_SPACE_RE = re.compile(r"[^\S\n]+")
# Three or more line breaks (optionally with blanks between) → one empty line.
_MANY_NEWLINES_RE = re.compile(r"\n{3,}")
# A value made only of dashes / whitespace (portal placeholder for "no group", "no data").
_DASHES_ONLY_RE = re.compile(r"^[\s\-–—]*$")


def _as_text(value: Any) -> str:
    """Coerce any JSON value to text without raising (records should hold strings only)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, list):
        return "\n".join(_as_text(item) for item in value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _prepare(text: str) -> str:
    """NFC-normalise and drop invisible characters; the basis for all parsing."""
    text = unicodedata.normalize("NFC", text)
    return _INVISIBLE_RE.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def _inline(text: str) -> str:
    """Single-line clean text: prepared, whitespace collapsed, trimmed."""
    return _WHITESPACE_RE.sub(" ", _prepare(text)).strip()


def _block(text: str) -> str:
    """Multi-line clean text: keeps line breaks, collapses spaces inside lines and blank runs."""
    lines = [_INLINE_SPACE_RE.sub(" ", line).strip() for line in _prepare(text).split("\n")]
    return _MANY_NEWLINES_RE.sub("\n\n", "\n".join(lines)).strip()


def _is_blank(text: str) -> bool:
    """True for empty text, dashes only, or the portal's 'no information' placeholder."""
    cleaned = _inline(text)
    return cleaned == NO_INFO or _DASHES_ONLY_RE.match(cleaned) is not None


def _optional(text: str) -> str | None:
    return None if _is_blank(text) else _inline(text)


def _optional_block(text: str) -> str | None:
    return None if _is_blank(text) else _block(text)


def fold(text: str) -> str:
    """Search folding: lowercase, đ→d, strip combining marks, collapse whitespace."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D").lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _WHITESPACE_RE.sub(" ", text).strip()


# ---------------------------------------------------------------------------------------------
# Levels, people, agencies
# ---------------------------------------------------------------------------------------------

# Folded level label → normalised level (ward and special-zone levels are commune level).
_LEVELS: tuple[tuple[str, str], ...] = (
    ("cap bo", "ministry"),
    ("cap trung uong", "ministry"),
    ("cap tinh", "province"),
    ("cap xa", "commune"),
    ("cap phuong", "commune"),
    ("cap dac khu", "commune"),
    ("co quan khac", "other"),
)
_LEVEL_ORDER = ("ministry", "province", "commune", "other")  # output order
# District level ("Cấp huyện") was abolished on 1 July 2025; its procedures moved to communes.
_DISTRICT_LEVEL = "cap huyen"
# Separators between items of comma/semicolon joined lists.
_LIST_SPLIT_RE = re.compile(r"[,;]")


def _parse_levels(text: str, reasons: _Reasons) -> list[str]:
    found: set[str] = set()
    for part in _LIST_SPLIT_RE.split(fold(_prepare(text))):
        part = part.strip()
        if not part or part == fold(NO_INFO):
            continue
        mapped = next((level for label, level in _LEVELS if label == part), None)
        if mapped is None and part == _DISTRICT_LEVEL:
            mapped = "commune"
            reasons.add("level_district_mapped")
        if mapped is None:
            reasons.add("level_unknown")
            continue
        found.add(mapped)
    if not found:
        reasons.add("no_levels")
    return [level for level in _LEVEL_ORDER if level in found]


def _split_top_level(text: str) -> list[str]:
    """Split on commas/semicolons that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch in ",;" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _parse_who(text: str) -> list[str]:
    """Split 'who may file' into categories; a lowercase fragment continues the previous item.

    The portal uses fixed categories, one of which itself contains commas
    ("Cán bộ, công chức, viên chức"); its continuation fragments start in lowercase.
    """
    items: list[str] = []
    for raw_part in _split_top_level(_inline(text)):
        part = raw_part.strip()
        if not part or part == NO_INFO:
            continue
        if items and part[0].islower():
            items[-1] = f"{items[-1]}, {part}"
        else:
            items.append(part)
    return list(dict.fromkeys(items))


# Folded keyword → audience.  Checked on the item with parenthetical remarks removed, so that
# "Tổ chức (không bao gồm doanh nghiệp, HTX)" is an organisation and not a business.
_AUDIENCE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("cong dan", "citizen"),
    ("ca nhan", "citizen"),
    ("nguoi viet nam", "citizen"),
    ("nguoi dan", "citizen"),
    ("ho gia dinh", "citizen"),
    ("can bo", "citizen"),
    ("cong chuc", "citizen"),
    ("vien chuc", "citizen"),
    ("dang vien", "citizen"),
    ("doanh nghiep", "business"),
    ("hop tac xa", "business"),
    ("htx", "business"),
    ("ho kinh doanh", "business"),
    ("to chuc", "organisation"),
    ("co quan", "organisation"),
    ("don vi", "organisation"),
    ("nuoc ngoai", "foreign"),
)
_AUDIENCE_ORDER = ("citizen", "business", "organisation", "foreign")
# Parenthetical remark, e.g. "(không bao gồm doanh nghiệp, HTX)".
_PARENTHETICAL_RE = re.compile(r"\([^()]*\)")


def _audiences(who: list[str]) -> list[str]:
    found: set[str] = set()
    for item in who:
        folded = f" {fold(_PARENTHETICAL_RE.sub(' ', item))} "
        for keyword, audience in _AUDIENCE_KEYWORDS:
            if f" {keyword} " in folded or f" {keyword}," in folded:
                found.add(audience)
    return [audience for audience in _AUDIENCE_ORDER if audience in found]


def _agencies(raw: dict[str, Any]) -> Agencies:
    return {
        "performing": _optional(_as_text(raw.get("co_quan_thuc_hien"))),
        "competent": _optional(_as_text(raw.get("co_quan_co_tham_quyen"))),
        "coordinating": _optional(_as_text(raw.get("co_quan_phoi_hop"))),
        "authorised": _optional(_as_text(raw.get("co_quan_duoc_uy_quyen"))),
        "address": _optional(_as_text(raw.get("dia_chi_tiep_nhan"))),
    }


# ---------------------------------------------------------------------------------------------
# Money
# ---------------------------------------------------------------------------------------------

# A VND amount written with thousands separators ("10,000", "135.000", "2.400.000") or plain digits.
_AMOUNT_RE = re.compile(r"^(?:\d{1,3}(?:[.,]\d{3})+|\d+)$")
# A VND amount inside free text: number followed by đồng / đ / VNĐ / VND ("20.000Đ/tờ khai").
_TEXT_VND_RE = re.compile(
    r"(?<![\d.,])(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(?:đồng|đ|vnđ|vnd)(?![a-zà-ỹđ])", re.IGNORECASE
)
# Smallest fee the portal plausibly charges; below this the amount was typed in thousands.
_MIN_PLAUSIBLE_VND = 1000


def _amount_to_int(text: str) -> int | None:
    """'10,000' / '135.000' / '100000' → int; None for malformed groupings like '10.000.0000'."""
    text = text.strip()
    if not _AMOUNT_RE.match(text):
        return None
    return int(text.replace(".", "").replace(",", ""))


def _amounts_in_text(text: str) -> list[int]:
    """Distinct VND amounts mentioned in free text, in order of appearance."""
    values: dict[int, None] = {}
    for match in _TEXT_VND_RE.finditer(text):
        value = _amount_to_int(match.group(1))
        if value is not None:
            values.setdefault(value, None)
    return list(values)


# ---------------------------------------------------------------------------------------------
# Channels (cach_thuc_thuc_hien)
# ---------------------------------------------------------------------------------------------

_CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"
_CHANNEL_LABELS: dict[str, ChannelKey] = {
    "Trực tuyến": "online",
    "Trực tiếp": "in_person",
    "Dịch vụ bưu chính": "postal",
}
# A channel label; it starts a row only when glued to a time cell (digit or capital letter).
_CHANNEL_LABEL_RE = re.compile("|".join(re.escape(label) for label in _CHANNEL_LABELS))
# Start of the fee cell: free, no data, or an amount with its currency.
_FEE_START = (
    r"(?P<fee>Miễn phí|Không có thông tin"
    r"|(?P<amount>\d[\d.,]*)\s*(?P<currency>Việt Nam Đồng|VNĐ|VND|đồng|Đồng|đ(?![a-zà-ỹđ])|USD|EUR)"
    r"(?:/[^\s()]+)?)"
)
# Row body = time cell (shortest non-empty prefix) + fee cell + rest (note, description).
_ROW_CELLS_RE = re.compile(r"(?P<time>.+?)" + _FEE_START, re.DOTALL)
# Row body whose time cell is missing altogether.
_ROW_NO_TIME_RE = re.compile(r"(?P<time>)(?P<fee>Miễn phí)(?P<amount>)(?P<currency>)")
# Time cell: number (decimal comma/point allowed) and optional unit, on folded text.
_DURATION_RE = re.compile(
    r"^(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>ngay lam viec|ngay|gio|thang|nam|tuan|phut)?$"
)
# A duration at the start of a time cell, followed by more text (e.g. a fee written as words).
_DURATION_PREFIX_RE = re.compile(
    r"\s*\d+(?:[.,]\d+)?(?:\s*[-–]\s*\d+(?:[.,]\d+)?)?\s*(?:Ngày làm việc|Ngày|Giờ|Tháng|Năm|Tuần|Phút)?",
    re.IGNORECASE,
)
# "1.000" / "2,500": a number with a thousands separator, not a decimal duration.
_THOUSANDS_RE = re.compile(r"\d+[.,]\d{3}")
# Folded unit → (output unit, multiplier).
_UNITS: dict[str, tuple[DurationUnit, float]] = {
    "ngay lam viec": ("working_days", 1),
    "ngay": ("days", 1),
    "gio": ("hours", 1),
    "thang": ("months", 1),
    "nam": ("months", 12),
    "tuan": ("days", 7),
    "phut": ("hours", 1 / 60),
}
# Fee notes that only say "no fee" (folded, trailing punctuation removed).
_NO_FEE_NOTE_RE = re.compile(
    r"^(?:khong|khong co|khong quy dinh|khong thu (?:le )?phi|khong thu phi, le phi"
    r"|mien (?:le )?phi|mien phi|khong phai nop (?:le )?phi)$"
)
# End of a sentence inside a fee note.
_SENTENCE_END_RE = re.compile(r"[.;]\s")
# A fee note deferring to the provincial People's Council (Hội đồng nhân dân / HĐND).
_COUNCIL_RE = re.compile(r"hoi dong nhan dan|\bhdnd\b")


class _Row(TypedDict):
    label: str
    body: str


def _channel_rows(text: str, reasons: _Reasons) -> list[_Row]:
    body = text.strip()
    if body.startswith(_CHANNEL_HEADER):
        body = body[len(_CHANNEL_HEADER) :]
    starts: list[re.Match[str]] = []
    for match in _CHANNEL_LABEL_RE.finditer(body):
        following = body[match.end() : match.end() + 1]
        if (not starts and match.start() == 0) or following.isdigit() or following.isupper():
            starts.append(match)
    if not starts:
        if not _is_blank(body):
            reasons.add("channels_unparsed")
        return []
    if body[: starts[0].start()].strip():
        reasons.add("channels_unparsed")
    rows: list[_Row] = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(body)
        rows.append({"label": match.group(0), "body": body[match.end() : end]})
    return rows


def _balanced_prefix(text: str) -> int | None:
    """Length of the balanced '(...)' group at the start of text, None when unbalanced."""
    depth = 0
    for index, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _parse_duration(text: str, key: ChannelKey, reasons: _Reasons) -> Duration:
    cleaned = _inline(text)
    if cleaned in ("", NO_INFO):
        reasons.add(f"duration_missing:{key}")
        return {"value": None, "unit": "unspecified"}
    match = _DURATION_RE.match(fold(cleaned))
    if not match:
        reasons.add(f"duration_unparsed:{key}")
        return {"value": None, "unit": "unspecified"}
    number = match.group("value")
    if _THOUSANDS_RE.fullmatch(number):
        reasons.add(f"duration_unparsed:{key}")
        return {"value": None, "unit": "unspecified"}
    value: float = float(number.replace(",", "."))
    unit_text = match.group("unit")
    if unit_text is None:
        reasons.add(f"channel_unit_missing:{key}")
        return {"value": _int_if_whole(value), "unit": "unspecified"}
    unit, factor = _UNITS[unit_text]
    return {"value": _int_if_whole(round(value * factor, 2)), "unit": unit}


def _int_if_whole(value: float) -> int | float:
    return int(value) if value == int(value) else value


class _Fee(TypedDict):
    fee_vnd: int | None
    fee_kind: FeeKind
    raw_vnd: int | None


def _says_no_fee(folded_note: str) -> bool:
    """True when a note is empty/junk or its first sentence only says 'no fee'.

    "Miễn lệ phí. Phí cấp bản sao … (nếu có yêu cầu) …" is free: the extra is optional.
    """
    if len(folded_note) <= 2:
        return True
    first_sentence = _SENTENCE_END_RE.split(folded_note, maxsplit=1)[0]
    first_sentence = _PARENTHETICAL_RE.sub(" ", first_sentence)
    return _NO_FEE_NOTE_RE.match(_WHITESPACE_RE.sub(" ", first_sentence).strip(" .;:-()")) is not None


def _classify_fee(
    fee: str, amount: str, currency: str, note: str, key: ChannelKey, reasons: _Reasons
) -> _Fee:
    note_text = note[1:-1] if note.startswith("(") and note.endswith(")") else note.lstrip("(")
    folded_note = fold(note_text).strip(" .;:-")
    defers_to_council = _COUNCIL_RE.search(folded_note) is not None
    if fee == NO_INFO:
        return {"fee_vnd": None, "fee_kind": "none", "raw_vnd": None}
    if fee == "Miễn phí":
        if _says_no_fee(folded_note):
            return {"fee_vnd": 0, "fee_kind": "free", "raw_vnd": None}
        if defers_to_council:
            reasons.add(f"fee_defers_to_council:{key}")
        elif _amounts_in_text(note_text):
            reasons.add(f"fee_conflict:{key}")
        return {"fee_vnd": None, "fee_kind": "text", "raw_vnd": None}
    value = _amount_to_int(amount)
    if value is None:
        reasons.add(f"fee_unparsed:{key}")
        return {"fee_vnd": None, "fee_kind": "text", "raw_vnd": None}
    if currency not in ("Việt Nam Đồng", "VNĐ", "VND", "đồng", "Đồng", "đ"):
        reasons.add(f"fee_foreign_currency:{key}")
        return {"fee_vnd": None, "fee_kind": "amount", "raw_vnd": None}
    if defers_to_council:
        reasons.add(f"fee_defers_to_council:{key}")
        return {"fee_vnd": None, "fee_kind": "text", "raw_vnd": value}
    if value == 0:
        return {"fee_vnd": 0, "fee_kind": "free", "raw_vnd": 0}
    if value < _MIN_PLAUSIBLE_VND:
        if _amounts_in_text(note_text) == [value * 1000]:
            reasons.add(f"fee_scaled_from_note:{key}")
            return {"fee_vnd": value * 1000, "fee_kind": "amount", "raw_vnd": value}
        reasons.add(f"fee_implausible:{key}")
        return {"fee_vnd": None, "fee_kind": "amount", "raw_vnd": value}
    return {"fee_vnd": value, "fee_kind": "amount", "raw_vnd": value}


def _unsplit_row(key: ChannelKey, label: str, body: str, reasons: _Reasons) -> Channel:
    """A row without a recognisable fee cell: keep a leading duration, the rest is fee text."""
    reasons.add(f"fee_unparsed:{key}")
    prefix = _DURATION_PREFIX_RE.match(body)
    time_text = prefix.group(0) if prefix else ""
    rest = body[len(time_text) :].strip()
    if _COUNCIL_RE.search(fold(rest)):
        reasons.add(f"fee_defers_to_council:{key}")
    return {
        "channel": key,
        "duration": _parse_duration(time_text, key, reasons),
        "duration_text": time_text.strip(),
        "fee_vnd": None,
        "fee_kind": "text" if rest else "none",
        "fee_text": rest,
        "description": "",
        "original": label + body,
    }


def _split_fee_note(rest: str, key: ChannelKey, reasons: _Reasons) -> tuple[str, str]:
    """Split '(note)description' after a fee cell; an unbalanced note ends at the last ')'."""
    if not rest.startswith("("):
        return "", rest
    length = _balanced_prefix(rest)
    if length is None:
        reasons.add(f"fee_note_unbalanced:{key}")
        length = rest.rfind(")") + 1 or len(rest)
    return rest[:length], rest[length:]


def _parse_channel_row(row: _Row, reasons: _Reasons) -> tuple[Channel, int | None]:
    """One channel row → Channel, plus the raw VND amount for the cross-channel check."""
    key = _CHANNEL_LABELS[row["label"]]
    body = row["body"]
    cells = _ROW_NO_TIME_RE.match(body) or _ROW_CELLS_RE.match(body)
    if cells is None:
        return _unsplit_row(key, row["label"], body, reasons), None
    time_text = cells.group("time")
    prefix = _DURATION_PREFIX_RE.match(time_text)
    if prefix and time_text[prefix.end() :].strip():
        # "7 Ngày làm việcTheo Nghị quyết…50.000 đồng": the fee cell is words; don't trust the split.
        return _unsplit_row(key, row["label"], body, reasons), None
    if time_text.isdigit() and cells.group("amount"):
        # "Trực tuyến120 VNĐ": a unit-less time glued to the amount; the split is a best guess.
        reasons.add(f"channel_time_fee_glued:{key}")
    note, rest = ("", body[cells.end() :])
    if cells.group("fee") != NO_INFO:
        note, rest = _split_fee_note(rest, key, reasons)
    fee = _classify_fee(
        cells.group("fee"), cells.group("amount") or "", cells.group("currency") or "", note, key, reasons
    )
    channel: Channel = {
        "channel": key,
        "duration": _parse_duration(time_text, key, reasons),
        "duration_text": time_text.strip(),
        "fee_vnd": fee["fee_vnd"],
        "fee_kind": fee["fee_kind"],
        "fee_text": (cells.group("fee") + note).strip(),
        "description": rest.strip(),
        "original": row["label"] + body,
    }
    return channel, fee["raw_vnd"]


def _parse_channels(text: str, reasons: _Reasons) -> list[Channel]:
    channels: list[Channel] = []
    raw_amounts: list[tuple[ChannelKey, int]] = []
    for row in _channel_rows(_prepare(text), reasons):
        channel, raw_vnd = _parse_channel_row(row, reasons)
        channels.append(channel)
        if raw_vnd:
            raw_amounts.append((channel["channel"], raw_vnd))
    if not channels:
        reasons.add("no_channels")
    # A channel whose amount is exactly 1000x smaller than another's was typed in thousands.
    values = {value for _, value in raw_amounts}
    for key, value in raw_amounts:
        if value * 1000 in values:
            reasons.add(f"fee_mismatch_suspect:{key}")
    return channels


# ---------------------------------------------------------------------------------------------
# Documents (thanh_phan_ho_so)
# ---------------------------------------------------------------------------------------------

_DOCUMENT_HEADER = "Tên giấy tờMẫu đơn, tờ khaiSố lượng"
# Quantity cell ending a row: "1 bản chính", "0 bản chính,1 bản sao", "1 bản sao".  The portal
# writes one digit; it must be followed by the next row (not by a space or punctuation, which
# means the phrase belongs to the document's own wording, e.g. "(01 bản chính hoặc ...)").
_QUANTITY_CELL_RE = re.compile(
    r"(?:(?P<original>\d) bản chính(?:,(?P<copy>\d) bản sao)?|(?P<copy_only>\d) bản sao)(?=$|[^\s).;,:])"
)
# File extension that ends a form-template file name.
_TEMPLATE_EXT_RE = re.compile(r"\.(?i:docx?|xlsx?|pdf|rar|zip|odt|ods|rtf)")
# Words a template file name typically starts with.
_TEMPLATE_WORD_RE = re.compile(
    r"(?:Mẫu|MẪU|Mau|MAU|Phụ lục|PHỤ LỤC|Phu luc|Phlc|PL(?=[\s\d_.-])|Mus|Mu\d|TK(?=[\s\d_.-])"
    r"|Form|Tờ khai|Đơn|Don|Biểu mẫu|Bieu mau|Phiếu|Phieu"
    r"|mẫu|mãu|mau|phụ lục|phu luc|văn bản|tờ trình|tờ khai|đơn|giấy|báo cáo|bản khai|danh sách|ds |biểu mẫu|phiếu)"
)
# Mentions that a copy must be certified (chứng thực) or notarised (công chứng).
_CERTIFIED_RE = re.compile(r"bản sao (?:có |được |đã )?(?:chứng thực|công chứng)|bản sao y", re.IGNORECASE)


def _template_start(head: str) -> int | None:
    """Where the first template file name starts inside 'document name + template stem'.

    Name and file name are glued; a boundary has no space on either side.  Candidates, best tier
    first, earliest within a tier: (1) a template word ("Mẫu số 01", "Phụ lục II", "Mau01-…",
    "mẫu 22d", "văn bản đề nghị") not preceded by "(", "-", "_" or "/"; (2) a capital or digit
    right after a lowercase letter or after ".", ";", ":" or ")", or a capitalised word glued to an
    acronym ("NĐ-CPDanh mục"); (3) a capital right after a date's final dot ("30/6/2023.NA5").
    """
    tiers: tuple[list[int], list[int], list[int]] = ([], [], [])
    for index in range(1, len(head)):
        before, here = head[index - 1], head[index]
        if before.isspace() or here.isspace():
            continue
        if before not in "(-_/" and _TEMPLATE_WORD_RE.match(head, index):
            tiers[0].append(index)
        elif _glued_start(head, index):
            tiers[1].append(index)
        elif before == "." and here.isupper():
            tiers[2].append(index)
    return next((tier[0] for tier in tiers if tier), None)


def _glued_start(head: str, index: int) -> bool:
    """A capital/digit glued to the end of a sentence or word (not after a decimal point)."""
    before, here = head[index - 1], head[index]
    if not (here.isdigit() or here.isupper()):
        return False
    if before.islower() or before in ";:)":
        return True
    if before == ".":
        return not head[index - 2 : index - 1].isdigit()
    after = head[index + 1 : index + 2]
    return here.isupper() and before.isupper() and head[index - 2 : index - 1].isupper() and after.islower()


def _split_templates(segment: str, reasons: _Reasons) -> tuple[str, str | None]:
    """Split 'name' + glued template file name(s) ending in an extension; templates joined by '; '."""
    stripped = segment.rstrip()
    exts = list(_TEMPLATE_EXT_RE.finditer(stripped))
    if not exts or exts[-1].end() != len(stripped):
        return segment.strip(), None
    first = exts[0]
    start = _template_start(stripped[: first.start()])
    if start is None:
        reasons.add("document_template_unsplit")
        return segment.strip(), None
    files: list[str] = []
    position = start
    for match in exts:
        part = stripped[position : match.end()]
        if files and _TEMPLATE_EXT_RE.fullmatch(part):  # "….docx.docx": double extension
            files[-1] += part
        elif part:
            files.append(part.strip())
        position = match.end()
    return stripped[:start].strip(), "; ".join(files)


def _copy_kind(original: int | None, copy: int | None, name: str) -> tuple[CopyKind, int | None, bool]:
    """(copy_kind, quantity, ambiguous) from the quantity cell's two numbers."""
    original = original or 0
    copy = copy or 0
    if original and copy:
        return "original_or_copy", (original if original == copy else None), original != copy
    if original:
        return "original", original, False
    if copy:
        return ("certified_copy" if _CERTIFIED_RE.search(name) else "copy"), copy, False
    return "unspecified", 0, False


def _quantity_cells(part: str) -> list[re.Match[str]]:
    """Quantity cells of a table part, skipping a phrase like '01 bản chính' glued to the real cell."""
    matches = list(_QUANTITY_CELL_RE.finditer(part))
    cells: list[re.Match[str]] = []
    for index, match in enumerate(matches):
        following = matches[index + 1] if index + 1 < len(matches) else None
        glued_to_next = following is not None and following.start() == match.end()
        after_digit = match.start() > 0 and part[match.start() - 1].isdigit()
        if glued_to_next and after_digit:
            continue  # "…: 01 bản chính1 bản chính" → the first belongs to the name
        cells.append(match)
    return cells


def _group(text: str) -> str | None:
    cleaned = _inline(text)
    return None if _DASHES_ONLY_RE.match(cleaned) or cleaned == NO_INFO else cleaned


def _document(
    segment: str, cell: re.Match[str] | None, group: str | None, reasons: _Reasons
) -> Document | None:
    name, template = _split_templates(_inline(segment), reasons)
    if not name and not template:
        return None
    if cell is None:
        return {
            "name": name,
            "template": template,
            "quantity": None,
            "copy_kind": "unspecified",
            "quantity_text": "",
            "group": group,
        }
    original = cell.group("original")
    copy = cell.group("copy") or cell.group("copy_only")
    kind, quantity, ambiguous = _copy_kind(
        int(original) if original else None, int(copy) if copy else None, name
    )
    if ambiguous:
        reasons.add("document_quantity_ambiguous")
    return {
        "name": name,
        "template": template,
        "quantity": quantity,
        "copy_kind": kind,
        "quantity_text": cell.group(0),
        "group": group,
    }


def _parse_documents(text: str, reasons: _Reasons) -> list[Document]:
    text = _prepare(text)
    if _is_blank(text):
        reasons.add("no_documents")
        return []
    if _DOCUMENT_HEADER not in text:
        reasons.add("documents_unparsed")
        return []
    parts = text.split(_DOCUMENT_HEADER)
    heading = parts[0]
    documents: list[Document] = []
    for part in parts[1:]:
        group = _group(heading)
        position = 0
        for cell in _quantity_cells(part):
            document = _document(part[position : cell.start()], cell, group, reasons)
            if document is not None:
                documents.append(document)
            position = cell.end()
        heading = part[position:]
    if not _is_blank(heading):
        # Text after the last quantity cell: a heading without a table or a row without quantity.
        reasons.add("documents_trailing_text")
        document = _document(heading, None, None, reasons)
        if document is not None:
            documents.append(document)
    if not documents:
        reasons.add("no_documents")
    return documents


# ---------------------------------------------------------------------------------------------
# Legal basis (can_cu_phap_ly)
# ---------------------------------------------------------------------------------------------

_LEGAL_HEADER = "Tên văn bản pháp lýMã văn bản"
# Issuer codes that end a document number; used to cut a number glued to the next title
# ("…/NĐ-CPQuy định" → "NĐ-CP" + "Quy định", "…/TT-BLĐTBXHBAN HÀNH" → "TT-BLĐTBXH" + "BAN HÀNH").
_ISSUERS = (
    "CP", "TTg", "BTC", "BTP", "BCA", "NHNN", "BNNMT", "BGTVT", "BXD", "HĐND", "UBND", "BTNMT",
    "BNNPTNT", "BLĐTBXH", "BKHĐT", "BYT", "BVHTTDL", "BKHCN", "BCT", "VPCP", "BNV", "BQP", "TANDTC",
    "VKSNDTC", "BTTTT", "BGDĐT", "BNG", "KTNN", "UBDT", "CTN", "TW", "BDT", "TTCP", "NHCSXH", "BHXH",
    "UBCKNN", "TCHQ", "TCT",
)  # fmt: skip
# Separators between the parts of a document number ("85/2019/TT-BTC").
_ISSUER_SPLIT_RE = re.compile(r"[-/]")
# National Assembly issuers carry the legislature's number: "QH13", "UBTVQH15".
_ASSEMBLY_ISSUER_RE = re.compile(r"(?:UBTV)?QH\d{1,2}")
# Document number: "85/2019/TT-BTC", "123/2015/NĐ-CP", "60/2014/QH13", "66.7/2025/NQ-CP", "01/VBHN-BTC";
# "bare" when the issuer is missing ("46/2020").  It may be glued to a preceding year
# ("…2026-203016/2026/QĐ-UBND") or to a previous "QH13".
_LEGAL_NUMBER_RE = re.compile(
    r"(?:(?<![\d/])|(?<=[12][09]\d\d)|(?<=QH\d\d))"
    r"(?P<number>\d{1,4}(?:\.\d+)?/(?:(?:19|20)\d\d/)?"
    r"(?:[A-ZĐ]+(?:-\s?|/))*(?:UBTVQH\d{0,2}|QH\d{1,2}|TTg|[A-ZĐ]+)"
    r"|(?P<bare>\d{1,4}/(?:19|20)\d\d)(?![\d/]))"
)
# Words that continue a title right after a number even when the space is missing ("…/TT-BCAngày").
_IN_TITLE_CONTINUATION_RE = re.compile(r"(?:ngày|năm|của)\b")
# A document-type prefix of the number cell glued to the title ("…tín dụngLuật số 32/2024/QH15").
_LEGAL_PREFIX_RE = re.compile(
    r"(?:Luật|Bộ luật|Nghị định|Nghị quyết|Thông tư liên tịch|Thông tư|Quyết định|Pháp lệnh|Lệnh|"
    r"Văn bản hợp nhất|Chỉ thị)\s*(?:số\s*)?$"
)


def _trim_issuer(number: str, next_char: str) -> str:
    """Cut letters of the next title that the greedy number pattern swallowed."""
    issuer = _ISSUER_SPLIT_RE.split(number)[-1].strip()
    if issuer in _ISSUERS or _ASSEMBLY_ISSUER_RE.fullmatch(issuer):
        return number
    known = [code for code in _ISSUERS if issuer.startswith(code)]
    if known:
        return number[: len(number) - len(issuer) + len(max(known, key=len))]
    if len(issuer) > 1 and next_char.islower():
        return number[:-1]  # unknown issuer: its last capital starts the next title's first word
    return number


def _legal_numbers(text: str) -> list[tuple[int, int, str, bool]]:
    """(start, end, number, is_bare) of every document number in the table text."""
    found: list[tuple[int, int, str, bool]] = []
    for match in _LEGAL_NUMBER_RE.finditer(text):
        bare = match.group("bare") is not None
        raw = match.group("number")
        if not bare:
            raw = _trim_issuer(raw, text[match.end() : match.end() + 1])
        # "165/2024/NĐ- CP" → "165/2024/NĐ-CP"
        found.append((match.start(), match.start() + len(raw), _WHITESPACE_RE.sub("", raw), bare))
    return found


def _ends_row(text: str, found: tuple[int, int, str, bool], row_start: int, next_number: str | None) -> bool:
    """Does this number fill the row's 'Mã văn bản' cell (i.e. end the row)?

    ``next_number`` is the number starting right where this one ends, if any.
    """
    start, end, number, bare = found
    following = text[end : end + 2]
    glued_before = start > 0 and not text[start - 1].isspace()
    if bare:  # an issuer-less number only counts as a cell when glued on both sides
        return glued_before and (not following or following[0].isalpha())
    if _IN_TITLE_CONTINUATION_RE.match(text, end):
        return False  # "…/TT-BCAngày 01/7/2025 của…": a missing space inside the title
    if not following or following[0].isalpha():
        return True  # end of table, or glued to the next title
    if following[0].isdigit():
        # "Luật 60/2014/QH1360/2014/QH13": the title's number glued to the identical number cell;
        # any other glued number starts the next row ("…QH15193/2025/NĐ-CP…").
        return next_number is not None and next_number != number
    if not glued_before:
        return False  # "…Thông tư số 66/2023/TT-BCA Sửa đổi…": a number cited inside the title
    # "…Bộ Tư pháp18/2026/NĐ-CP Nghị định…": number cell with a trailing space, next title capitalised;
    # "…31/3/2026;96/2026/NĐ-CP định số…": number cell repeating a number already in the title.
    return (following[0] == " " and following[1:].isupper()) or number in text[row_start:start]


def _legal_row(row: str, start: int, number: str) -> LegalBasis:
    title = row[:start]
    prefix = _LEGAL_PREFIX_RE.search(title)
    if prefix and prefix.start() > 0 and not title[prefix.start() - 1].isspace():
        title = title[: prefix.start()]  # "…vi môThông tư 19/2025/TT-NHNN": prefix is the number cell's
    return {"title": _inline(title).rstrip(" ;,:-") or number, "number": number}


def _parse_legal_basis(text: str, reasons: _Reasons) -> list[LegalBasis]:
    text = _prepare(text).strip()
    if text.startswith(_LEGAL_HEADER):
        text = text[len(_LEGAL_HEADER) :]
    if _is_blank(text):
        reasons.add("no_legal_basis")
        return []
    rows: list[LegalBasis] = []
    row_start = 0
    numbers = _legal_numbers(text)
    for index, (start, end, number, _bare) in enumerate(numbers):
        following = numbers[index + 1] if index + 1 < len(numbers) else None
        next_number = following[2] if following and following[0] == end else None
        if start < row_start or not _ends_row(text, numbers[index], row_start, next_number):
            continue
        rows.append(_legal_row(text[row_start:end], start - row_start, number))
        row_start = end
    leftover = _inline(text[row_start:])
    if leftover:
        reasons.add("legal_basis_unparsed")
        rows.append({"title": leftover, "number": None})
    return rows


# ---------------------------------------------------------------------------------------------
# Results (ket_qua_xu_ly)
# ---------------------------------------------------------------------------------------------

# Page chrome that follows the result list: keywords, description, agency picker, submit button.
_RESULT_CHROME_RE = re.compile(r"Từ khóa|Chọn cơ quan thực hiện|Nộp hồ sơ$")
# "Mã: KQ.G15.000031" — result code; ends at the last digit before a glued name, or is a word.
_RESULT_CODE_RE = re.compile(
    r"Mã:\s*(?P<code>[A-Z0-9][A-Z0-9.\-_/]*\d|[A-Z]{2,}[A-Z0-9.\-_/]*(?![a-zà-ỹđ]))?"
)


def _parse_results(text: str, reasons: _Reasons) -> list[Result]:
    text = _prepare(text)
    chrome = _RESULT_CHROME_RE.search(text)
    body = text[: chrome.start()] if chrome else text
    results: list[Result] = []
    position = 0
    for match in _RESULT_CODE_RE.finditer(body):
        name = _inline(body[position : match.start()])
        code = match.group("code")
        if name or code:
            results.append({"name": name, "code": code})
        position = match.end()
    tail = _inline(body[position:])
    if tail and tail != NO_INFO:
        results.append({"name": tail, "code": None})
    if not results:
        reasons.add("no_results")
    elif any(not result["name"] for result in results):
        reasons.add("result_name_missing")
    return results


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def _missing_required(raw: dict[str, Any]) -> list[str]:
    return [key for key in REQUIRED_KEYS if not _inline(_as_text(raw.get(key)))]


def normalise(raw: dict[str, Any]) -> Procedure:
    """Normalise one raw portal record into the clean, JSON-serialisable procedure shape.

    Raises ValueError only when ``raw`` is not a dict or lacks ``ma_thu_tuc``/``ten_thu_tuc``.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"record must be a JSON object (dict), got {type(raw).__name__}")
    missing = _missing_required(raw)
    if missing:
        raise ValueError(f"record is missing required key(s): {', '.join(missing)}")
    reasons = _Reasons()
    text = {key: _as_text(raw.get(key)) for key in raw}

    def get(key: str) -> str:
        return text.get(key, "")

    who = _parse_who(get("doi_tuong_thuc_hien"))
    procedure: Procedure = {
        "code": _inline(get("ma_thu_tuc")),
        "name": _inline(get("ten_thu_tuc")),
        "field": "" if _is_blank(get("linh_vuc")) else _inline(get("linh_vuc")),
        "levels": _parse_levels(get("cap_thuc_hien"), reasons),
        "kind": "" if _is_blank(get("loai_thu_tuc")) else _inline(get("loai_thu_tuc")),
        "decision": "" if _is_blank(get("so_quyet_dinh")) else _inline(get("so_quyet_dinh")),
        "who_may_file": who,
        "audiences": _audiences(who),
        "agencies": _agencies(raw),
        "steps": _optional_block(get("trinh_tu_thuc_hien")),
        "channels": _parse_channels(get("cach_thuc_thuc_hien"), reasons),
        "documents": _parse_documents(get("thanh_phan_ho_so"), reasons),
        "legal_basis": _parse_legal_basis(get("can_cu_phap_ly"), reasons),
        "results": _parse_results(get("ket_qua_xu_ly"), reasons),
        "conditions": _optional_block(get("yeu_cau_dieu_kien")),
        "source_url": _optional(get("detail_url")),
        "needs_review": False,
        "review_reasons": [],
        "original": {key: get(key) for key in ORIGINAL_KEYS},
    }
    procedure["review_reasons"] = reasons.as_list()
    procedure["needs_review"] = bool(procedure["review_reasons"])
    return procedure


def _json_files(paths: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """Expand files and folders (recursively, *.json only, sorted) into (path, error) pairs."""
    for entry in paths:
        path = Path(entry)
        try:
            if path.is_dir():
                files = sorted(p for p in path.rglob("*.json") if p.is_file())
            elif path.is_file():
                files = [path]
            else:
                yield path, "path does not exist"
                continue
        except OSError as exc:
            yield path, f"unreadable path: {exc.strerror or exc}"
            continue
        for file in files:
            yield file, None


def _load(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as exc:
        return None, f"unreadable file: {exc.strerror or exc}"
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text: {exc.reason}"
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    if not isinstance(data, dict):
        return None, f"not a JSON object: top-level value is {type(data).__name__}"
    missing = _missing_required(data)
    if missing:
        return None, f"missing required key(s): {', '.join(missing)}"
    return data, None


def read_records(
    paths: Iterable[str | Path],
) -> Iterator[tuple[Path, dict[str, Any] | None, str | None]]:
    """Yield ``(path, raw_record, None)`` or ``(path, None, error_message)`` for every JSON file.

    Folders are walked recursively for ``*.json`` files in sorted order; an explicitly named file is
    read whatever its extension; a path that does not exist yields an error.
    """
    for path, error in _json_files(paths):
        if error is not None:
            yield path, None, error
            continue
        record, error = _load(path)
        yield path, record, error
