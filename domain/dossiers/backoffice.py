"""The một-cửa back office: officers' queues and actions on dossiers, with legal deadlines.

Officers see only their units' dossiers, the ones routed to their units or asked of them, and the
ones assigned to them; anything else reads as "not found" (authorization as a query). Every action
is a typed command (``domain.dossiers.commands``) done by :func:`act`: it finds the officer and the
dossier, then the action's own function (the ``ACTIONS`` table) fires the workflow table
(``domain.workflow``) with optimistic locking and does its bookkeeping in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import msgspec
from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from domain.accounts.models import OfficerRole, Passkey, User
from domain.accounts.passkeys import (
    PasskeyError,
    RelyingParty,
    bound_assertion_options,
    reverify_evidence,
    verify_bound_assertion,
)
from domain.calendar.due import due_for_procedure
from domain.calendar.engine import TZ
from domain.calendar.store import load_calendar
from domain.catalog.models import Offering, Procedure, Unit
from domain.dossiers import commands
from domain.dossiers.lifecycle import WorkflowConflict, fire
from domain.dossiers.models import (
    Apology,
    Decision,
    Dossier,
    DossierPause,
    DossierResult,
    Handoff,
    PostalItem,
    WalletDocument,
)
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from domain.payments.models import FeeAssessment, Payment
from domain.stats import rollups
from domain.workflow import OPEN, STATE_NAMES_VI, Actor, InvalidTransition, State, find, national_status_label

OFFICER_ACTIONS = tuple(commands.COMMANDS)
QUEUE_VIEWS = ("new", "supplements", "mine", "due_soon", "overdue", "all")
SIGNED = commands.SIGNED


class PasskeyRequired(Forbidden):
    """An officer without a passkey yet: the pages send them to enrol one."""


def _now() -> datetime:
    return datetime.now(UTC)


WORKFLOW_ROLES = frozenset(a.value for a in Actor)
# the events a receiver of a dossier's receiving unit (cross-area: not its deciding unit) may fire, and the
# return method the applicant must have chosen: the result goes back where they filed, or by post from there
RECEIVING_UNIT_EVENTS = {"return_result": "counter", "send_by_post": "post"}


# --- who is this officer --------------------------------------------------------------------------
@dataclass
class Officer:
    user_id: int
    roles: dict[str, set[str]]  # unit code → roles

    @property
    def units(self) -> set[str]:
        return set(self.roles)

    def actors_for(self, d: Dossier, event: str | None = None) -> set[Actor]:
        """What this officer is on ``d``: the roles in its deciding and handling units; for ``event`` (the
        action about to be done) a receiver of the unit that received it cross-area also hands the result
        back there (:data:`RECEIVING_UNIT_EVENTS`)."""
        units = {d.unit_code, d.handling_unit} - {None}
        roles: set[str] = set()
        for unit in units:
            roles |= self.roles.get(str(unit), set())
        actors = {Actor(r) for r in roles if r in WORKFLOW_ROLES}  # an accountant's role fires no event
        if d.assignee_id == self.user_id:
            actors.add(Actor.PROCESSOR)
        wanted = RECEIVING_UNIT_EVENTS.get(event or "")
        if wanted is not None and d.receiving_unit and d.return_method == wanted \
                and "receiver" in self.roles.get(d.receiving_unit, set()):
            actors.add(Actor.RECEIVER)
        return actors


def officer(session: Session, user_id: int) -> Officer:
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None or user.kind not in ("officer", "admin"):
        raise Forbidden("Chức năng dành cho cán bộ.")
    if session.scalar(select(Passkey.id).where(Passkey.user_id == user_id, Passkey.revoked_at.is_(None))
                      .limit(1)) is None:
        raise PasskeyRequired("Cán bộ phải đăng ký passkey trước khi xử lý hồ sơ (trang Tài khoản).")
    roles: dict[str, set[str]] = {}
    for unit, role in session.execute(select(OfficerRole.unit_code, OfficerRole.role)
                                      .where(OfficerRole.user_id == user_id)):
        roles.setdefault(unit, set()).add(role)
    return Officer(user_id, roles)


def visible(session: Session, off: Officer) -> Select[Any]:
    """Dossiers this officer may see: never drafts; own units', routed or consulted to them, assigned, and
    those their units received for another unit (cross-area)."""
    units = list(off.units) or ["-"]
    consulted = exists().where(Handoff.dossier_id == Dossier.id, Handoff.kind == "consult",
                               Handoff.to_unit.in_(units))
    return select(Dossier).where(Dossier.status != State.DRAFT.value, or_(
        Dossier.unit_code.in_(units), Dossier.handling_unit.in_(units), Dossier.assignee_id == off.user_id,
        Dossier.receiving_unit.in_(units), consulted))


def get_for_officer(session: Session, off: Officer, dossier_id: int, *, lock: bool = False) -> Dossier:
    query = visible(session, off).where(Dossier.id == dossier_id)
    d: Dossier | None = session.scalar(query.with_for_update() if lock else query)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    return d


# --- queues ----------------------------------------------------------------------------------
def end_of_next_working_day(session: Session, now: datetime) -> datetime:
    cal = load_calendar(session)
    day = cal.next_working_day(now.astimezone(TZ).date())
    return datetime.combine(day, time(17, 0), TZ)


@dataclass
class QueueRow:
    dossier: Dossier
    procedure_name: str
    applicant: str


def queue(session: Session, user_id: int, view: str, *, q: str = "", limit: int = 50, offset: int = 0,
          now: datetime | None = None, channel: str | None = None) -> tuple[list[QueueRow], int]:
    """My units' dossiers by view; ``q`` searches code, name, CCCD; ``channel`` (online, counter, post) narrows."""
    if view not in QUEUE_VIEWS:
        raise InvalidInput(f"Chế độ xem phải là một trong: {', '.join(QUEUE_VIEWS)}.", field="view")
    if channel is not None and channel not in CHANNEL_VI:
        raise InvalidInput("Kênh nộp phải là online, counter hoặc post.", field="channel")
    if not 1 <= limit <= 200 or not 0 <= offset <= 100_000:
        raise InvalidInput("Số dòng (limit) từ 1 đến 200, vị trí (offset) từ 0 đến 100000.", field="limit")
    if len(q) > 100:
        raise InvalidInput("Từ khoá tìm kiếm quá dài.", field="q")
    off = officer(session, user_id)
    now = now or _now()
    query = visible(session, off)
    open_states = [s.value for s in OPEN]
    if view == "new":
        query = query.where(Dossier.status == State.SUBMITTED.value, Dossier.supplement_count == 0)
    elif view == "supplements":
        query = query.where(Dossier.status == State.SUBMITTED.value, Dossier.supplement_count > 0)
    elif view == "mine":
        query = query.where(Dossier.assignee_id == off.user_id, Dossier.status.in_(open_states))
    elif view == "due_soon":
        query = query.where(Dossier.status.in_(open_states), Dossier.paused_at.is_(None), Dossier.due_at >= now,
                            Dossier.due_at <= end_of_next_working_day(session, now))
    elif view == "overdue":
        query = query.where(Dossier.status.in_(open_states), Dossier.paused_at.is_(None), Dossier.due_at < now)
    if channel is not None:
        query = query.where(Dossier.channel == channel)
    if q.strip():
        term = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{term}%"
        query = query.where(or_(Dossier.code.ilike(like, escape="\\"), Dossier.data.ilike(like, escape="\\")))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = Dossier.due_at.asc() if view in ("due_soon", "overdue") else Dossier.updated_at.desc()
    rows = session.execute(query.add_columns(Procedure.name).join(Procedure, Procedure.code == Dossier.procedure_code)
                           .order_by(order, Dossier.id).limit(limit).offset(offset)).all()
    return [QueueRow(d, name, str(json.loads(d.data).get("applicant_name", ""))) for d, name in rows], total


def received_here(session: Session, user_id: int, *, unit: str | None = None, limit: int = 50, offset: int = 0
                  ) -> tuple[list[QueueRow], int]:
    """The dossiers this officer's units received (``receiving_unit``, whichever unit decides them), with their
    status: newest first; ``unit`` narrows to one of the officer's units (404 for another)."""
    if not 1 <= limit <= 200 or not 0 <= offset <= 100_000:
        raise InvalidInput("Số dòng (limit) từ 1 đến 200, vị trí (offset) từ 0 đến 100000.", field="limit")
    off = officer(session, user_id)
    if unit is not None and unit not in off.units:
        raise NotFound("Không tìm thấy đơn vị.")
    units = [unit] if unit is not None else (list(off.units) or ["-"])
    query = select(Dossier).where(Dossier.status != State.DRAFT.value, Dossier.receiving_unit.in_(units))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.add_columns(Procedure.name).join(Procedure, Procedure.code == Dossier.procedure_code)
                           .order_by(Dossier.received_at.desc(), Dossier.id.desc()).limit(limit).offset(offset)).all()
    return [QueueRow(d, name, str(json.loads(d.data).get("applicant_name", ""))) for d, name in rows], total


# --- acting ----------------------------------------------------------------------------------
def _unit(session: Session, code: str) -> Unit:
    unit = session.get(Unit, code)
    if unit is None or not unit.active:
        raise InvalidInput("Đơn vị không tồn tại.", field="unit")
    return unit


def _user_with_role(session: Session, user_id: int, unit: str, role: str) -> User:
    ok = session.scalar(select(OfficerRole.id).where(OfficerRole.user_id == user_id, OfficerRole.unit_code == unit,
                                                      OfficerRole.role == role))
    user = session.get(User, user_id)
    if ok is None or user is None or user.disabled_at is not None:
        raise InvalidInput(f"Người nhận không phải cán bộ {role} của đơn vị {unit}.", field="to_user")
    return user


def _pauses(session: Session, d: Dossier) -> list[tuple[datetime, datetime | None]]:
    return [(p.started_at, p.ended_at) for p in session.scalars(
        select(DossierPause).where(DossierPause.dossier_id == d.id).order_by(DossierPause.id))]


def recompute_due(session: Session, d: Dossier) -> None:
    """Due date from receipt, skipping pauses; a rescheduled (apology) date is never moved earlier."""
    if d.received_at is None:
        return
    due = due_for_procedure(session, d.procedure_code, d.received_at, _pauses(session, d))
    if due is not None:
        d.original_due_at = due
        latest = session.scalar(select(func.max(Apology.new_due_at)).where(Apology.dossier_id == d.id))
        d.due_at = max(due, latest) if latest is not None else due
    rollups.on_due_change(session, d)


def binding(d: Dossier, decision: str, result_sha256: str, reason: str) -> dict[str, Any]:
    """What an approver's passkey signs: this dossier, at this version, this decision, this result, and
    the reason given (a rejection's reason, an approval's note) exactly as it is stored with the decision."""
    return {"dossier_id": d.id, "version": d.version, "decision": decision, "result_sha256": result_sha256,
            "reason": _reason_text(reason)}


def _reason_text(reason: str) -> str:
    """A reason as every command stores it (``commands.Command.__post_init__``)."""
    return reason.strip()[:commands.REASON_MAX]


def _prepared_result(session: Session, d: Dossier) -> DossierResult | None:
    return session.scalar(select(DossierResult).where(DossierResult.dossier_id == d.id)
                          .order_by(DossierResult.id.desc()).limit(1))


def approval_options(session: Session, user_id: int, dossier_id: int, decision: str, *,
                     rp: RelyingParty, reason: str = "") -> dict[str, Any]:
    """WebAuthn request options whose challenge binds dossier, version, decision, result hash and reason
    (the reason must be the one then sent with the decision)."""
    off = officer(session, user_id)
    d = get_for_officer(session, off, dossier_id)
    if Actor.APPROVER not in off.actors_for(d):
        raise WorkflowConflict("your role may not approve or reject this dossier")
    if d.status != State.AWAITING_APPROVAL.value:
        raise WorkflowConflict(f"cannot {decision} a dossier in state {d.status}")
    if decision == "reject" and not _reason_text(reason):
        raise InvalidInput("Không phê duyệt cần nêu lý do (reason).", field="reason")
    result = _prepared_result(session, d)
    return bound_assertion_options(session, rp, user_id, purpose="decision",
                                   binding=binding(d, decision, result.sha256 if result else "", reason))


# --- acting: one function per action, behind a dispatch table -------------------------------------------
@dataclass
class Acting:
    """One action under way: the officer, the dossier (locked), what ``fire`` is given, the moment."""

    session: Session
    off: Officer
    d: Dossier
    now: datetime
    kw: dict[str, Any]  # actor_id, actors, reason, expected_version, now, amr: what ``fire`` is given
    rp: RelyingParty | None

    @property
    def reason(self) -> str:
        return str(self.kw["reason"])

    @property
    def unit(self) -> str:
        """The unit handling the dossier now."""
        return self.d.handling_unit or self.d.unit_code

    def fire(self, event: str, **extra: Any) -> None:
        fire(self.session, self.d, event, **{**self.kw, **extra})

    def allowed(self, event: str) -> None:
        """What ``fire`` refuses first (a stale version, an event the table does not allow now), checked
        before the action's own checks of its input."""
        if self.kw["expected_version"] is not None and self.kw["expected_version"] != self.d.version:
            raise WorkflowConflict(f"Hồ sơ vừa được người khác cập nhật (phiên bản {self.d.version}). Hãy tải lại.",
                                   field="version")
        try:
            find(event, self.d.status, self.kw["actors"])
        except InvalidTransition as exc:
            raise WorkflowConflict(exc.detail) from None


def act(session: Session, user_id: int, dossier_id: int, action: str,
        command: commands.Command | Mapping[str, Any], *, amr: str = "", rp: RelyingParty | None = None,
        now: datetime | None = None) -> Dossier | Exception:
    """Do one officer action: ``command`` is the action's struct (``domain.dossiers.commands``), or the JSON
    object it is decoded from. Refusals of a passkey assertion are returned (the challenge stays spent);
    the signed ones (approve, reject) need the relying party ``rp`` the passkeys are for."""
    kind = commands.command_type(action)
    if not isinstance(command, commands.Command):
        command = commands.decode(action, command)
    if not isinstance(command, kind):
        raise InvalidInput(f"Nội dung gửi không đúng thao tác ({type(command).__name__}, not "
                           f"{kind.__name__}).", field="body")
    now = now or _now()
    off = officer(session, user_id)
    d = get_for_officer(session, off, dossier_id, lock=True)
    kw: dict[str, Any] = {"actor_id": user_id, "actors": off.actors_for(d, action), "reason": command.reason,
                          "expected_version": command.version, "now": now, "amr": amr}
    refused = ACTIONS[kind](Acting(session, off, d, now, kw, rp), command)
    if refused is not None:
        return refused
    session.flush()
    return d


def _receive(a: Acting, c: commands.Receive) -> None:
    a.fire("receive")
    a.d.received_at = a.now
    recompute_due(a.session, a.d)


def _request_supplement(a: Acting, c: commands.RequestSupplement) -> None:
    """One request lists everything missing; a second one needs its own reason and is marked (``repeat`` in
    the history, ``supplement_count`` 2 or more): the national indicators count such a dossier late."""
    a.allowed("request_supplement")
    number = a.d.supplement_count + 1
    if number > 1 and not a.reason:
        raise InvalidInput("Hồ sơ đã được yêu cầu bổ sung một lần: yêu cầu bổ sung lần nữa phải nêu lý do "
                           "(reason) và hồ sơ sẽ bị tính là trễ hạn.", field="reason")
    listed = "; ".join(m.strip() for m in c.missing)
    detail: dict[str, Any] = {"missing": [m.strip()[:300] for m in c.missing][:30], "request_number": number}
    if number > 1:
        detail["repeat"] = True
    a.fire("request_supplement", reason=listed + (f". {a.reason}" if a.reason else ""), detail=detail)
    a.d.supplement_count = number
    _pause(a, "supplement", "; ".join(c.missing))


def _pause(a: Acting, kind: str, reason: str) -> None:
    """The legal clock stops now (a supplement, a fee, a stop) until :func:`end_pause`."""
    a.d.paused_at = a.now
    a.session.add(DossierPause(dossier_id=a.d.id, started_at=a.now, reason=reason[:2000], kind=kind))


def _stop(a: Acting, c: commands.Stop) -> None:
    a.allowed("stop")
    if not a.reason:
        raise InvalidInput("Dừng giải quyết hồ sơ phải nêu lý do, căn cứ pháp lý (reason).", field="reason")
    a.fire("stop", detail={"form": "05"})
    _pause(a, "stop", a.reason)


def _resume(a: Acting, c: commands.Resume) -> None:
    a.fire("resume")
    end_pause(a.session, a.d, a.now)


def _request_fee(a: Acting, c: commands.RequestFee) -> None:
    """Fees or taxes asked after intake: the amount becomes the dossier's fee (the applicant pays it the usual
    way) and the clock stops until the payment (``fee_paid``, fired by the payments)."""
    a.allowed("request_fee")
    if not a.reason:
        raise InvalidInput("Hãy ghi căn cứ của khoản phải nộp (reason).", field="reason")
    payment = a.session.scalar(select(Payment).where(Payment.open_dossier_id == a.d.id))
    if payment is not None:
        raise Conflict("Hồ sơ đang có một khoản thanh toán (đã trả hoặc chưa kết thúc); không yêu cầu thêm được.",
                       field="amount_vnd")
    a.fire("request_fee", detail={"amount_vnd": c.amount_vnd})
    row = a.session.get(FeeAssessment, a.d.id) or FeeAssessment(dossier_id=a.d.id)
    row.amount_vnd, row.name, row.reason = c.amount_vnd, "Nghĩa vụ tài chính", a.reason[:2000]
    row.set_by, row.set_at = a.off.user_id, a.now
    a.session.add(row)
    a.d.fee_vnd = c.amount_vnd
    _pause(a, "fee", a.reason)


def _accept_withdrawal(a: Acting, c: commands.AcceptWithdrawal) -> None:
    a.fire("accept_withdrawal")
    a.d.finished_at = a.now
    close_pause(a.session, a.d, a.now)


def _refuse_intake(a: Acting, c: commands.RefuseIntake) -> None:
    a.fire("refuse_intake")
    a.d.finished_at = a.now


def _assign(a: Acting, c: commands.Assign) -> None:
    to = _user_with_role(a.session, c.to_user, a.unit, "processor")
    a.fire("assign", detail={"to_user": to.id})
    a.session.add(Handoff(dossier_id=a.d.id, kind="assign", from_unit=a.unit, to_unit=a.unit,
                          from_user=a.off.user_id, to_user=to.id, at=a.now, note=a.reason,
                          step_due_at=_step_due(c.step_due_date)))
    a.d.assignee_id = to.id


def _route(a: Acting, c: commands.Route) -> None:
    unit = _unit(a.session, c.to_unit)
    if c.to_user is not None:
        _user_with_role(a.session, c.to_user, unit.code, "processor")
    a.fire("route", detail={"to_unit": unit.code, "to_user": c.to_user})
    a.session.add(Handoff(dossier_id=a.d.id, kind="route", from_unit=a.unit, to_unit=unit.code,
                          from_user=a.off.user_id, to_user=c.to_user, at=a.now, note=a.reason,
                          step_due_at=_step_due(c.step_due_date)))
    a.d.handling_unit, a.d.assignee_id = unit.code, c.to_user


def _consult(a: Acting, c: commands.Consult) -> None:
    unit = _unit(a.session, c.to_unit)
    if not a.reason:
        raise InvalidInput("Hãy viết câu hỏi cho đơn vị được xin ý kiến (reason).", field="reason")
    a.fire("consult", internal=True, detail={"to_unit": unit.code})
    a.session.add(Handoff(dossier_id=a.d.id, kind="consult", from_unit=a.unit, to_unit=unit.code,
                          from_user=a.off.user_id, at=a.now, note=a.reason, step_due_at=_step_due(c.step_due_date)))


def _answer_consultation(a: Acting, c: commands.AnswerConsultation) -> None:
    ask = a.session.scalar(select(Handoff).where(Handoff.dossier_id == a.d.id, Handoff.kind == "consult",
                                                 Handoff.answered_at.is_(None), Handoff.to_unit.in_(a.off.units))
                           .order_by(Handoff.id).limit(1))
    if ask is None:
        raise WorkflowConflict("no open question to your unit on this dossier")
    if not a.reason:
        raise InvalidInput("Hãy viết câu trả lời (reason).", field="reason")
    actors = a.kw["actors"] | ({Actor.PROCESSOR} if a.off.roles.get(ask.to_unit) else set())
    a.fire("answer_consultation", actors=actors, internal=True, detail={"handoff": ask.id})
    ask.answered_at, ask.answer = a.now, a.reason


def _note(a: Acting, c: commands.Note) -> None:
    if not a.reason:
        raise InvalidInput("Ghi chú đang trống (reason).", field="reason")
    a.fire("note", internal=True)


def _propose(a: Acting, c: commands.Propose) -> None:
    if c.decision == "approve" and _prepared_result(a.session, a.d) is None:
        raise WorkflowConflict("attach or generate the result document before proposing approval")
    a.fire("propose", detail={"decision": c.decision})
    a.d.approval_level = 0


def _send_back(a: Acting, c: commands.SendBack) -> None:
    a.fire("send_back")


def _issue_result(a: Acting, c: commands.IssueResult) -> None:
    result = _prepared_result(a.session, a.d)
    if result is None:
        raise WorkflowConflict("no result document to issue")
    a.fire("issue_result")
    result.issued_at = a.now
    a.d.finished_at = a.now
    a.d.lateness = classify(a.session, a.d, a.now)


def _return_result(a: Acting, c: commands.ReturnResult) -> None:
    a.fire("return_result")
    result = _prepared_result(a.session, a.d)
    if result is not None:
        result.returned_at = a.now
        _to_wallet(a.session, a.d, result)


def _send_by_post(a: Acting, c: commands.SendByPost) -> None:
    """The result handed to the postal operator: its waybill (never one used before) and the address."""
    if a.d.return_method != "post":
        raise WorkflowConflict("Người nộp không chọn nhận kết quả qua bưu chính: hãy trả kết quả theo cách họ "
                               "đã chọn.", field="waybill")
    if a.session.scalar(select(PostalItem.id).where(PostalItem.waybill == c.waybill)) is not None:
        raise Conflict(f"Số vận đơn {c.waybill} đã được dùng cho một bưu gửi khác.", field="waybill")
    a.fire("send_by_post", detail={"waybill": c.waybill})
    owner = a.session.get(User, a.d.owner_id)
    addressee = str(json.loads(a.d.data).get("applicant_name") or (owner.full_name if owner else ""))
    a.session.add(PostalItem(dossier_id=a.d.id, direction="out", waybill=c.waybill, party=addressee,
                             address=a.d.return_address or "", at=a.now, recorded_by=a.off.user_id))


def _confirm_delivery(a: Acting, c: commands.ConfirmDelivery) -> None:
    confirm_delivery(a.session, a.d, source="officer", **a.kw)


def confirm_delivery(session: Session, d: Dossier, *, source: str, now: datetime, delivered_at: datetime | None = None,
                     **kw: Any) -> None:
    """The result sent by post has reached the applicant (told by an officer or by the postal operator):
    the dossier is returned, its postal item delivered, the result in the applicant's wallet."""
    item = session.scalar(select(PostalItem).where(PostalItem.dossier_id == d.id, PostalItem.direction == "out",
                                                   PostalItem.delivered_at.is_(None)).order_by(PostalItem.id.desc())
                          .limit(1))
    fire(session, d, "confirm_delivery", now=now,
         detail={"delivery_source": source, "waybill": item.waybill if item else None}, **kw)
    if item is not None:
        item.delivered_at, item.delivery_source = delivered_at or now, source
    result = _prepared_result(session, d)
    if result is not None:
        result.returned_at = now
        _to_wallet(session, d, result)


def _apologize(a: Acting, c: commands.Apologize) -> None:
    """Form 04: only before the deadline passes, with a reason and a later appointment."""
    a.allowed("apologize")
    if not a.reason:
        raise InvalidInput("Văn bản xin lỗi phải nêu lý do chậm (reason).", field="reason")
    if a.d.due_at is not None and a.now >= a.d.due_at:
        raise Conflict("Đã quá hạn giải quyết: văn bản xin lỗi và hẹn lại (mẫu 04) phải gửi trước khi hết hạn.",
                       field="new_due_date")
    new_due = datetime.combine(c.new_due_date, time(17, 0), TZ)
    if a.d.due_at is not None and new_due <= a.d.due_at:
        raise InvalidInput("Ngày hẹn mới phải sau ngày hẹn hiện tại (new_due_date).", field="new_due_date")
    if not load_calendar(a.session).is_working_day(new_due.date()):
        raise InvalidInput("Ngày hẹn mới phải là ngày làm việc (new_due_date).", field="new_due_date")
    a.fire("apologize", detail={"new_due_date": new_due.isoformat()})
    a.session.add(Apology(dossier_id=a.d.id, reason=a.reason, old_due_at=a.d.due_at, new_due_at=new_due,
                          by=a.off.user_id, at=a.now))
    a.d.due_at = new_due
    rollups.on_due_change(a.session, a.d)


def _decide(a: Acting, c: commands.Approve | commands.Reject) -> PasskeyError | None:
    """Approve or reject, signed with a passkey: the assertion binds dossier, version, decision and result."""
    session, d, action = a.session, a.d, "approve" if isinstance(c, commands.Approve) else "reject"
    if Actor.APPROVER not in a.kw["actors"]:
        raise WorkflowConflict("your role may not approve or reject this dossier")
    if c.version != d.version:
        raise WorkflowConflict(f"Hồ sơ vừa được người khác cập nhật (phiên bản {d.version}). Hãy tải lại.",
                               field="version")
    if d.status != State.AWAITING_APPROVAL.value:
        raise WorkflowConflict(f"cannot {action} a dossier in state {d.status}")
    if action == "reject" and not a.reason:
        raise InvalidInput("Không phê duyệt cần nêu lý do (reason).", field="reason")
    if c.assertion is None:
        raise InvalidInput(commands.FIELD_MESSAGES["assertion"], field="assertion")
    if a.rp is None:
        raise ValueError("a signed decision needs the relying party")
    result = _prepared_result(session, d)
    bound = binding(d, action, result.sha256 if result else "", a.reason)
    evidence = verify_bound_assertion(session, a.rp, a.off.user_id, c.assertion, purpose="decision", binding=bound)
    if isinstance(evidence, PasskeyError):
        return evidence
    # no public key is kept with the evidence: verification uses the passkey on record (never deleted)
    offering = session.get(Offering, d.procedure_code)
    levels = max(1, offering.approval_levels if offering else 1)
    level = d.approval_level + 1
    session.add(Decision(dossier_id=d.id, level=level, decision=action, approver_id=a.off.user_id,
                         dossier_version=d.version, result_sha256=bound["result_sha256"], reason=a.reason,
                         evidence=json.dumps(evidence), created_at=a.now))
    a.kw["amr"] = "webauthn"
    if action == "approve" and level < levels:
        a.fire("approve_level", detail={"level": level, "of": levels})
        d.approval_level = level
    else:
        a.fire(action, detail={"level": level})
        d.approval_level = level
        if action == "reject":
            d.finished_at = a.now
            d.lateness = classify(session, d, a.now)
    return None


def _step_due(day: date | None) -> datetime | None:
    return datetime.combine(day, time(17, 0), TZ) if day is not None else None


ACTIONS: dict[type[commands.Command], Callable[[Acting, Any], PasskeyError | None]] = {
    commands.Receive: _receive, commands.RequestSupplement: _request_supplement,
    commands.RefuseIntake: _refuse_intake, commands.Assign: _assign, commands.Route: _route,
    commands.Consult: _consult, commands.AnswerConsultation: _answer_consultation, commands.Note: _note,
    commands.Propose: _propose, commands.SendBack: _send_back, commands.Approve: _decide, commands.Reject: _decide,
    commands.IssueResult: _issue_result, commands.ReturnResult: _return_result,
    commands.SendByPost: _send_by_post, commands.ConfirmDelivery: _confirm_delivery, commands.Apologize: _apologize,
    commands.Stop: _stop, commands.Resume: _resume, commands.RequestFee: _request_fee,
    commands.AcceptWithdrawal: _accept_withdrawal,
}


def classify(session: Session, d: Dossier, finished: datetime) -> str | None:
    if d.due_at is None:
        return None
    return load_calendar(session).classify(finished, d.due_at)


def close_pause(session: Session, d: Dossier, now: datetime) -> None:
    """The open pause (if any) ends now; the clock is not recomputed (the dossier may have ended)."""
    for pause in session.scalars(select(DossierPause).where(DossierPause.dossier_id == d.id,
                                                            DossierPause.ended_at.is_(None))):
        pause.ended_at = now
    d.paused_at = None
    session.flush()


def end_pause(session: Session, d: Dossier, now: datetime) -> None:
    """The supplement was given, the fee paid, the stop lifted: the legal clock runs again and the due date
    moves by the working time it stood still."""
    close_pause(session, d, now)
    recompute_due(session, d)


# --- results ---------------------------------------------------------------------------------
def attach_result(session: Session, user_id: int, dossier_id: int, *, storage_key: str, sha256: str,
                  content_type: str, size: int, title: str, public_id: str | None = None,
                  expected_version: int | None = None) -> DossierResult:
    off = officer(session, user_id)
    d = get_for_officer(session, off, dossier_id, lock=True)
    if expected_version is not None and expected_version != d.version:
        raise WorkflowConflict(f"Hồ sơ vừa được người khác cập nhật (phiên bản {d.version}). Hãy tải lại.",
                               field="version")
    if not off.actors_for(d) & {Actor.PROCESSOR, Actor.RECEIVER}:
        raise WorkflowConflict("your role may not prepare the result of this dossier")
    if d.status not in (State.PROCESSING.value, State.AWAITING_APPROVAL.value):
        raise WorkflowConflict("a result is prepared while the dossier is being processed")
    result = DossierResult(public_id=public_id or new_public_id(), dossier_id=d.id, storage_key=storage_key,
                           sha256=sha256, content_type=content_type, size=size, title=title[:255] or "Kết quả",
                           prepared_by=user_id, prepared_at=_now())
    session.add(result)
    d.version += 1  # an approval signed earlier no longer matches: the result changed
    session.flush()
    return result


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


def result_context(session: Session, user_id: int, dossier_id: int) -> dict[str, Any]:
    """What a generated result shows (read through the officer's scope)."""
    off = officer(session, user_id)
    d = get_for_officer(session, off, dossier_id)
    proc = session.scalar(select(Procedure).where(Procedure.code == d.procedure_code))
    unit = session.get(Unit, d.unit_code)
    results = json.loads(proc.data).get("results") if proc else []
    return {"unit_name": unit.name if unit else d.unit_code, "procedure_name": proc.name if proc else "",
            "title": (results[0]["name"] if results else "Kết quả giải quyết thủ tục hành chính"),
            "dossier_code": d.code or "", "applicant": str(json.loads(d.data).get("applicant_name", ""))}


def _to_wallet(session: Session, d: Dossier, result: DossierResult) -> None:
    session.add(WalletDocument(owner_id=d.owner_id, organisation_id=d.organisation_id, storage_key=result.storage_key,
                               sha256=result.sha256, content_type=result.content_type, size=result.size,
                               display_name=f"{result.title} — {d.code}"[:160], kind="result", created_at=_now()))


class VerifyOut(msgspec.Struct):
    # returned as is by the API: its name is the OpenAPI component's, its fields the JSON's
    public_id: str
    issuer: str
    procedure: str
    issued_at: datetime | None
    sha256: str
    valid: bool
    matches: bool | None = None


def verify_result(session: Session, public_id: str, sha256: str | None = None) -> VerifyOut:
    """What the QR of a result shows anyone: issuer, procedure, date and hash; no personal data. With
    ``sha256`` (of a copy someone holds), whether it is the issued document's."""
    row = session.execute(
        select(DossierResult, Procedure.name, Unit.name).join(Dossier, Dossier.id == DossierResult.dossier_id)
        .join(Procedure, Procedure.code == Dossier.procedure_code).join(Unit, Unit.code == Dossier.unit_code)
        .where(DossierResult.public_id == (public_id or "")[:32])).first()
    if row is None:
        raise NotFound("Không tìm thấy kết quả với mã này.")
    result, proc, unit = row
    matches = None if sha256 is None else sha256.strip().lower() == result.sha256
    return VerifyOut(public_id=result.public_id, issuer=unit, procedure=proc, issued_at=result.issued_at,
                     sha256=result.sha256, valid=result.issued_at is not None, matches=matches)


@dataclass
class DecisionCheck:
    dossier_id: int
    decisions: list[dict[str, Any]]

    @property
    def valid(self) -> bool:
        return bool(self.decisions) and all(x["valid"] for x in self.decisions)


def _check_decision(session: Session, dossier_id: int, dec: Decision) -> tuple[bool, bool]:
    """(valid, reason signed) of one stored decision: the assertion re-verified against the approver's
    passkey on record (looked up by credential id, active or revoked; never a key carried in the evidence),
    over exactly what the decision row says, its reason included. Decisions signed before the reason was
    bound (their binding has no ``reason``) still verify for the rest, with the reason reported unsigned."""
    try:
        evidence = json.loads(dec.evidence)
        signed_reason = isinstance(evidence, dict) and isinstance(evidence.get("binding"), dict) and \
            "reason" in evidence["binding"]
    except ValueError:
        return False, False
    expected: dict[str, Any] = {"dossier_id": dossier_id, "version": dec.dossier_version, "decision": dec.decision,
                                "result_sha256": dec.result_sha256}
    if signed_reason:
        expected["reason"] = dec.reason
    ok = reverify_evidence(session, evidence, expected, signer_id=dec.approver_id, signed_at=dec.created_at)
    return ok, bool(signed_reason)


def verify_decisions(session: Session, dossier_id: int) -> DecisionCheck:
    """Re-verify every stored decision's passkey assertion against the approver's public key on record."""
    out = []
    for dec in session.scalars(select(Decision).where(Decision.dossier_id == dossier_id).order_by(Decision.id)):
        ok, reason_signed = _check_decision(session, dossier_id, dec)
        out.append({"level": dec.level, "decision": dec.decision, "approver_id": dec.approver_id,
                    "at": dec.created_at, "result_sha256": dec.result_sha256, "valid": ok,
                    "reason_signed": reason_signed})
    return DecisionCheck(dossier_id, out)


# --- logbook (form 07) ----------------------------------------------------------------------
LOGBOOK_COLUMNS = ["Mã hồ sơ", "Thủ tục", "Người nộp", "Kênh nộp", "Ngày nộp", "Ngày tiếp nhận", "Ngày hẹn trả",
                   "Ngày hẹn trả mới", "Ngày có kết quả", "Trạng thái", "Trạng thái (mã Cổng Dịch vụ công quốc gia)",
                   "Đúng hạn", "Cán bộ xử lý"]


LATENESS_VI = {"early": "Trước hạn", "on_time": "Đúng hạn", "late": "Trễ hạn"}
CHANNEL_VI = {"online": "Trực tuyến", "counter": "Trực tiếp", "post": "Bưu chính"}  # Dossier.channel


def logbook(session: Session, user_id: int, unit: str, start: date, end: date) -> list[list[str]]:
    off = officer(session, user_id)
    if unit not in off.units:
        raise NotFound("Không tìm thấy đơn vị.")
    if end < start or (end - start).days > 366 * 5:
        raise InvalidInput("Khoảng thời gian không hợp lệ (tối đa 5 năm).", field="to")
    lo = datetime.combine(start, time(0), TZ)
    hi = datetime.combine(end + timedelta(days=1), time(0), TZ)
    rows = session.execute(
        select(Dossier, Procedure.name, User.full_name).join(Procedure, Procedure.code == Dossier.procedure_code)
        .outerjoin(User, User.id == Dossier.assignee_id)
        .where(or_(Dossier.unit_code == unit, Dossier.receiving_unit == unit), Dossier.submitted_at >= lo,
               Dossier.submitted_at < hi)
        .order_by(Dossier.submitted_at)).all()

    def fmt(value: datetime | None) -> str:
        return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M") if value else ""

    out = []
    for d, proc, assignee in rows:
        rescheduled = d.due_at if d.original_due_at and d.due_at and d.due_at != d.original_due_at else None
        out.append([d.code or "", proc, str(json.loads(d.data).get("applicant_name", "")),
                    CHANNEL_VI.get(d.channel, d.channel), fmt(d.submitted_at),
                    fmt(d.received_at), fmt(d.original_due_at or d.due_at), fmt(rescheduled), fmt(d.finished_at),
                    STATE_NAMES_VI[State(d.status)], national_status_label(d.status),
                    LATENESS_VI.get(d.lateness or "", ""), assignee or ""])
    return out


def result_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


