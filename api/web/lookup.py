"""The public lookup of a dossier by its code, for the API and the lookup page (security review finding 11).

By the code alone it shows the status and the appointment date; with the check value printed on the
receipt (``domain.dossiers.filing.check_value``) the rest. Limits (``auth.ratelimit``): every lookup
counts per client address (``LOOKUP_CLIENT``); a lookup that finds nothing counts again per address
(``LOOKUP_MISS_CLIENT``: guessing codes meets a 429 after a few misses); a wrong check value also counts
against the code from any address (``LOOKUP_CHECK_CODE``: while it is locked, lookups of that code with a
check value answer 429, even with the right one; the code alone still shows status and date). Each lock
leaves one audit row ``lookup.limited``; the refusals while it lasts leave none.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.orm import Session

from api.web.session import client_ip
from api.web.state import settings_of
from auth import ratelimit
from domain.audit import record
from domain.db import Database
from domain.dossiers import filing as service
from domain.errors import InvalidInput, NotFound, TooManyRequests

TOO_MANY = "Tra cứu quá nhiều lần. Vui lòng thử lại sau."
CODE_LOCKED = ("Mã hồ sơ này đã bị tra cứu với mã kiểm tra sai quá nhiều lần nên tạm thời bị khoá. "
               "Vui lòng thử lại sau.")


def _hit(session: Session, limit: ratelimit.Limit, key: str, *, ip: str, factor: int, subject: str = "") -> None:
    """Count one event; the event that starts a lock leaves the lock's one audit row."""
    wait = ratelimit.hit(session, limit, key, factor=factor)
    if wait:
        record(session, "lookup.limited", subject=subject, ip=ip, limit=limit.name, seconds=wait)


async def public_lookup(request: Request[Any, Any, Any], code: str, check: str | None = None) -> service.LookupOut:
    ip = client_ip(request) or "-"
    code = (code or "").strip()
    check = service.normalise_check(check) or None
    settings = settings_of(request)
    web, factor = settings.web, settings.limits.client_limit_factor
    secrets = (web.secret_key, web.previous_secret_key)
    by_address = ((ratelimit.LOOKUP_CLIENT, TOO_MANY), (ratelimit.LOOKUP_MISS_CLIENT, TOO_MANY))

    def run(session: Session) -> service.LookupOut | NotFound:
        for limit, message in by_address:  # refuse before writing anything: a refusal changes nothing
            wait = ratelimit.retry_after(session, limit, ip)
            if wait:
                raise TooManyRequests(message, retry_after=wait)
        if check:
            wait = ratelimit.retry_after(session, ratelimit.LOOKUP_CHECK_CODE, code)
            if wait:
                raise TooManyRequests(CODE_LOCKED, retry_after=wait)
        _hit(session, ratelimit.LOOKUP_CLIENT, ip, ip=ip, factor=factor)  # counted even when nothing is found
        try:
            return service.lookup(session, code, check, secrets=secrets)
        except NotFound as exc:
            _hit(session, ratelimit.LOOKUP_MISS_CLIENT, ip, ip=ip, factor=factor)
            if check:  # the code's own count: unknown codes too, so a lock tells nothing about existence
                _hit(session, ratelimit.LOOKUP_CHECK_CODE, code, ip=ip, factor=factor,
                     subject=f"dossier-code:{code}"[:128])
            return exc

    if len(code) > 40:
        raise InvalidInput("Mã hồ sơ không hợp lệ.", field="code")
    if check and len(check) > 20:
        raise InvalidInput("Mã kiểm tra không hợp lệ.", field="check")
    db: Database = request.app.state.db
    result = await db.write(run)
    if isinstance(result, NotFound):
        raise result
    return result
