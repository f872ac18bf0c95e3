"""The back office's actions as typed commands: one msgspec struct per action, its fields and constraints.

Both skins decode into these same types, the JSON API from the request body (:func:`decode`), the
officers' pages from the form (:func:`from_form`), and hand them to ``backoffice.act``, which dispatches
on the command's type. What a command checks here is its shape (types, required fields, a date, a
non-empty list); what depends on the dossier (the state, the roles, who the recipient is) is checked by
the action itself, in the same order as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any, Literal

import msgspec

from domain.errors import InvalidInput, NotFound

REASON_MAX = 4000
UserId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class Command(msgspec.Struct, kw_only=True):
    """What every action carries: the dossier's version the officer saw (optimistic locking) and a reason."""

    version: int
    reason: str = ""

    def __post_init__(self) -> None:
        self.reason = self.reason.strip()[:REASON_MAX]


class Receive(Command):
    """Tiếp nhận hồ sơ: the legal clock starts."""


class RequestSupplement(Command):
    """Yêu cầu bổ sung (form 02): everything that is missing, in one request; the clock pauses. A second
    request needs a reason and is marked so (it counts the dossier late)."""

    missing: Annotated[list[str], msgspec.Meta(min_length=1)]

    def __post_init__(self) -> None:
        super().__post_init__()
        if not all(item.strip() for item in self.missing):
            raise InvalidInput(FIELD_MESSAGES["missing"], field="missing")


class RefuseIntake(Command):
    """Từ chối tiếp nhận (with a reason: the workflow table asks for it)."""


class Assign(Command):
    """Phân công xử lý: a processor of the handling unit, with an optional step deadline."""

    to_user: UserId
    step_due_date: date | None = None


class Route(Command):
    """Chuyển xử lý to another unit (and perhaps one of its processors), with an optional step deadline."""

    to_unit: str = ""
    to_user: UserId | None = None
    step_due_date: date | None = None


class Consult(Command):
    """Xin ý kiến đơn vị khác: the question is the reason."""

    to_unit: str = ""
    step_due_date: date | None = None


class AnswerConsultation(Command):
    """Trả lời xin ý kiến: the answer is the reason."""


class Note(Command):
    """Ghi chú nội bộ (never shown to the citizen)."""


class Propose(Command):
    """Trình phê duyệt: the proposed decision."""

    decision: Literal["approve", "reject"]


class SendBack(Command):
    """Trả lại để xử lý tiếp."""


class Approve(Command):
    """Phê duyệt, signed with a passkey: the assertion made for this dossier, version, decision and result."""

    assertion: dict[str, Any] | None = None


class Reject(Command):
    """Không phê duyệt, signed with a passkey (and with a reason)."""

    assertion: dict[str, Any] | None = None


class IssueResult(Command):
    """Ban hành kết quả (the prepared result document)."""


class ReturnResult(Command):
    """Trả kết quả: the result also goes to the citizen's wallet."""


WAYBILL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,39}$")


class SendByPost(Command):
    """Gửi kết quả qua bưu chính: the postal operator's waybill number (never used before)."""

    waybill: Annotated[str, msgspec.Meta(min_length=4, max_length=40)]

    def __post_init__(self) -> None:
        super().__post_init__()
        self.waybill = self.waybill.strip().upper()
        if not WAYBILL.match(self.waybill):
            raise InvalidInput(FIELD_MESSAGES["waybill"], field="waybill")


class ConfirmDelivery(Command):
    """Xác nhận đã phát kết quả qua bưu chính: the result reached the applicant."""


class Apologize(Command):
    """Xin lỗi và hẹn lại (form 04), before the deadline passes: the reason and a later working day."""

    new_due_date: date


class Stop(Command):
    """Dừng giải quyết (form 05): the legal reason; the clock stops until an officer resumes it."""


class Resume(Command):
    """Tiếp tục giải quyết a stopped dossier: the clock runs again, the due date moves by the stop."""


VND_MAX = 2_000_000_000


class RequestFee(Command):
    """Yêu cầu thực hiện nghĩa vụ tài chính after intake: the amount and its basis (reason); the clock stops
    until it is paid."""

    amount_vnd: Annotated[int, msgspec.Meta(ge=1, le=VND_MAX)]


class AcceptWithdrawal(Command):
    """Chấp nhận yêu cầu rút hồ sơ of the applicant: the dossier ends, withdrawn."""


OfficerCommand = (Receive | RequestSupplement | RefuseIntake | Assign | Route | Consult | AnswerConsultation | Note
                  | Propose | SendBack | Approve | Reject | IssueResult | ReturnResult | SendByPost | ConfirmDelivery
                  | Apologize | Stop | Resume | RequestFee | AcceptWithdrawal)
Decision = Approve | Reject

COMMANDS: dict[str, type[Command]] = {
    "receive": Receive, "request_supplement": RequestSupplement, "refuse_intake": RefuseIntake, "assign": Assign,
    "route": Route, "consult": Consult, "answer_consultation": AnswerConsultation, "note": Note, "propose": Propose,
    "send_back": SendBack, "approve": Approve, "reject": Reject, "issue_result": IssueResult,
    "return_result": ReturnResult, "send_by_post": SendByPost, "confirm_delivery": ConfirmDelivery,
    "apologize": Apologize, "stop": Stop, "resume": Resume, "request_fee": RequestFee,
    "accept_withdrawal": AcceptWithdrawal,
}
SIGNED = ("approve", "reject")

# what an officer reads when a field is wrong (the same from the pages and from the API)
FIELD_MESSAGES = {
    "version": "Thiếu phiên bản hồ sơ (version); hãy tải lại trang.",
    "reason": "Lý do phải là một đoạn văn bản (reason).",
    "missing": "Hãy liệt kê từng giấy tờ còn thiếu, mỗi dòng một mục (missing).",
    "to_user": "Hãy chọn cán bộ xử lý (to_user).",
    "to_unit": "Hãy chọn đơn vị (to_unit).",
    "step_due_date": "Ngày không hợp lệ (yyyy-mm-dd).",
    "new_due_date": "Ngày không hợp lệ (yyyy-mm-dd).",
    "amount_vnd": "Số tiền phải là số nguyên đồng, từ 1 đến 2.000.000.000 (amount_vnd).",
    "decision": "Đề xuất phải là phê duyệt hoặc không phê duyệt (decision: approve | reject).",
    "waybill": "Số vận đơn gồm 4 đến 40 chữ cái hoặc chữ số (waybill).",
    "assertion": "Cần phản hồi của khóa truy cập (assertion: AuthenticationResponseJSON).",
}
_FIELD = re.compile(r"at `\$\.(\w+)|required field `(\w+)`")
_OPTIONAL_DATES = ("step_due_date",)


def command_type(action: str) -> type[Command]:
    cls = COMMANDS.get(action)
    if cls is None:
        raise NotFound("Không có thao tác này.")
    return cls


def _convert(cls: type[Command], values: Mapping[str, Any], *, strict: bool) -> Command:
    # an absent value and null are the same; an empty optional date is none
    cleaned = {k: v for k, v in values.items() if v is not None and not (k in _OPTIONAL_DATES and v == "")}
    try:
        return msgspec.convert(cleaned, cls, strict=strict)
    except msgspec.ValidationError as exc:
        match = _FIELD.search(str(exc))
        field = (match.group(1) or match.group(2)) if match else None
        raise InvalidInput(FIELD_MESSAGES.get(field or "", "Dữ liệu gửi lên không hợp lệ."), field=field) from None


def decode(action: str, raw: bytes | Mapping[str, Any]) -> Command:
    """The command of ``action`` from a JSON body (bytes) or an already parsed JSON object.

    Unknown actions are NotFound; a body that is not a JSON object, or a field of the wrong type, is
    InvalidInput naming the field.
    """
    cls = command_type(action)
    if isinstance(raw, bytes | bytearray):
        try:
            raw = msgspec.json.decode(raw or b"{}")
        except msgspec.DecodeError:
            raise InvalidInput("Nội dung gửi lên phải là JSON (body must be JSON).", field="body") from None
    if not isinstance(raw, Mapping):
        raise InvalidInput("Nội dung gửi lên phải là một đối tượng JSON (body must be an object).", field="body")
    return _convert(cls, raw, strict=True)


class SignOptions(msgspec.Struct, forbid_unknown_fields=True):
    """The body of a request for approve/reject options: the reason the passkey signs with the decision
    (it must then be sent unchanged with the decision)."""

    reason: str = ""


def decode_sign_options(raw: bytes) -> SignOptions:
    """The options request's body (empty: no reason); InvalidInput when it is not that object."""
    try:
        return msgspec.json.decode(raw or b"{}", type=SignOptions)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise InvalidInput("Nội dung gửi lên phải là JSON dạng {\"reason\": \"...\"} (body must be "
                           "{\"reason\": text}).", field="reason") from None


def from_form(action: str, form: Mapping[str, str]) -> Command:
    """The command of ``action`` from a page's form: text fields, converted (``missing`` is one item a line;
    an empty choice is none)."""
    cls = command_type(action)
    values: dict[str, Any] = {k: v for k, v in form.items() if not k.startswith("_") and k != "csrf_token"}
    if "version" in values and not str(values["version"]).strip().isdigit():
        values.pop("version")  # "missing version" rather than a conversion error
    if cls is RequestSupplement:
        values["missing"] = [line.strip() for line in values.get("missing", "").splitlines() if line.strip()]
    if "amount_vnd" in values:  # "500.000", "500 000 đ": the digits
        amount = re.sub(r"[\s.,₫đĐ]|VND|vnd", "", str(values["amount_vnd"]))
        values["amount_vnd"] = amount if amount.isdigit() else values["amount_vnd"]
    for key in ("to_user", "to_unit", "decision", "new_due_date", "amount_vnd"):
        if key in values and not str(values[key]).strip():
            values.pop(key)
    return _convert(cls, values, strict=False)


def schema() -> dict[str, Any]:
    """The JSON Schema of the action bodies (the command of the action in the path), for the OpenAPI document."""
    (_, components) = msgspec.json.schema_components(list(COMMANDS.values()),
                                                     ref_template="#/components/schemas/{name}")
    return {"anyOf": [components[cls.__name__] for cls in COMMANDS.values()]}
