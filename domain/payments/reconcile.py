"""Daily reconciliation: every payment of a day (Vietnam time) per gateway and status, as CSV.

A line per payment (reference, the gateway's transaction number, dossier, unit, amount, refunds,
receipt, anomalies) and a summary per gateway and status, so that the day's total at each gateway
can be checked against its settlement report and the treasury account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain import exports
from domain.calendar.engine import TZ as VN  # Asia/Ho_Chi_Minh
from domain.clock import utc
from domain.dossiers.models import Dossier
from domain.errors import NotFound
from domain.payments.machine import RefundStatus
from domain.payments.models import Payment, PaymentEvent, Receipt, Refund
from domain.payments.operations import _in_units, day_bounds, officer_units

COLUMNS = ("ngay", "cong_thanh_toan", "trang_thai", "ma_thanh_toan", "ma_giao_dich_cong", "ma_ho_so", "don_vi",
           "so_tien_vnd", "da_hoan_tra_vnd", "bien_lai", "tao_luc", "ket_thuc_luc", "bat_thuong",
           "thong_diep_bi_tu_choi")
SUMMARY_COLUMNS = ("ngay", "cong_thanh_toan", "trang_thai", "so_giao_dich", "tong_tien_vnd", "da_hoan_tra_vnd")


@dataclass
class Line:
    values: dict[str, Any]


def _vn(moment: Any) -> str:
    return utc(moment).astimezone(VN).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def lines(session: Session, officer_id: int, day: date, gateway: str | None = None) -> list[dict[str, Any]]:
    """Payments created or finished that day in the officer's units (all units for an administrator)."""
    units = officer_units(session, officer_id)
    if units == []:  # no payment role anywhere: the reconciliation of no unit is yours
        raise NotFound("Không tìm thấy đơn vị của cán bộ (chức năng dành cho kế toán hoặc quản trị đơn vị).")
    start, end = day_bounds(day)
    query = (select(Payment, Dossier.code).join(Dossier, Dossier.id == Payment.dossier_id)
             .where(_in_units(units), or_(Payment.created_at.between(start, end),
                                          Payment.finished_at.between(start, end)))
             .order_by(Payment.gateway, Payment.status, Payment.id))
    if gateway:
        query = query.where(Payment.gateway == gateway)
    out = []
    for payment, code in session.execute(query):
        refunded = session.scalar(select(func.coalesce(func.sum(Refund.amount_vnd), 0)).where(
            Refund.payment_id == payment.id, Refund.status == RefundStatus.SUCCESS.value)) or 0
        receipt = session.scalar(select(Receipt).where(Receipt.payment_id == payment.id))
        refused = session.scalar(select(func.count()).select_from(PaymentEvent).where(
            PaymentEvent.payment_id == payment.id,
            PaymentEvent.result.in_(("invalid_amount", "invalid_signature", "malformed")))) or 0
        out.append({
            "ngay": day.isoformat(), "cong_thanh_toan": payment.gateway, "trang_thai": payment.status,
            "ma_thanh_toan": payment.reference, "ma_giao_dich_cong": payment.gateway_txn or "",
            "ma_ho_so": code or "", "don_vi": payment.unit_code, "so_tien_vnd": payment.amount_vnd,
            "da_hoan_tra_vnd": int(refunded),
            "bien_lai": f"{receipt.series}-{receipt.number:07d}" if receipt else "",
            "tao_luc": _vn(payment.created_at), "ket_thuc_luc": _vn(payment.finished_at),
            "bat_thuong": payment.anomaly or "", "thong_diep_bi_tu_choi": int(refused),
        })
    return out


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["ngay"], row["cong_thanh_toan"], row["trang_thai"])
        group = groups.setdefault(key, {"ngay": key[0], "cong_thanh_toan": key[1], "trang_thai": key[2],
                                        "so_giao_dich": 0, "tong_tien_vnd": 0, "da_hoan_tra_vnd": 0})
        group["so_giao_dich"] += 1
        group["tong_tien_vnd"] += row["so_tien_vnd"]
        group["da_hoan_tra_vnd"] += row["da_hoan_tra_vnd"]
    return [groups[k] for k in sorted(groups)]


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> str:
    return exports.csv_text(columns, ([row.get(k, "") for k in columns] for row in rows))
