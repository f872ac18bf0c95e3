"""The payment state machine (GOV.UK Pay style): ONE table of events, sources and targets.

created → started → submitted → success | failed | cancelled | expired (90 minutes) | error, and for
refunds submitted → success | error. Final states never change: a late or out-of-order notice is
recorded but leaves them as they are.
"""

from __future__ import annotations

from enum import StrEnum

from domain.errors import Conflict


class Status(StrEnum):
    CREATED = "created"
    STARTED = "started"
    SUBMITTED = "submitted"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ERROR = "error"


class RefundStatus(StrEnum):
    SUBMITTED = "submitted"
    SUCCESS = "success"
    ERROR = "error"


S = Status
LIVE = frozenset({S.CREATED, S.STARTED, S.SUBMITTED})
FINAL = frozenset({S.SUCCESS, S.FAILED, S.CANCELLED, S.EXPIRED, S.ERROR})
# event → (sources, target)
TABLE: dict[str, tuple[frozenset[Status], Status]] = {
    "start": (frozenset({S.CREATED}), S.STARTED),
    "submit": (frozenset({S.CREATED, S.STARTED}), S.SUBMITTED),
    "succeed": (LIVE, S.SUCCESS),
    "fail": (LIVE, S.FAILED),
    "cancel": (LIVE, S.CANCELLED),
    "expire": (LIVE, S.EXPIRED),
    "error": (LIVE, S.ERROR),
}
REFUND_TABLE: dict[str, tuple[frozenset[RefundStatus], RefundStatus]] = {
    "refund_succeed": (frozenset({RefundStatus.SUBMITTED}), RefundStatus.SUCCESS),
    "refund_error": (frozenset({RefundStatus.SUBMITTED}), RefundStatus.ERROR),
}
OUTCOME_EVENT = {S.SUCCESS: "succeed", S.FAILED: "fail", S.CANCELLED: "cancel", S.EXPIRED: "expire",
                 S.ERROR: "error", S.SUBMITTED: "submit"}
NAMES_VI = {
    S.CREATED: "Đã tạo", S.STARTED: "Đang chờ thanh toán", S.SUBMITTED: "Đang chờ xác nhận",
    S.SUCCESS: "Đã thanh toán", S.FAILED: "Thanh toán không thành công", S.CANCELLED: "Đã huỷ",
    S.EXPIRED: "Đã hết hạn", S.ERROR: "Lỗi cổng thanh toán",
}
REFUND_NAMES_VI = {RefundStatus.SUBMITTED: "Đang hoàn trả", RefundStatus.SUCCESS: "Đã hoàn trả",
                   RefundStatus.ERROR: "Hoàn trả lỗi"}


class InvalidPaymentTransition(Conflict):
    """An event the table does not allow from the payment's state (409)."""


def can(event: str, status: Status | str) -> bool:
    sources, _ = TABLE[event]
    return Status(status) in sources


def next_status(status: Status | str, event: str) -> Status:
    if event not in TABLE:
        raise InvalidPaymentTransition(f"unknown payment event {event!r}")
    sources, target = TABLE[event]
    if Status(status) not in sources:
        raise InvalidPaymentTransition(
            f"Không thể {event} một khoản thanh toán ở trạng thái “{NAMES_VI[Status(status)]}” ({status}).",
            field="status")
    return target


def next_refund_status(status: RefundStatus | str, event: str) -> RefundStatus:
    sources, target = REFUND_TABLE[event]
    if RefundStatus(status) not in sources:
        raise InvalidPaymentTransition(f"cannot {event} a refund that is {status}", field="status")
    return target
