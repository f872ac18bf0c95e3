"""The dossier lifecycle: ONE explicit transition table (DESIGN §3, Decree 118/2025/NĐ-CP, Circular 03/2025/TT-VPCP).

This module is the table and its look-ups only; it changes nothing. Every state change in the system
goes through :func:`domain.dossiers.lifecycle.fire`, which checks the table here (:func:`find`: source
state, who may do it; :class:`InvalidTransition` otherwise, a 409), bumps the dossier's version
(optimistic locking) and runs the event's effects, listed per event beside this table in
:data:`domain.dossiers.effects.EFFECTS` (history row, outbox rows, audit row, roll-up counters), in the
caller's transaction.

Beside the table: :data:`FORMS`, the seven forms of Circular 03/2025/TT-VPCP (Annex I) that the
events produce (``Transition.form``), and :data:`NATIONAL_STATUS`, the one mapping of each state to the
status code (1–10) the national public service portal counts (reports now, synchronisation later).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    FEE_REQUESTED = "fee_requested"  # fees or taxes asked after intake: the clock stops until paid
    STOPPED = "stopped"  # handling stopped with a legal reason (form 05): the clock stops; resumed or it ends
    WITHDRAWAL_REQUESTED = "withdrawal_requested"  # the applicant asked to withdraw a received dossier
    REFUSED_AT_INTAKE = "refused_at_intake"
    PROCESSING = "processing"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    RESULT_ISSUED = "result_issued"
    SENT_BY_POST = "sent_by_post"  # the result is with the postal operator (waybill recorded)
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class Actor(StrEnum):
    """Who may fire an event: the filer (owner or organisation member) or an officer role of the unit."""

    APPLICANT = "applicant"
    RECEIVER = "receiver"
    PROCESSOR = "processor"
    APPROVER = "approver"
    UNIT_ADMIN = "unit_admin"


TERMINAL = frozenset({State.REFUSED_AT_INTAKE, State.REJECTED, State.RETURNED, State.WITHDRAWN})
# states of a dossier still being dealt with (an officer may note it; queues list it)
OPEN = frozenset({State.SUBMITTED, State.RECEIVED, State.SUPPLEMENT_REQUESTED, State.FEE_REQUESTED, State.STOPPED,
                  State.WITHDRAWAL_REQUESTED, State.PROCESSING, State.AWAITING_APPROVAL, State.APPROVED,
                  State.RESULT_ISSUED})
# the legal clock stands still in these (a pause is open: the due date moves by it when it ends)
PAUSED = frozenset({State.SUPPLEMENT_REQUESTED, State.FEE_REQUESTED, State.STOPPED})
# an apology with a new appointment (form 04) is for a clock that is running
RUNNING = OPEN - PAUSED - {State.WITHDRAWAL_REQUESTED}
# a received dossier the applicant may ask to withdraw (an officer accepts it); before intake they withdraw at once
WITHDRAWABLE = frozenset({State.RECEIVED, State.SUPPLEMENT_REQUESTED, State.FEE_REQUESTED, State.STOPPED,
                          State.PROCESSING})
OFFICERS = {Actor.RECEIVER, Actor.PROCESSOR, Actor.UNIT_ADMIN}


@dataclass(frozen=True)
class Transition:
    event: str
    sources: frozenset[State]
    target: State | None  # None: stays in the same state (routing, apology, re-assignment)
    actors: frozenset[Actor]
    form: str | None = None  # the legal form it produces (01..07 of Circular 03/2025/TT-VPCP, :data:`FORMS`)
    needs_reason: bool = False
    needs_passkey: bool = False


def _t(event: str, sources: set[State] | frozenset[State], target: State | None, actors: set[Actor],
       **kw: object) -> Transition:
    return Transition(event, frozenset(sources), target, frozenset(actors), **kw)  # type: ignore[arg-type]


S, A = State, Actor
TABLE: tuple[Transition, ...] = (
    _t("submit", {S.DRAFT}, S.SUBMITTED, {A.APPLICANT}),
    _t("resubmit", {S.SUPPLEMENT_REQUESTED}, S.SUBMITTED, {A.APPLICANT}),
    # before intake the applicant withdraws at once; a received dossier: they ask, an officer accepts
    _t("withdraw", {S.SUBMITTED, S.SUPPLEMENT_REQUESTED}, S.WITHDRAWN, {A.APPLICANT}, needs_reason=True),
    _t("request_withdrawal", WITHDRAWABLE, S.WITHDRAWAL_REQUESTED, {A.APPLICANT}, needs_reason=True),
    _t("accept_withdrawal", {S.WITHDRAWAL_REQUESTED}, S.WITHDRAWN, OFFICERS),
    _t("receive", {S.SUBMITTED}, S.RECEIVED, {A.RECEIVER}, form="01"),
    # a dossier entered by a receiving officer (channel counter or post) is received at once: no "submitted"
    _t("receive_at_counter", {S.DRAFT}, S.RECEIVED, {A.RECEIVER}, form="01"),
    # once, listing everything missing; a second request needs its own reason and counts the dossier late
    _t("request_supplement", {S.SUBMITTED, S.PROCESSING}, S.SUPPLEMENT_REQUESTED, {A.RECEIVER, A.PROCESSOR},
       form="02", needs_reason=True),
    # fees or taxes asked after intake: the clock stops until the payment resumes it
    _t("request_fee", {S.PROCESSING}, S.FEE_REQUESTED, OFFICERS, needs_reason=True),
    _t("fee_paid", {S.FEE_REQUESTED}, S.PROCESSING, {A.APPLICANT}),
    # handling stopped with a legal reason (form 05): the clock stops; an officer resumes it, or it ends there
    _t("stop", {S.RECEIVED, S.PROCESSING}, S.STOPPED, OFFICERS, form="05", needs_reason=True),
    _t("resume", {S.STOPPED}, S.PROCESSING, OFFICERS),
    _t("refuse_intake", {S.SUBMITTED}, S.REFUSED_AT_INTAKE, {A.RECEIVER}, form="03", needs_reason=True),
    _t("assign", {S.RECEIVED, S.PROCESSING}, S.PROCESSING, {A.RECEIVER, A.UNIT_ADMIN, A.PROCESSOR}, form="06"),
    _t("route", {S.PROCESSING}, None, {A.PROCESSOR, A.UNIT_ADMIN}, form="06"),
    _t("consult", {S.PROCESSING}, None, {A.PROCESSOR}),
    _t("answer_consultation", {S.PROCESSING, S.AWAITING_APPROVAL}, None, {A.PROCESSOR, A.APPROVER}),
    _t("note", OPEN, None, {A.RECEIVER, A.PROCESSOR, A.APPROVER, A.UNIT_ADMIN}),
    _t("propose", {S.PROCESSING}, S.AWAITING_APPROVAL, {A.PROCESSOR}),
    _t("send_back", {S.AWAITING_APPROVAL}, S.PROCESSING, {A.APPROVER}, needs_reason=True),
    _t("approve", {S.AWAITING_APPROVAL}, S.APPROVED, {A.APPROVER}, needs_passkey=True),
    _t("approve_level", {S.AWAITING_APPROVAL}, None, {A.APPROVER}, needs_passkey=True),
    _t("reject", {S.AWAITING_APPROVAL}, S.REJECTED, {A.APPROVER}, needs_reason=True, needs_passkey=True),
    _t("issue_result", {S.APPROVED}, S.RESULT_ISSUED, {A.PROCESSOR, A.RECEIVER}),
    _t("return_result", {S.RESULT_ISSUED}, S.RETURNED, {A.RECEIVER}),
    _t("send_by_post", {S.RESULT_ISSUED}, S.SENT_BY_POST, {A.RECEIVER}),  # the waybill is recorded
    _t("confirm_delivery", {S.SENT_BY_POST}, S.RETURNED, {A.RECEIVER}),  # by an officer or the operator
    # before the deadline passes (checked by the back office), with a later appointment
    _t("apologize", RUNNING, None, {A.RECEIVER, A.PROCESSOR, A.UNIT_ADMIN}, form="04",
       needs_reason=True),
)
BY_EVENT: dict[str, tuple[Transition, ...]] = {}
for _tr in TABLE:
    BY_EVENT[_tr.event] = (*BY_EVENT.get(_tr.event, ()), _tr)

STATE_NAMES_VI = {
    S.DRAFT: "Bản nháp", S.SUBMITTED: "Đã nộp, chờ tiếp nhận", S.RECEIVED: "Đã tiếp nhận",
    S.SUPPLEMENT_REQUESTED: "Cần bổ sung hồ sơ", S.FEE_REQUESTED: "Chờ thực hiện nghĩa vụ tài chính",
    S.STOPPED: "Dừng giải quyết", S.WITHDRAWAL_REQUESTED: "Chờ chấp nhận rút hồ sơ",
    S.REFUSED_AT_INTAKE: "Từ chối tiếp nhận",
    S.PROCESSING: "Đang giải quyết", S.AWAITING_APPROVAL: "Chờ lãnh đạo phê duyệt", S.APPROVED: "Đã phê duyệt",
    S.REJECTED: "Không giải quyết", S.RESULT_ISSUED: "Có kết quả",
    S.SENT_BY_POST: "Đã gửi kết quả qua bưu chính", S.RETURNED: "Đã trả kết quả",
    S.WITHDRAWN: "Đã rút hồ sơ",
}


# the seven forms of Circular 03/2025/TT-VPCP (Annex I), by number
FORMS = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "04": "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
    "05": "Thông báo dừng giải quyết hồ sơ",
    "06": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "07": "Sổ theo dõi hồ sơ",
}
FORM_OF_EVENT = {r.event: r.form for r in TABLE if r.form}

# the status codes the national public service portal counts (1–10), one per state; a draft is not filed
NATIONAL_STATUS_NAMES = {
    1: "Mới đăng ký", 2: "Được tiếp nhận", 3: "Không được tiếp nhận", 4: "Đang xử lý",
    5: "Yêu cầu bổ sung giấy tờ", 6: "Yêu cầu thực hiện nghĩa vụ tài chính", 7: "Công dân yêu cầu rút hồ sơ",
    8: "Dừng xử lý", 9: "Đã xử lý xong", 10: "Đã trả kết quả",
}
NATIONAL_STATUS: dict[State, int | None] = {
    S.DRAFT: None, S.SUBMITTED: 1, S.RECEIVED: 2, S.REFUSED_AT_INTAKE: 3,
    S.PROCESSING: 4, S.AWAITING_APPROVAL: 4, S.APPROVED: 4,
    S.SUPPLEMENT_REQUESTED: 5, S.FEE_REQUESTED: 6, S.WITHDRAWAL_REQUESTED: 7, S.WITHDRAWN: 7, S.STOPPED: 8,
    S.RESULT_ISSUED: 9, S.REJECTED: 9, S.SENT_BY_POST: 9,  # handled: a result (or a refusal) is ready
    S.RETURNED: 10,
}


def national_status(state: State | str) -> int | None:
    """The national portal's status code (1–10) of a state; None for a draft (never sent)."""
    return NATIONAL_STATUS[State(state)]


def national_status_label(state: State | str) -> str:
    """``"4 — Đang xử lý"``: how reports name a state's national status ("" for a draft)."""
    code = national_status(state)
    return f"{code} — {NATIONAL_STATUS_NAMES[code]}" if code is not None else ""


class InvalidTransition(Exception):
    """Raised for an event that the table does not allow from this state or for this actor."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def find(event: str, state: State | str, actors: set[Actor] | frozenset[Actor]) -> Transition:
    """The table row for an event from a state by one of the actor's roles, or InvalidTransition."""
    rows = BY_EVENT.get(event)
    if not rows:
        raise InvalidTransition(f"unknown action {event!r}")
    state = State(state)
    by_state = [r for r in rows if state in r.sources]
    if not by_state:
        allowed = ", ".join(sorted({s.value for r in rows for s in r.sources}))
        raise InvalidTransition(
            f"cannot {event} a dossier that is {STATE_NAMES_VI[state].lower()} ({state.value}); "
            f"allowed from: {allowed}")
    permitted = [r for r in by_state if r.actors & set(actors)]
    if not permitted:
        raise InvalidTransition(f"your role may not {event} this dossier")
    return permitted[0]


def target_of(row: Transition, state: State | str) -> State:
    return row.target if row.target is not None else State(state)


def events_from(state: State | str) -> list[str]:
    state = State(state)
    return sorted({r.event for r in TABLE if state in r.sources})
