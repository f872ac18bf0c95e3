"""E-receipts (biên lai điện tử): numbering per unit and year, the stored printable copy in the wallet.

The printable copy is written to the app's one storage (handed in) *after* the database transaction
has committed (:func:`domain.db.after_commit`), never inside it: a slow or failing storage neither holds
the transaction (and the SQLite write lock) nor leaves a file for a receipt that was rolled back. The
copy is keyed by its sha256 and rendered from the receipt row alone, so it can be rendered again.
"""

from __future__ import annotations

import hashlib
import html
import io
import secrets
from datetime import UTC, datetime

import segno
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain.calendar.engine import TZ as VN  # Asia/Ho_Chi_Minh
from domain.db import after_commit
from domain.documents.storage import Storage, key_for
from domain.dossiers.filing import StoredFile, add_to_wallet
from domain.payments.models import Payment, Receipt, ReceiptCounter

GATEWAY_NAMES = {"sandbox": "Cổng thử nghiệm", "vnpay": "VNPAY", "vietqr": "Chuyển khoản VietQR",
                 "paygov": "Nền tảng thanh toán quốc gia"}


def verify_url(public_url: str, public_id: str) -> str:
    return f"{public_url}/bien-lai/{public_id}"


def series_for(at: datetime) -> str:
    """BL + two-digit year + E (electronic): a new series every year in every unit."""
    return f"BL{at.astimezone(VN):%y}E"


def next_number(session: Session, unit_code: str, series: str) -> int:
    """Safe with concurrent payments: an upsert, then an UPDATE … RETURNING on the counter row."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(ReceiptCounter).values(unit_code=unit_code, series=series, last=0).on_conflict_do_nothing())
    return int(session.execute(
        update(ReceiptCounter).where(ReceiptCounter.unit_code == unit_code, ReceiptCounter.series == series)
        .values(last=ReceiptCounter.last + 1).returning(ReceiptCounter.last)).scalar_one())


def display_number(receipt: Receipt) -> str:
    return f"{receipt.number:07d}"


def mask_name(name: str) -> str:
    """Nguyễn Văn An → N*** V** An: enough to recognise, not enough to learn someone's name."""
    parts = name.split()
    return " ".join([p[0] + "*" * (len(p) - 1) for p in parts[:-1]] + parts[-1:]) if parts else ""


def qr_svg(url: str, title: str = "Mã QR kiểm tra biên lai") -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True, title=title,
                                     nl=False)
    return buffer.getvalue().decode()


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + "\u00a0₫"


def render_document(receipt: Receipt, public_url: str) -> bytes:
    """The receipt as a standalone HTML page (no script, no inline style): printable, kept in the wallet."""
    e = html.escape
    url = verify_url(public_url, receipt.public_id)
    rows = [("Ký hiệu", receipt.series), ("Số", display_number(receipt)), ("Đơn vị thu", receipt.unit_name),
            ("Người nộp", receipt.payer_name), ("Nội dung thu", receipt.fee_name),
            ("Mã hồ sơ", receipt.dossier_code), ("Số tiền", vnd(receipt.amount_vnd)),
            ("Hình thức", GATEWAY_NAMES.get(receipt.gateway, receipt.gateway)),
            ("Mã giao dịch", receipt.gateway_txn or ""),
            ("Thời điểm thu", receipt.issued_at.astimezone(VN).strftime("%H:%M %d/%m/%Y"))]
    body = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows)
    page = (f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Biên lai {e(receipt.series)} '
            f'{e(display_number(receipt))}</title></head><body><main><h1>BIÊN LAI THU PHÍ, LỆ PHÍ (ĐIỆN TỬ)</h1>'
            f"<dl>{body}</dl><figure>{qr_svg(url)}<figcaption>Kiểm tra biên lai: <a href=\"{e(url)}\">{e(url)}"
            "</a></figcaption></figure></main></body></html>")
    return page.encode()


def issue(session: Session, payment: Payment, *, dossier_code: str, payer_name: str, unit_name: str,
          owner_id: int, organisation_id: int | None, public_url: str, storage: Storage) -> Receipt:
    """Number the receipt of a successful payment and put its copy in the payer's wallet; the copy's file
    is written to ``storage`` once the transaction has committed (see the module's docstring)."""
    at = payment.paid_at or datetime.now(UTC)
    series = series_for(at)
    receipt = Receipt(payment_id=payment.id, public_id=secrets.token_urlsafe(12), unit_code=payment.unit_code,
                      unit_name=unit_name[:255], series=series, number=next_number(session, payment.unit_code, series),
                      payer_name=payer_name[:255] or "—", amount_vnd=payment.amount_vnd, fee_name=payment.fee_name,
                      dossier_code=dossier_code, gateway=payment.gateway, gateway_txn=payment.gateway_txn,
                      issued_at=at)
    session.add(receipt)
    session.flush()
    content = render_document(receipt, public_url)
    digest = hashlib.sha256(content).hexdigest()
    after_commit(session, lambda: storage.put(key_for(digest), content, "text/html"))
    doc = add_to_wallet(session, owner_id, StoredFile(
        storage_key=key_for(digest), sha256=digest, content_type="text/html; charset=utf-8", size=len(content),
        display_name=f"Biên lai {series}-{display_number(receipt)} hồ sơ {dossier_code}.html"[:160]),
        organisation_id=organisation_id, kind="receipt")
    receipt.document_id = doc.id
    return receipt


def as_dict(receipt: Receipt, public_url: str) -> dict[str, object]:
    return {"number": display_number(receipt), "series": receipt.series, "unit_code": receipt.unit_code,
            "unit_name": receipt.unit_name, "payer_name": receipt.payer_name, "amount_vnd": receipt.amount_vnd,
            "fee_name": receipt.fee_name, "dossier_code": receipt.dossier_code, "gateway": receipt.gateway,
            "gateway_txn": receipt.gateway_txn, "issued_at": receipt.issued_at,
            "verify_url": verify_url(public_url, receipt.public_id), "document_id": receipt.document_id}


