"""Fee rules in integer VND, from the catalogue's channels, the province's council-set amounts and
officers' assessments.

Kinds of rule:

* ``free`` — nothing to pay;
* ``fixed`` — one amount per dossier, per channel (online is often cheaper: 1.004222 charges
  10.000 ₫ online and 20.000 ₫ in person);
* ``per_page`` — per page of each copy, in tiers, with a cap per copy (2.000815: 2.000 ₫ a page,
  1.000 ₫ from the third page, at most 200.000 ₫ a copy), computed from the dossier's
  ``papers[].pages`` and ``papers[].copies``;
* ``council`` — the amount is decided by the provincial People's Council (HĐND): the province sets
  it on the offer (``Offering.local_fee_vnd``) or an officer assesses it on the dossier;
* ``unknown`` — the catalogue gives no usable amount: an officer must assess it.

What wins, most specific first: an officer's assessment of this dossier, then the province's
council-set amount, then the catalogue rule of the online channel (or of the first channel with an
amount when the procedure lists none online).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from domain.catalog.facts import procedure_facts
from domain.db import SessionReader
from domain.payments.models import FeeAssessment

FREE, FIXED, PER_PAGE, COUNCIL, UNKNOWN = "free", "fixed", "per_page", "council", "unknown"
MAX_PAGES, MAX_COPIES = 10_000, 1_000

_NUMBER = r"(\d{1,3}(?:[.,]\d{3})+|\d+)"
_PER_PAGE = re.compile(_NUMBER + r"\s*(?:đồng|đ|vnđ|₫)\s*/\s*trang", re.I)
_FROM_PAGE = re.compile(r"từ\s+trang\s+thứ\s+(\d+)\s+trở\s+(?:lên|đi)[^0-9]{0,20}?" + _NUMBER
                        + r"\s*(?:đồng|đ|vnđ|₫)\s*/\s*trang", re.I)
_CAP = re.compile(r"tối\s+đa[^0-9]{0,30}?" + _NUMBER + r"\s*(?:đồng|đ|vnđ|₫)\s*/\s*(?:bản|lần|trường hợp)", re.I)
_COUNCIL = re.compile(r"hội\s+đồng\s+nhân\s+dân|hđnd", re.I)
_NO_REFUND = re.compile(r"không\s+(?:được\s+)?hoàn\s+trả", re.I)


def _amount(text: str) -> int:
    return int(re.sub(r"[.,]", "", text))


@dataclass(frozen=True)
class FeeRule:
    kind: str
    amount_vnd: int | None = None  # fixed
    tiers: tuple[tuple[int, int], ...] = ()  # per_page: (from page, VND a page), first tier from page 1
    cap_per_copy: int | None = None
    channel: str = ""
    text: str = ""
    no_refund: bool = False  # the published text says the fee is not refunded


@dataclass(frozen=True)
class FeeLine:
    label: str
    quantity: int
    amount_vnd: int


@dataclass(frozen=True)
class FeeQuote:
    """What a dossier costs: ``amount_vnd`` None means not known yet (an officer must assess it)."""

    amount_vnd: int | None
    kind: str
    name: str
    source: str  # officer | council | catalogue
    text: str = ""
    lines: tuple[FeeLine, ...] = field(default=())
    no_refund: bool = False

    @property
    def payable(self) -> bool:
        return self.amount_vnd is not None and self.amount_vnd > 0


def rule_from_channel(channel: dict[str, Any]) -> FeeRule:
    """The rule of one normalised catalogue channel (``domain.catalog.parse`` output)."""
    kind = channel.get("fee_kind")
    text = " ".join(str(channel.get(k) or "") for k in ("fee_text", "original", "description"))
    name = str(channel.get("channel") or "")
    no_refund = bool(_NO_REFUND.search(text))
    vnd = channel.get("fee_vnd")
    if kind == "free" and vnd == 0:
        return FeeRule(FREE, 0, channel=name, text=channel.get("fee_text") or "", no_refund=no_refund)
    if kind == "amount" and isinstance(vnd, int) and vnd >= 0:
        first = _PER_PAGE.search(text)
        if first or "/trang" in (channel.get("fee_text") or ""):
            base = _amount(first.group(1)) if first else vnd
            tiers = {1: base}
            for m in _FROM_PAGE.finditer(text):
                tiers.setdefault(int(m.group(1)), _amount(m.group(2)))
            cap = _CAP.search(text)
            return FeeRule(
                PER_PAGE,
                tiers=tuple(sorted(tiers.items())),
                cap_per_copy=_amount(cap.group(1)) if cap else None,
                channel=name,
                text=channel.get("fee_text") or "",
                no_refund=no_refund,
            )
        return FeeRule(FIXED, vnd, channel=name, text=channel.get("fee_text") or "", no_refund=no_refund)
    if _COUNCIL.search(text):
        return FeeRule(COUNCIL, channel=name, text=channel.get("fee_text") or "", no_refund=no_refund)
    return FeeRule(UNKNOWN, channel=name, text=channel.get("fee_text") or "", no_refund=no_refund)


def pick_channel(channels: list[dict[str, Any]], wanted: str = "online") -> dict[str, Any] | None:
    """The row of the wanted channel with an amount; else the first row with one; else the first row."""
    rows = [c for c in channels if c.get("channel") == wanted]
    with_amount = [c for c in rows if c.get("fee_vnd") is not None]
    if with_amount:
        return with_amount[0]
    if rows:
        return rows[0]
    others = [c for c in channels if c.get("fee_vnd") is not None]
    return others[0] if others else (channels[0] if channels else None)


def rule_for(procedure_data: dict[str, Any], channel: str = "online") -> FeeRule:
    row = pick_channel(procedure_data.get("channels") or [], channel)
    return rule_from_channel(row) if row is not None else FeeRule(UNKNOWN)


def per_copy(rule: FeeRule, pages: int) -> int:
    """The fee of one copy of ``pages`` pages under a tiered per-page rule, capped."""
    if pages < 1:
        return 0
    total = 0
    for page in range(1, pages + 1):
        rate = 0
        for start, vnd in rule.tiers:
            if page >= start:
                rate = vnd
        total += rate
    return min(total, rule.cap_per_copy) if rule.cap_per_copy is not None else total


def _int(value: Any, low: int, high: int) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def compute(rule: FeeRule, data: dict[str, Any] | None = None, *, name: str = "",
            source: str = "catalogue") -> FeeQuote:
    """Apply a rule to a dossier's data (pages and copies for per-page rules)."""
    data = data or {}
    if rule.kind == FREE:
        return FeeQuote(0, FREE, name, source, rule.text, no_refund=rule.no_refund)
    if rule.kind == FIXED:
        assert rule.amount_vnd is not None
        return FeeQuote(rule.amount_vnd, FIXED, name, source, rule.text,
                        (FeeLine(name or "Lệ phí", 1, rule.amount_vnd),), no_refund=rule.no_refund)
    if rule.kind == PER_PAGE:
        papers = data.get("papers") if isinstance(data.get("papers"), list) else None
        if papers is None and "pages" in data:
            papers = [{"doc_name": "", "pages": data.get("pages"), "copies": data.get("copies", 1)}]
        lines: list[FeeLine] = []
        for i, paper in enumerate(papers or [], start=1):
            if not isinstance(paper, dict):
                continue
            pages = _int(paper.get("pages"), 1, MAX_PAGES)
            copies = _int(paper.get("copies", 1), 1, MAX_COPIES)
            if pages is None or copies is None:
                return FeeQuote(None, PER_PAGE, name, source, rule.text, no_refund=rule.no_refund)
            label = f"{str(paper.get('doc_name') or f'Giấy tờ {i}')[:80]} — {pages} trang"
            lines.append(FeeLine(label, copies, per_copy(rule, pages) * copies))
        if not lines:
            return FeeQuote(None, PER_PAGE, name, source, rule.text, no_refund=rule.no_refund)
        return FeeQuote(sum(x.amount_vnd for x in lines), PER_PAGE, name, source, rule.text, tuple(lines),
                        no_refund=rule.no_refund)
    return FeeQuote(None, rule.kind, name, source, rule.text, no_refund=rule.no_refund)


def fee_name(procedure_name: str) -> str:
    return f"Phí, lệ phí: {procedure_name}"[:255]


POSTAL_LINE = "Cước bưu chính trả kết quả"


def quote_for_dossier(session: Session, dossier: Any) -> FeeQuote:
    """The dossier's fee, most specific rule first (see the module's docstring), and the postal fee of a
    result to be sent by post as one more line, paid with it (none while the fee itself is not known)."""
    quote = procedure_quote(session, dossier)
    postal = getattr(dossier, "postal_fee_vnd", None)
    if getattr(dossier, "return_method", None) != "post" or not postal or quote.amount_vnd is None:
        return quote
    return replace(quote, amount_vnd=quote.amount_vnd + postal, kind=FIXED if quote.kind == FREE else quote.kind,
                   lines=(*quote.lines, FeeLine(POSTAL_LINE, 1, postal)))


def procedure_quote(session: Session, dossier: Any) -> FeeQuote:
    """The procedure's fee of a dossier, most specific rule first (see the module's docstring)."""
    proc = procedure_facts(session, dossier.procedure_code)
    name = fee_name(proc.name if proc is not None else dossier.procedure_code)
    rule = rule_for(proc.record if proc is not None else {})
    # an officer assesses a fee only once a dossier was filed
    assessed = session.get(FeeAssessment, dossier.id) if dossier.submitted_at is not None else None
    if assessed is not None:
        return FeeQuote(assessed.amount_vnd, FIXED if assessed.amount_vnd else FREE, assessed.name or name,
                        "officer", assessed.reason,
                        (FeeLine(assessed.name or name, 1, assessed.amount_vnd),) if assessed.amount_vnd else (),
                        no_refund=rule.no_refund)
    council = SessionReader(session).rows(
        "SELECT local_fee_vnd, local_fee_note FROM offerings WHERE procedure_code = :code "
        "AND local_fee_vnd IS NOT NULL", {"code": dossier.procedure_code})
    if council:
        amount, note = council[0]
        return FeeQuote(amount, FIXED if amount else FREE, name, "council", note or "",
                        (FeeLine(name, 1, amount),) if amount else (), no_refund=rule.no_refund)
    data = json.loads(dossier.data or "{}") if isinstance(dossier.data, str) else dict(dossier.data or {})
    return compute(rule, data, name=name)


# --- refunds --------------------------------------------------------------------------------------
def refund_due(dossier_status: str, *, received: bool, no_refund: bool) -> tuple[bool, str]:
    """Whether a paid fee goes back to the payer when a dossier closes this way, and why.

    * refused at intake (form 03): the dossier was never accepted — refunded;
    * withdrawn before the unit received it — refunded;
    * rejected after examination, or withdrawn later — not refunded (the examination was done);
    * a published text saying the fee is not refunded ("không được hoàn trả") wins over all.
    """
    if no_refund:
        return False, "Văn bản quy định phí, lệ phí này không được hoàn trả."
    if dossier_status == "refused_at_intake":
        return True, "Hồ sơ bị từ chối tiếp nhận: hoàn trả toàn bộ phí, lệ phí đã nộp."
    if dossier_status == "withdrawn" and not received:
        return True, "Hồ sơ được rút trước khi cơ quan tiếp nhận: hoàn trả toàn bộ phí, lệ phí đã nộp."
    if dossier_status in ("rejected", "withdrawn"):
        return False, "Hồ sơ đã được thẩm định: phí, lệ phí không được hoàn trả."
    return False, "Hồ sơ chưa kết thúc: chưa hoàn trả."
