"""How the result comes back, chosen by the applicant on any channel: at the counter, online only (the
electronic result), or by post to an address; the postal fee is stored on the dossier and paid with the
fees (``domain.payments.fees.quote_for_dossier`` adds it as a line)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from domain.dossiers.filing import get_dossier
from domain.dossiers.models import Dossier
from domain.errors import Conflict, InvalidInput
from domain.postal.operator import ADDRESS_MAX
from domain.workflow import State

RETURN_METHODS = ("counter", "online", "post")
RETURN_NAMES_VI = {"counter": "Tại nơi tiếp nhận hồ sơ", "online": "Trực tuyến (bản điện tử)",
                   "post": "Qua bưu chính"}
POSTAL_FEE_LABEL = "Cước bưu chính trả kết quả"


def check_return(method: str, address: str | None) -> tuple[str, str | None]:
    """The return method and the postal address as they are stored (an address only for post); InvalidInput
    for an unknown method or a post without an address of 5 to 500 characters."""
    if method not in RETURN_METHODS:
        raise InvalidInput("Cách nhận kết quả phải là tại nơi tiếp nhận, trực tuyến hoặc qua bưu chính "
                           "(return_method: counter | online | post).", field="return_method")
    if method != "post":
        return method, None
    clean = " ".join((address or "").split())
    if not 5 <= len(clean) <= ADDRESS_MAX:
        raise InvalidInput(f"Nhận kết quả qua bưu chính cần địa chỉ nhận (5 đến {ADDRESS_MAX} ký tự, "
                           "return_address).", field="return_address")
    return method, clean


def choose_return(session: Session, user_id: int, dossier_id: int, method: str, address: str | None, *,
                  postal_fee_vnd: int | None, expected_version: int | None = None) -> Dossier:
    """The applicant's choice on a draft of theirs (the fee is fixed at submission, with the other fees):
    ``postal_fee_vnd`` is the operator's quote for the address (or the configured fee), kept only for post."""
    method, address = check_return(method, address)
    d = get_dossier(session, user_id, dossier_id, for_update=True)
    if d.status != State.DRAFT.value:
        raise Conflict("Chỉ chọn cách nhận kết quả khi hồ sơ còn là bản nháp.", field="return_method")
    if expected_version is not None and expected_version != d.version:
        raise Conflict("Hồ sơ vừa được lưu ở nơi khác. Hãy tải lại trang.", field="version")
    d.return_method, d.return_address = method, address
    d.postal_fee_vnd = postal_fee_vnd if method == "post" else None
    d.version += 1
    d.updated_at = datetime.now(UTC)
    return d
