"""The officers' workspace (``/can-bo``): the một-cửa back office on a tablet.

Two panes at 1024 px and up (the queue on the left, the selected dossier on the right), one pane at a
time on narrower screens. Plain links and forms work without JavaScript (every page is whole, with
both panes); htmx loads only the pane that changes, and ``/static/officer.js`` adds the photo zoom and
the approvals signed with a passkey (WebAuthn needs a script).

Everything goes through the core (``domain.dossiers.backoffice``): the officer's scope (404 outside it), the
workflow table, optimistic locking (a stale ``version`` shows a 409 with the fresh state).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.web.session import client_ip, page_principal, page_user
from api.web.state import auth_of, settings_of
from api.web.uploads import (
    FORM_OVERHEAD,
    UPLOAD_MAX_BODY,
    check_before_body,
    store_upload,
    stream_document,
    streamed_form,
)
from auth.accounts import needs_passkey_enrolment
from auth.passkeys import RelyingParty, relying_party
from auth.ratelimit import VERIFY_CLIENT, hit
from domain import exports
from domain.accounts.models import OfficerRole, User
from domain.audit import record
from domain.calendar.engine import TZ
from domain.catalog.models import Procedure, Unit
from domain.documents.processing import EXTENSIONS, PDF_TYPE, sha256_of
from domain.dossiers import backoffice, commands
from domain.dossiers import filing as service
from domain.dossiers.lifecycle import WorkflowConflict
from domain.dossiers.models import Decision, Dossier, DossierResult, Handoff
from domain.errors import DomainError, Forbidden, InvalidInput, NotFound, TooManyRequests, Unauthorized
from domain.results import render_result_pdf
from domain.workflow import OPEN, STATE_NAMES_VI, Actor, InvalidTransition, State, events_from, find
from pwa.render import is_htmx, render


def N_(message: str) -> str:
    """Mark a message for translation; the template translates it when shown."""
    return message


# the queue tabs: URL slug → (backoffice view, label)
VIEWS: dict[str, tuple[str, str]] = {
    "moi": ("new", N_("Mới")),
    "bo-sung": ("supplements", N_("Bổ sung")),
    "cua-toi": ("mine", N_("Của tôi")),
    "sap-den-han": ("due_soon", N_("Sắp đến hạn")),
    "qua-han": ("overdue", N_("Quá hạn")),
    "tat-ca": ("all", N_("Tất cả")),
}
DEFAULT_VIEW = "moi"
PAGE_SIZE = 30
# the channel filter and badges: URL slug → (Dossier.channel, label)
CHANNELS: dict[str, tuple[str, str]] = {
    "truc-tiep": ("counter", N_("Trực tiếp")),
    "truc-tuyen": ("online", N_("Trực tuyến")),
    "buu-chinh": ("post", N_("Bưu chính")),
}
CHANNEL_LABELS = {channel: label for channel, label in CHANNELS.values()}

EVENT_LABELS: dict[str, str] = {
    "submit": N_("Nộp hồ sơ"), "resubmit": N_("Nộp bổ sung"), "withdraw": N_("Rút hồ sơ"),
    "receive": N_("Tiếp nhận hồ sơ"), "request_supplement": N_("Yêu cầu bổ sung"),
    "refuse_intake": N_("Từ chối tiếp nhận"), "assign": N_("Phân công xử lý"), "route": N_("Chuyển xử lý"),
    "consult": N_("Xin ý kiến đơn vị khác"), "answer_consultation": N_("Trả lời xin ý kiến"),
    "note": N_("Ghi chú nội bộ"), "propose": N_("Trình phê duyệt"), "send_back": N_("Trả lại để xử lý tiếp"),
    "approve": N_("Phê duyệt"), "approve_level": N_("Phê duyệt một cấp"), "reject": N_("Không phê duyệt"),
    "issue_result": N_("Ban hành kết quả"), "return_result": N_("Trả kết quả"),
    "send_by_post": N_("Gửi kết quả qua bưu chính"), "confirm_delivery": N_("Xác nhận đã phát bưu gửi"),
    "apologize": N_("Xin lỗi và hẹn lại (mẫu 04)"), "result": N_("Kết quả giải quyết"),
    "stop": N_("Dừng giải quyết (mẫu 05)"), "resume": N_("Tiếp tục giải quyết"),
    "request_fee": N_("Yêu cầu thực hiện nghĩa vụ tài chính"), "fee_paid": N_("Đã thực hiện nghĩa vụ tài chính"),
    "request_withdrawal": N_("Yêu cầu rút hồ sơ"), "accept_withdrawal": N_("Chấp nhận rút hồ sơ"),
}
HANDOFF_LABELS = {"assign": N_("Phân công"), "route": N_("Chuyển xử lý"), "consult": N_("Xin ý kiến"),
                  "answer": N_("Trả lời")}
# actions done with a plain form (approve and reject are signed with a passkey: see /ky/)
FORM_ACTIONS = tuple(a for a in backoffice.OFFICER_ACTIONS if a not in backoffice.SIGNED)
# not an officer's button (the applicant's, or the payment's)
HIDDEN_EVENTS = {"submit", "resubmit", "withdraw", "approve_level", "fee_paid", "request_withdrawal"}


# --- who may come in -----------------------------------------------------------------------
def _officer(session: Session, user_id: int) -> backoffice.Officer | None:
    """The officer, or None for an officer who must enrol a passkey first; Forbidden for anyone else."""
    user = session.get(User, user_id)
    if user is not None and user.disabled_at is None and user.kind in ("officer", "admin") \
            and needs_passkey_enrolment(session, user):
        return None
    return backoffice.officer(session, user_id)


ENROL = "/tai-khoan?enrol=1"


# --- what the pages show ---------------------------------------------------------------------
@dataclass
class Params:
    """The queue the officer is looking at (kept in every link and form of the workspace)."""

    slug: str = DEFAULT_VIEW
    q: str = ""
    page: int = 0
    channel: str = ""  # a slug of CHANNELS, or every channel

    @classmethod
    def of(cls, request: Request[Any, Any, Any]) -> Params:
        qp = request.query_params
        slug = qp.get("xem") or DEFAULT_VIEW
        if slug not in VIEWS:  # the API's names work too
            slug = next((s for s, (view, _) in VIEWS.items() if view == slug), DEFAULT_VIEW)
        raw = qp.get("trang") or "0"
        page = int(raw) if raw.isdigit() and len(raw) < 5 else 0
        channel = qp.get("kenh") or ""
        return cls(slug=slug, q=" ".join((qp.get("q") or "").split())[:100], page=page,
                   channel=channel if channel in CHANNELS else "")

    def query(self, **extra: Any) -> str:
        values = {"xem": self.slug, **({"q": self.q} if self.q else {}), "kenh": self.channel,
                  **({"trang": self.page} if self.page else {}), **extra}
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


@dataclass
class Row:
    id: int
    code: str
    procedure: str
    applicant: str
    status: str
    status_name: str
    due_at: datetime | None
    marker: str | None  # overdue | due_soon | paused | None
    channel: str = "online"  # Dossier.channel: online | counter | post


def _marker(d: Dossier, now: datetime, soon: datetime) -> str | None:
    """overdue, due_soon (by the end of the next working day), paused (the clock stands still) or None."""
    if d.due_at is None or State(d.status) not in OPEN:
        return None
    if d.paused_at is not None:
        return "paused"
    if d.due_at < now:
        return "overdue"
    return "due_soon" if d.due_at <= soon else None


def _queue(session: Session, user_id: int, p: Params, now: datetime) -> dict[str, Any]:
    rows, total = backoffice.queue(session, user_id, VIEWS[p.slug][0], q=p.q, limit=PAGE_SIZE,
                                   offset=p.page * PAGE_SIZE, now=now,
                                   channel=CHANNELS[p.channel][0] if p.channel else None)
    soon = backoffice.end_of_next_working_day(session, now)
    return {"rows": [Row(r.dossier.id, r.dossier.code or "", r.procedure_name, r.applicant, r.dossier.status,
                         STATE_NAMES_VI[State(r.dossier.status)], r.dossier.due_at,
                         _marker(r.dossier, now, soon), r.dossier.channel) for r in rows],
            "total": total, "pages": max(1, -(-total // PAGE_SIZE))}


def _names(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {uid: name for uid, name in session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))}


def _open_question(session: Session, off: backoffice.Officer, d: Dossier) -> Handoff | None:
    return session.scalar(select(Handoff).where(
        Handoff.dossier_id == d.id, Handoff.kind == "consult", Handoff.answered_at.is_(None),
        Handoff.to_unit.in_(list(off.units) or ["-"])).order_by(Handoff.id).limit(1))


def available_actions(session: Session, off: backoffice.Officer, d: Dossier,
                      result: DossierResult | None) -> list[str]:
    """The actions this officer may take now: the workflow table from the current state, for the
    officer's roles on this dossier, and the action's own preconditions."""
    actors = off.actors_for(d)
    out: list[str] = []
    for event in events_from(d.status):
        if event in HIDDEN_EVENTS:
            continue
        who = off.actors_for(d, event) if event in backoffice.RECEIVING_UNIT_EVENTS else set(actors)
        if event == "answer_consultation":
            if _open_question(session, off, d) is None:
                continue
            who.add(Actor.PROCESSOR)
        try:
            find(event, d.status, who)
        except InvalidTransition:
            continue
        if event == "apologize" and d.due_at is not None and datetime.now(UTC) >= d.due_at:
            continue  # form 04 is sent before the deadline passes
        if event == "issue_result" and result is None:
            continue
        if event == "send_by_post" and d.return_method != "post":
            continue
        out.append(event)
    if d.status in (State.PROCESSING.value, State.AWAITING_APPROVAL.value) \
            and actors & {Actor.PROCESSOR, Actor.RECEIVER}:
        out.append("result")
    return out


def _field_rows(schema: dict[str, Any], data: dict[str, Any]) -> list[dict[str, Any]]:
    """The filled form in the schema's order: label, type, value (groups with their sub-fields)."""
    rows = []
    for f in schema.get("fields", []):
        value = data.get(f["name"])
        if f.get("type") == "group":
            items = []
            for item in value if isinstance(value, list) else []:
                if isinstance(item, dict):
                    items.append([{"f": sub, "value": item.get(sub["name"])} for sub in f.get("fields", [])])
            rows.append({"f": f, "value": None, "entries": items})
        else:
            rows.append({"f": f, "value": value, "entries": None})
    return rows


def _pane(session: Session, off: backoffice.Officer, dossier_id: int, now: datetime, public_url: str) -> dict[str, Any]:
    d = backoffice.get_for_officer(session, off, dossier_id)
    schema = service.schema_of(session, d)
    data = json.loads(d.data)
    proc = session.scalar(select(Procedure.name).where(Procedure.code == d.procedure_code)) or d.procedure_code
    units = {u.code: u for u in session.scalars(select(Unit))}
    result = session.scalar(select(DossierResult).where(DossierResult.dossier_id == d.id)
                            .order_by(DossierResult.id.desc()).limit(1))
    history = service.history(session, d.id, internal=True)
    handoffs = list(session.scalars(select(Handoff).where(Handoff.dossier_id == d.id).order_by(Handoff.id)))
    decisions = list(session.scalars(select(Decision).where(Decision.dossier_id == d.id).order_by(Decision.id)))
    names = _names(session, {d.assignee_id, *(h.actor_id for h in history), *(h.from_user for h in handoffs),
                             *(h.to_user for h in handoffs), *(x.approver_id for x in decisions)})
    slots = {s["slot"]: s for s in schema.get("documents", [])}
    documents: dict[str, list[Any]] = {}
    for dd, wd in service.dossier_documents(session, d.id):
        documents.setdefault(dd.slot, []).append(wd)
    doc_groups = [{"slot": slot, "name": slots.get(slot, {}).get("name") or slot,
                   "name_en": slots.get(slot, {}).get("name_en"), "files": files}
                  for slot, files in documents.items()]
    actions = available_actions(session, off, d, result)
    # who can be chosen: processors of the handling unit (assign), of every unit (route)
    processors: dict[str, list[tuple[int, str]]] = {}
    for unit_code, user_id, name in session.execute(
            select(OfficerRole.unit_code, User.id, User.full_name).join(User, User.id == OfficerRole.user_id)
            .where(OfficerRole.role == "processor", User.disabled_at.is_(None))
            .order_by(OfficerRole.unit_code, User.full_name, User.id)):
        processors.setdefault(unit_code, []).append((user_id, name))
    handling = d.handling_unit or d.unit_code
    soon = backoffice.end_of_next_working_day(session, now)
    question = _open_question(session, off, d) if "answer_consultation" in actions else None
    return {
        "d": d, "procedure_name": proc, "status_name": STATE_NAMES_VI[State(d.status)],
        "applicant": str(data.get("applicant_name", "")), "fields": _field_rows(schema, data),
        "unit_name": units[d.unit_code].name if d.unit_code in units else d.unit_code,
        "handling_name": units[handling].name if handling in units else handling,
        "routed": d.handling_unit is not None and d.handling_unit != d.unit_code,
        "documents": doc_groups, "result": result, "history": history, "handoffs": handoffs,
        "decisions": decisions, "names": names, "actions": actions, "question": question,
        "marker": _marker(d, now, soon), "processors": processors.get(handling, []),
        "unit_processors": [(units[c], people) for c, people in processors.items() if c in units],
        "units": sorted((u for u in units.values() if u.active), key=lambda u: (u.level, u.name)),
        "unit_names": {c: u.name for c, u in units.items()},
        "verify_url": f"{public_url}/xac-minh/{result.public_id}" if result else None,
        "min_day": (now.astimezone(TZ).date() + timedelta(days=1)).isoformat(),
    }


def _workspace(session: Session, user_id: int, p: Params, dossier_id: int | None, *, queue: bool = True,
               now: datetime | None = None, public_url: str) -> dict[str, Any] | None:
    """Everything a workspace page shows, in one read. None: the officer must enrol a passkey first."""
    off = _officer(session, user_id)
    if off is None:
        return None
    now = now or datetime.now(UTC)
    ctx: dict[str, Any] = {"p": p, "views": VIEWS, "channels": CHANNELS, "channel_labels": CHANNEL_LABELS,
                           "events": EVENT_LABELS, "handoff_labels": HANDOFF_LABELS,
                           "states": {s.value: name for s, name in STATE_NAMES_VI.items()},
                           "my_units": sorted((u.code, u.name) for u in session.scalars(
                               select(Unit).where(Unit.code.in_(list(off.units) or ["-"])))),
                           "today": now.astimezone(TZ).date()}
    if queue:
        ctx.update(_queue(session, user_id, p, now))
    if dossier_id is not None:
        ctx.update(_pane(session, off, dossier_id, now, public_url))
    return ctx


def _base(p: Params, dossier_id: int | None) -> str:
    return f"/can-bo/ho-so/{dossier_id}" if dossier_id else "/can-bo"


async def _page(request: Request[Any, Any, Any], user_id: int, dossier_id: int | None, *,
                extra: dict[str, Any] | None = None, status: int = 200) -> Response[Any]:
    p = Params.of(request)
    htmx = is_htmx(request)
    target = request.headers.get("hx-target") or ""
    queue_only = htmx and target == "queue"
    wants_queue = not htmx or queue_only or dossier_id is None
    ctx = await request.app.state.db.read(_workspace, user_id, p, None if queue_only else dossier_id,
                                          queue=wants_queue, public_url=settings_of(request).public_url)
    if ctx is None:
        return Redirect(ENROL, status_code=303)
    ctx.update({"base": _base(p, dossier_id), "selected": dossier_id, "ok": request.query_params.get("ok"),
                "error": None, "failed": None, "sent": {}, **(extra or {})})
    # personal data on a shared tablet: never kept by caches; the same URL answers either pane to htmx
    headers = {"Cache-Control": "private, no-store", "Vary": "HX-Request, HX-Target, Cookie"}
    if queue_only:
        return render(request, "officer/queue.html", ctx, status=status, headers=headers)
    if htmx and target == "pane" and dossier_id is not None:
        return render(request, "officer/pane.html", ctx, status=status, headers=headers)
    return render(request, "officer/workspace.html", ctx, status=status, headers=headers)


@get("/can-bo", include_in_schema=False)
async def workspace(request: Request[Any, Any, Any]) -> Response[Any]:
    """The queue (tabs, search); no dossier selected yet."""
    me = page_user(request)
    return await _page(request, me.user_id, None)


@get("/can-bo/ho-so/{dossier_id:int}", include_in_schema=False)
async def dossier(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """The queue and one dossier; htmx asks for one pane only (``HX-Target``: ``pane`` or ``queue``)."""
    me = page_user(request)
    return await _page(request, me.user_id, dossier_id)


# --- actions -------------------------------------------------------------------------------
async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _version(raw: Any) -> int:
    text = str(raw if raw is not None else "").strip()
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput("Thiếu phiên bản hồ sơ (version); hãy tải lại trang.", field="version")
    return int(text)


def _act(session: Session, user_id: int, dossier_id: int, action: str, command: commands.Command,
         amr: str, rp: RelyingParty) -> None:
    result = backoffice.act(session, user_id, dossier_id, action, command, amr=amr, rp=rp)
    if isinstance(result, Exception):
        raise result


def _done(request: Request[Any, Any, Any], dossier_id: int, action: str) -> Redirect:
    return Redirect(f"/can-bo/ho-so/{dossier_id}?{Params.of(request).query(ok=action)}", status_code=303)


async def _refused(request: Request[Any, Any, Any], user_id: int, dossier_id: int, action: str,
                   exc: DomainError, sent: dict[str, str] | None = None) -> Response[Any]:
    """The workspace again with why it was refused and the dossier as it is now (409: fresh state)."""
    if isinstance(exc, NotFound | Forbidden):
        raise exc
    keep = {k: v for k, v in (sent or {}).items() if not k.startswith("_") and k != "version"}
    return await _page(request, user_id, dossier_id, status=exc.status,
                       extra={"error": exc, "failed": action, "sent": keep})


@post("/can-bo/ho-so/{dossier_id:int}/xu-ly/{action:str}", include_in_schema=False)
async def act(request: Request[Any, Any, Any], dossier_id: int, action: str) -> Response[Any]:
    """One workflow action from a form: receive, request a supplement, refuse, assign, route, consult,
    answer, note, propose, send back, issue, return, apologise. Carries the dossier's `version`."""
    me = page_user(request)
    if action not in FORM_ACTIONS:
        raise NotFound("Không có thao tác này.")
    form = await _form(request)
    try:
        command = commands.from_form(action, form)
        await request.app.state.db.write(_act, me.user_id, dossier_id, action, command, ",".join(me.amr),
                                         relying_party(auth_of(request)))
    except DomainError as exc:
        return await _refused(request, me.user_id, dossier_id, action, exc, form)
    return _done(request, dossier_id, action)


# --- approvals signed with a passkey ---------------------------------------------------------
@post("/can-bo/ho-so/{dossier_id:int}/ky/{decision:str}/options", status_code=HTTP_200_OK,
      include_in_schema=False)
async def sign_options(request: Request[Any, Any, Any], dossier_id: int, decision: str) -> dict[str, Any]:
    """WebAuthn request options whose challenge binds this dossier, its version, the decision, the
    result's hash and the reason (called by officer.js with ``{reason}`` and the page's CSRF token in
    ``X-CSRFToken``)."""
    me = page_principal(request)
    if me is None:
        raise Unauthorized("Vui lòng đăng nhập trước (sign in first).")
    if decision not in backoffice.SIGNED:
        raise NotFound("Không có thao tác này.")
    wanted = commands.decode_sign_options(await request.body())  # {"reason": ...}: signed with the decision
    return await request.app.state.db.write(  # type: ignore[no-any-return]
        backoffice.approval_options, me.user_id, dossier_id, decision, rp=relying_party(auth_of(request)),
        reason=wanted.reason)


@post("/can-bo/ho-so/{dossier_id:int}/ky/{decision:str}", status_code=HTTP_200_OK, include_in_schema=False,
      request_max_body_size=128 * 1024)
async def sign(request: Request[Any, Any, Any], dossier_id: int, decision: str) -> Response[Any]:
    """Approve or reject with ``{version, assertion, reason}`` (JSON from officer.js); answers where to go.
    A form posted here without the script is told that signing needs JavaScript and a passkey."""
    me = page_user(request)
    if decision not in backoffice.SIGNED:
        raise NotFound("Không có thao tác này.")
    if not request.headers.get("content-type", "").startswith("application/json"):
        form = await _form(request)
        unsigned = InvalidInput("Phê duyệt được ký bằng passkey: cần trình duyệt bật JavaScript và có passkey.",
                                field="assertion")
        return await _refused(request, me.user_id, dossier_id, decision, unsigned, form)
    command = commands.decode(decision, await request.body())
    await request.app.state.db.write(_act, me.user_id, dossier_id, decision, command, ",".join(me.amr),
                                     relying_party(auth_of(request)))
    target = f"/can-bo/ho-so/{dossier_id}?{Params.of(request).query(ok=decision)}"
    return Response({"redirect": target}, headers={"Cache-Control": "no-store"})


# --- documents and results -------------------------------------------------------------------
def _dossier_document(session: Session, user_id: int, dossier_id: int, document_id: int) -> Any:
    off = backoffice.officer(session, user_id)
    d = backoffice.get_for_officer(session, off, dossier_id)
    for _dd, wd in service.dossier_documents(session, d.id):
        if wd.id == document_id:
            return wd
    raise NotFound("Không tìm thấy giấy tờ trong hồ sơ.")


@get("/can-bo/ho-so/{dossier_id:int}/tai-lieu/{document_id:int}", include_in_schema=False)
async def document(request: Request[Any, Any, Any], dossier_id: int, document_id: int) -> Response[Any]:
    """A page of the dossier, through the officer's scope (another unit's: 404)."""
    me = page_user(request)
    doc = await request.app.state.db.read(_dossier_document, me.user_id, dossier_id, document_id)
    return stream_document(request, doc)


def _result_file(session: Session, user_id: int, dossier_id: int, result_id: int) -> service.StoredFile:
    off = backoffice.officer(session, user_id)
    d = backoffice.get_for_officer(session, off, dossier_id)
    r = session.get(DossierResult, result_id)
    if r is None or r.dossier_id != d.id:
        raise NotFound("Không tìm thấy kết quả.")
    return service.StoredFile(storage_key=r.storage_key, sha256=r.sha256, content_type=r.content_type, size=r.size,
                              display_name=f"{r.title[:100]}{EXTENSIONS.get(r.content_type, '')}")


@get("/can-bo/ho-so/{dossier_id:int}/ket-qua/{result_id:int}", include_in_schema=False)
async def result_file(request: Request[Any, Any, Any], dossier_id: int, result_id: int) -> Response[Any]:
    me = page_user(request)
    return stream_document(request, await request.app.state.db.read(_result_file, me.user_id, dossier_id,
                                                                     result_id))


def _check_version(session: Session, user_id: int, dossier_id: int, version: int) -> None:
    off = backoffice.officer(session, user_id)
    d = backoffice.get_for_officer(session, off, dossier_id, lock=True)
    if d.version != version:
        raise WorkflowConflict(
            f"Hồ sơ vừa được người khác cập nhật (phiên bản {d.version}, bạn gửi {version}). "
            "Hãy tải lại và thử lại.", field="version")


def _attach(session: Session, user_id: int, dossier_id: int, version: int, stored: service.StoredFile,
            title: str, public_id: str | None = None) -> DossierResult:
    _check_version(session, user_id, dossier_id, version)
    return backoffice.attach_result(session, user_id, dossier_id, storage_key=stored.storage_key,
                                    sha256=stored.sha256, content_type=stored.content_type, size=stored.size,
                                    title=title, public_id=public_id)


async def _receive_result(request: Request[Any, Any, Any], user_id: int) -> tuple[int, service.StoredFile, str]:
    """The result file of a multipart form, streamed to disk (CSRF and the caller checked before the body)."""
    async with streamed_form(request, max_files=1, max_fields=6, user_id=user_id) as form:
        version = _version(form.get("version"))
        files = form.files_of("file")
        if not files:
            raise InvalidInput("Chưa chọn tệp kết quả.", field="file")
        title = " ".join((form.get("title") or "").split())[:200] or "Kết quả giải quyết"
        return version, await store_upload(request, files[0]), title


@post("/can-bo/ho-so/{dossier_id:int}/ket-qua", include_in_schema=False, request_max_body_size=UPLOAD_MAX_BODY)
async def attach_result(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """Attach the result document (PDF or image), multipart, streamed."""
    me = page_user(request)
    try:
        version, stored, title = await _receive_result(request, me.user_id)
        await request.app.state.db.write(_attach, me.user_id, dossier_id, version, stored, title)
    except DomainError as exc:
        return await _refused(request, me.user_id, dossier_id, "result", exc)
    return _done(request, dossier_id, "result")


def _generate_context(session: Session, user_id: int, dossier_id: int, version: int) -> dict[str, Any]:
    off = backoffice.officer(session, user_id)
    d = backoffice.get_for_officer(session, off, dossier_id)
    if d.version != version:
        raise WorkflowConflict(
            f"Hồ sơ vừa được người khác cập nhật (phiên bản {d.version}, bạn gửi {version}). "
            "Hãy tải lại và thử lại.", field="version")
    if not off.actors_for(d) & {Actor.PROCESSOR, Actor.RECEIVER}:
        raise WorkflowConflict("your role may not prepare the result of this dossier")
    return backoffice.result_context(session, user_id, dossier_id)


@post("/can-bo/ho-so/{dossier_id:int}/ket-qua/tao", include_in_schema=False)
async def generate_result(request: Request[Any, Any, Any], dossier_id: int) -> Response[Any]:
    """Generate the result from the template with the dossier's data (a PDF with the verify QR code)."""
    me = page_user(request)
    form = await _form(request)
    db = request.app.state.db
    try:
        version = _version(form.get("version"))
        ctx = await db.read(_generate_context, me.user_id, dossier_id, version)
        public_id = backoffice.new_public_id()
        verify_url = f"{settings_of(request).public_url}/xac-minh/{public_id}"
        pdf = await asyncio.to_thread(render_result_pdf, issued_on=datetime.now(UTC), verify_url=verify_url, **ctx)
        digest = backoffice.result_hash(pdf)
        key = f"{digest[:2]}/{digest}"
        await asyncio.to_thread(request.app.state.storage.put, key, pdf, PDF_TYPE)
        stored = service.StoredFile(storage_key=key, sha256=digest, content_type=PDF_TYPE, size=len(pdf),
                                    display_name=f"{ctx['title']}.pdf")
        await db.write(_attach, me.user_id, dossier_id, version, stored, ctx["title"], public_id)
    except DomainError as exc:
        return await _refused(request, me.user_id, dossier_id, "result", exc, form)
    return _done(request, dossier_id, "result")


# --- logbook (form 07) -----------------------------------------------------------------------
def _day(raw: str | None, field: str) -> date:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        raise InvalidInput("Ngày không hợp lệ (yyyy-mm-dd).", field=field) from None


@get("/can-bo/so-theo-doi.csv", include_in_schema=False)
async def logbook(request: Request[Any, Any, Any]) -> Response[Any]:
    """The logbook (form 07) of one of the officer's units for a period, as CSV (UTF-8 with BOM)."""
    me = page_user(request)
    qp = request.query_params
    unit = (qp.get("unit") or "")[:32]
    start, end = _day(qp.get("from"), "from"), _day(qp.get("to"), "to")
    rows = await request.app.state.db.read(backoffice.logbook, me.user_id, unit, start, end)
    safe = "".join(ch for ch in unit if ch.isalnum() or ch in ".-")
    return Response(exports.csv_bytes(backoffice.LOGBOOK_COLUMNS, rows), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="so-theo-doi-{safe}-{start}-{end}.csv"',
                             "Cache-Control": "private, no-store"})


# --- public verification of a result (the QR code's page) --------------------------------------
async def _verify_page(request: Request[Any, Any, Any], public_id: str, *, match: bool | None = None,
                       error: DomainError | None = None, status: int = 200) -> Response[Any]:
    v = await request.app.state.db.read(backoffice.verify_result, public_id)
    return render(request, "officer/verify.html", {"v": v, "match": match, "error": error}, status=status)


@get("/xac-minh/{public_id:str}", include_in_schema=False)
async def verify_result(request: Request[Any, Any, Any], public_id: str) -> Response[Any]:
    """Public: is this a result the province issued? Issuer, procedure, date, SHA-256; no personal data."""
    return await _verify_page(request, public_id)


def _verify_attempt(session: Session, ip: str, factor: int) -> int | None:
    """Count one anonymous verification upload of this address; the wait when over the limit (audited)."""
    wait = hit(session, VERIFY_CLIENT, ip, factor=factor)
    if wait is not None:
        record(session, "verify.rate_limited", subject=f"ip:{ip}", ip=ip)
    return wait


@post("/xac-minh/{public_id:str}", include_in_schema=False, request_max_body_size=UPLOAD_MAX_BODY,
      opt={"exclude_from_csrf": True})  # public and changes nothing: the file is hashed and forgotten
async def verify_upload(request: Request[Any, Any, Any], public_id: str) -> Response[Any]:
    """Compare an uploaded copy with the issued result's hash: khớp / không khớp. Before the body: the address
    is under its limit (429, every attempt counts), the announced size under MOTCUA_VERIFY_MAX_MB (413), the
    result exists (404)."""
    factor = settings_of(request).limits.client_limit_factor
    wait = await request.app.state.db.write(_verify_attempt, client_ip(request), factor)  # every attempt counts
    if wait is not None:
        raise TooManyRequests("Địa chỉ này đã gửi quá nhiều tệp để đối chiếu; vui lòng thử lại sau.", retry_after=wait)
    limit = settings_of(request).uploads.verify_max_bytes
    await check_before_body(request, user_id=None, max_body=limit + FORM_OVERHEAD)  # a too large Content-Length
    await request.app.state.db.read(backoffice.verify_result, public_id)  # 404 before reading the body
    try:
        async with streamed_form(request, max_files=1, max_fields=2, user_id=None, max_body=limit + FORM_OVERHEAD,
                                 max_file_bytes=limit) as form:
            files = form.files_of("file")
            if not files or files[0].size == 0:
                missing = InvalidInput("Chưa chọn tệp để đối chiếu.", field="file")
                return await _verify_page(request, public_id, error=missing, status=400)
            digest = await asyncio.to_thread(sha256_of, files[0].path)
    except DomainError as exc:
        return await _verify_page(request, public_id, error=exc, status=exc.status)
    v = await request.app.state.db.read(backoffice.verify_result, public_id)
    return await _verify_page(request, public_id, match=digest == v.sha256)


ROUTES: list[Any] = [workspace, dossier, act, sign_options, sign, document, result_file, attach_result, generate_result,
          logbook, verify_result, verify_upload]
