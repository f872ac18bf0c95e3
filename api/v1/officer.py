"""JSON API of the back office: queues, actions (approvals signed with a passkey), results, logbook."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from sqlalchemy.orm import Session

from api.v1.dossiers import DossierOut, dossier_out
from api.web.passkey_session import PasskeySessionRequired, is_staff, signed_in_with_passkey
from api.web.providers import API_USER
from api.web.state import auth_of, settings_of
from api.web.uploads import receive_result_upload
from auth import accounts
from auth.passkeys import relying_party
from auth.tokens import Principal
from domain import exports
from domain.db import Database
from domain.documents.processing import PDF_TYPE
from domain.dossiers import backoffice, commands, filing
from domain.dossiers.filing import StoredFile, get_dossier
from domain.errors import Conflict, InvalidInput, NotFound
from domain.results import render_result_pdf
from domain.workflow import STATE_NAMES_VI, State


class QueueItem(msgspec.Struct):
    id: int
    code: str | None
    procedure_code: str
    procedure_name: str
    applicant: str
    status: str
    status_name: str
    version: int
    submitted_at: datetime | None
    due_date: datetime | None
    assignee_id: int | None
    channel: str = "online"  # how it came in: counter | online | post
    receiving_unit: str | None = None  # where it was received (the deciding unit's queue has it)


class QueueOut(msgspec.Struct):
    items: list[QueueItem]
    total: int
    view: str


def queue_item(r: backoffice.QueueRow) -> QueueItem:
    d = r.dossier
    return QueueItem(id=d.id, code=d.code, procedure_code=d.procedure_code, procedure_name=r.procedure_name,
                     applicant=r.applicant, status=d.status, status_name=STATE_NAMES_VI[State(d.status)],
                     version=d.version, submitted_at=d.submitted_at, due_date=d.due_at, assignee_id=d.assignee_id,
                     channel=d.channel, receiving_unit=d.receiving_unit_code)


class ResultOut(msgspec.Struct):
    id: int
    public_id: str
    sha256: str
    content_type: str
    size: int
    title: str
    verify_url: str


class DecisionOut(msgspec.Struct):
    level: int
    decision: str
    approver_id: int
    at: datetime
    result_sha256: str
    valid: bool
    reason_signed: bool = True  # False: signed before the reason was part of what a passkey signs


class DecisionCheckOut(msgspec.Struct):
    dossier_id: int
    valid: bool
    decisions: list[DecisionOut]


@dataclass
class ActionOperation(Operation):
    """The action endpoint reads its body itself (the command of the action in the path): its OpenAPI
    request body is the commands' schema, one of them per action."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(required=True, description="The command of the action in the path.",
                                        content={"application/json": OpenAPIMediaType(
                                            schema=commands.schema())})  # type: ignore[arg-type]  # a JSON Schema


class OfficerController(Controller):
    path = "/api/v1/officer"
    tags = ["back office"]
    dependencies = {"me": API_USER}

    @get("/queue")
    async def queue(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                    view: Annotated[str, Parameter(description="new|supplements|mine|due_soon|overdue|all")] = "new",
                    q: str = "", limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
                    offset: Annotated[int, Parameter(ge=0, le=100_000)] = 0) -> QueueOut:
        """My units' dossiers by view; `q` searches code, name, CCCD."""
        rows, total = await db.read(backoffice.queue, me.user_id, view, q=q, limit=limit,
                                                      offset=offset)
        return QueueOut(view=view, total=total, items=[queue_item(r) for r in rows])

    @get("/received")
    async def received(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                       unit: Annotated[str | None, Parameter(max_length=32, description="one of my units")] = None,
                       limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
                       offset: Annotated[int, Parameter(ge=0, le=100_000)] = 0) -> QueueOut:
        """The dossiers my units received (at a counter, by post, or online), whichever unit decides them
        (cross-area), with their status: newest first."""
        rows, total = await db.read(backoffice.received_here, me.user_id, unit=unit, limit=limit, offset=offset)
        return QueueOut(view="received", total=total, items=[queue_item(r) for r in rows])

    @get("/dossiers/{dossier_id:int}")
    async def read(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> DossierOut:
        def run(session: Session) -> DossierOut:
            off = backoffice.officer(session, me.user_id)
            return dossier_out(session, backoffice.get_for_officer(session, off, dossier_id), officer=True)

        return await db.read(run)

    @post("/dossiers/{dossier_id:int}/actions/{action:str}/options", status_code=HTTP_200_OK)
    async def options(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int,
                      action: str, data: commands.SignOptions | None = None) -> dict[str, Any]:
        """WebAuthn request options for approve/reject: the challenge binds dossier, version, decision, result
        and the `reason` given here (optional body; a rejection needs one), to be sent unchanged with the
        decision."""
        if action not in backoffice.SIGNED:
            raise InvalidInput("Chỉ thao tác phê duyệt (approve) và từ chối (reject) mới cần ký bằng khóa truy "
                               "cập.", field="action")
        return await db.write(backoffice.approval_options, me.user_id, dossier_id, action,
                              rp=relying_party(auth_of(request)), reason=data.reason if data else "")

    @post("/dossiers/{dossier_id:int}/actions/{action:str}", status_code=HTTP_200_OK,
          operation_class=ActionOperation)
    async def act(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int, action: str
    ) -> DossierOut:
        """receive, request_supplement, refuse_intake, assign, route, consult, answer_consultation, note,
        propose, send_back, approve, reject, issue_result, return_result, send_by_post (`waybill`),
        confirm_delivery, apologize — with the expected
        `version` (409 and the fresh state when stale)."""
        raw = await request.body()
        if len(raw) > 128 * 1024:
            raise InvalidInput("Nội dung gửi quá lớn.", field="body")
        command = commands.decode(action, raw)

        def run(session: Session) -> DossierOut | Exception:
            result = backoffice.act(session, me.user_id, dossier_id, action, command, amr=",".join(me.amr),
                                    rp=relying_party(auth_of(request)))
            return result if isinstance(result, Exception) else dossier_out(session, result, officer=True)

        out = await db.write(run)
        if isinstance(out, Exception):
            raise out
        return out

    @post("/dossiers/{dossier_id:int}/result", status_code=HTTP_201_CREATED, request_max_body_size=21 * 1024 * 1024)
    async def result(self, request: Request[Any, Any, Any], db: Database, me: Principal, dossier_id: int) -> ResultOut:
        """Attach the result document (multipart `file`, PDF or image) or generate it (JSON `{"generate": true}`)."""
        public_id = backoffice.new_public_id()
        verify_url = f"{settings_of(request).public_url}/xac-minh/{public_id}"
        if request.headers.get("content-type", "").startswith("multipart/"):
            stored, title = await receive_result_upload(request, user_id=me.user_id)
        else:
            ctx = await db.read(backoffice.result_context, me.user_id, dossier_id)
            pdf = await asyncio.to_thread(render_result_pdf, issued_on=datetime.now(UTC), verify_url=verify_url, **ctx)
            digest = backoffice.result_hash(pdf)
            key = f"{digest[:2]}/{digest}"
            await asyncio.to_thread(request.app.state.storage.put, key, pdf, PDF_TYPE)
            stored = StoredFile(storage_key=key, sha256=digest, content_type=PDF_TYPE, size=len(pdf),
                                display_name=f"{ctx['title']}.pdf")
            title = ctx["title"]
        r = await db.write(backoffice.attach_result, me.user_id, dossier_id, storage_key=stored.storage_key,
                           sha256=stored.sha256, content_type=stored.content_type, size=stored.size, title=title,
                           public_id=public_id)
        return ResultOut(id=r.id, public_id=r.public_id, sha256=r.sha256, content_type=r.content_type,
                         size=r.size, title=r.title, verify_url=verify_url)

    @get("/logbook.csv")
    async def logbook(self, request: Request[Any, Any, Any], db: Database, me: Principal, unit: str,
                      from_: Annotated[date, Parameter(query="from")],
                      to: date) -> Response[bytes]:
        """The logbook (form 07) of a unit for a period, as CSV (UTF-8 with BOM for spreadsheets)."""
        rows = await db.read(backoffice.logbook, me.user_id, unit, from_, to)
        return Response(exports.csv_bytes(backoffice.LOGBOOK_COLUMNS, rows), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="so-theo-doi-{unit}-{from_}-{to}.csv"'})


class IdentityIn(msgspec.Struct):
    cccd: str
    reason: str = ""  # what was checked (papers, which dossier): required, audited


class FormIn(msgspec.Struct):
    steps: list[str]
    fields: list[dict[str, Any]]
    documents: list[dict[str, Any]]


class AdminController(Controller):
    path = "/api/v1"
    tags = ["back office"]
    dependencies = {"me": API_USER}

    @post("/officer/users/{user_id:int}/verify-identity", status_code=HTTP_200_OK)
    async def verify_identity(self, request: Request[Any, Any, Any], db: Database, me: Principal, user_id: int,
                              data: IdentityIn) -> dict[str, Any]:
        """An officer who checked the person's papers raises the account to identity level 2: the system admin,
        or a receiver / unit admin of a unit where the person has a filed dossier (else 404), after a fresh
        passkey step-up (403 until then), with the reason written down. A CCCD of another account: 409."""
        def run(session: Session) -> dict[str, Any] | Conflict:
            user = accounts.verify_identity(session, user_id, officer=me.user_id, cccd=data.cccd, reason=data.reason,
                                            session_id=me.session_id)
            if isinstance(user, Conflict):
                return user
            return {"id": user.id, "identity_level": user.identity_level}

        result = await db.write(run)
        if isinstance(result, Conflict):
            raise result
        return result

    @post("/admin/procedures/{code:str}/form", status_code=HTTP_201_CREATED)
    async def edit_form(
        self, request: Request[Any, Any, Any], db: Database, me: Principal, code: str, data: FormIn
    ) -> dict[str, Any]:
        """A system admin edits a procedure's form: a new revision; dossiers started stay on theirs."""
        def run(session: Session) -> dict[str, Any]:
            accounts.require_admin(session, me.user_id)
            form = filing.edit_form(session, code, {"steps": data.steps, "fields": data.fields,
                                                    "documents": data.documents}, actor_id=me.user_id)
            return {"procedure_code": code, "revision": form.revision}

        return await db.write(run)


class DecisionController(Controller):
    path = "/api/v1"
    tags = ["back office"]

    @get("/dossiers/{dossier_id:int}/decision/verify", dependencies={"me": API_USER})
    async def verify_decision(self, request: Request[Any, Any, Any], db: Database, me: Principal,
                              dossier_id: int) -> DecisionCheckOut:
        """Re-verify the stored passkey assertions of a dossier's decisions against the approvers' keys."""
        def run(session: Session) -> backoffice.DecisionCheck:
            try:
                get_dossier(session, me.user_id, dossier_id)  # the filer may check their own
            except NotFound:
                if not is_staff(me):
                    raise  # someone else's dossier: 404, as everywhere
                if not signed_in_with_passkey(me):  # outside /api/v1/officer/: the app's guard does not see it
                    raise PasskeySessionRequired("Cán bộ chỉ xem hồ sơ trong phiên đăng nhập bằng khóa truy cập "
                                                 "(passkey session required).") from None
                off = backoffice.officer(session, me.user_id)
                backoffice.get_for_officer(session, off, dossier_id)
            return backoffice.verify_decisions(session, dossier_id)

        check = await db.read(run)
        return DecisionCheckOut(dossier_id=dossier_id, valid=check.valid,
                                decisions=[DecisionOut(**d) for d in check.decisions])

    @get("/verify/{public_id:str}")
    async def verify_result(self, request: Request[Any, Any, Any], db: Database, public_id: str,
                            sha256: str | None = None) -> backoffice.VerifyOut:
        """Public: is this a result we issued? Issuer, procedure, date, document hash (no personal data)."""
        return await db.read(backoffice.verify_result, public_id, sha256)


ROUTES = [OfficerController, DecisionController, AdminController]
