"""The dossier lifecycle: ONE explicit transition table (DESIGN §3, Circular 01/2018/TT-VPCP).

This module is the table and its look-ups only; it changes nothing. Every state change in the system
goes through :func:`domain.dossiers.lifecycle.fire`, which checks the table here (:func:`find`: source
state, who may do it; :class:`InvalidTransition` otherwise, a 409), bumps the dossier's version
(optimistic locking) and runs the event's effects, listed per event beside this table in
:data:`domain.dossiers.effects.EFFECTS` (history row, outbox rows, audit row, roll-up counters), in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement_requested"
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
# states in which the legal clock may be running (an apology / new appointment is possible)
OPEN = frozenset({State.SUBMITTED, State.RECEIVED, State.SUPPLEMENT_REQUESTED, State.PROCESSING,
                  State.AWAITING_APPROVAL, State.APPROVED, State.RESULT_ISSUED})
BEFORE_DECISION = frozenset({State.SUBMITTED, State.RECEIVED, State.SUPPLEMENT_REQUESTED, State.PROCESSING})


@dataclass(frozen=True)
class Transition:
    event: str
    sources: frozenset[State]
    target: State | None  # None: stays in the same state (routing, apology, re-assignment)
    actors: frozenset[Actor]
    form: str | None = None  # the legal paper form it produces (01..06)
    needs_reason: bool = False
    needs_passkey: bool = False


def _t(event: str, sources: set[State] | frozenset[State], target: State | None, actors: set[Actor],
       **kw: object) -> Transition:
    return Transition(event, frozenset(sources), target, frozenset(actors), **kw)  # type: ignore[arg-type]


S, A = State, Actor
TABLE: tuple[Transition, ...] = (
    _t("submit", {S.DRAFT}, S.SUBMITTED, {A.APPLICANT}),
    _t("resubmit", {S.SUPPLEMENT_REQUESTED}, S.SUBMITTED, {A.APPLICANT}),
    _t("withdraw", BEFORE_DECISION, S.WITHDRAWN, {A.APPLICANT}, needs_reason=True),
    _t("receive", {S.SUBMITTED}, S.RECEIVED, {A.RECEIVER}, form="01"),
    # a dossier entered by a receiving officer (channel counter or post) is received at once: no "submitted"
    _t("receive_at_counter", {S.DRAFT}, S.RECEIVED, {A.RECEIVER}, form="01"),
    _t("request_supplement", {S.SUBMITTED, S.PROCESSING}, S.SUPPLEMENT_REQUESTED, {A.RECEIVER, A.PROCESSOR},
       form="02", needs_reason=True),
    _t("refuse_intake", {S.SUBMITTED}, S.REFUSED_AT_INTAKE, {A.RECEIVER}, form="03", needs_reason=True),
    _t("assign", {S.RECEIVED, S.PROCESSING}, S.PROCESSING, {A.RECEIVER, A.UNIT_ADMIN, A.PROCESSOR}, form="05"),
    _t("route", {S.PROCESSING}, None, {A.PROCESSOR, A.UNIT_ADMIN}, form="05"),
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
    _t("apologize", OPEN - {S.SUPPLEMENT_REQUESTED}, None, {A.RECEIVER, A.PROCESSOR, A.UNIT_ADMIN}, form="04",
       needs_reason=True),
)
BY_EVENT: dict[str, tuple[Transition, ...]] = {}
for _tr in TABLE:
    BY_EVENT[_tr.event] = (*BY_EVENT.get(_tr.event, ()), _tr)

STATE_NAMES_VI = {
    S.DRAFT: "Bản nháp", S.SUBMITTED: "Đã nộp, chờ tiếp nhận", S.RECEIVED: "Đã tiếp nhận",
    S.SUPPLEMENT_REQUESTED: "Cần bổ sung hồ sơ", S.REFUSED_AT_INTAKE: "Từ chối tiếp nhận",
    S.PROCESSING: "Đang giải quyết", S.AWAITING_APPROVAL: "Chờ lãnh đạo phê duyệt", S.APPROVED: "Đã phê duyệt",
    S.REJECTED: "Không giải quyết", S.RESULT_ISSUED: "Có kết quả",
    S.SENT_BY_POST: "Đã gửi kết quả qua bưu chính", S.RETURNED: "Đã trả kết quả",
    S.WITHDRAWN: "Đã rút hồ sơ",
}


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
