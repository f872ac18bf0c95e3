"""The public lookup of a dossier by its code (rate limited per client), for the API and the lookup page."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.orm import Session

from api.web.session import client_ip
from auth import ratelimit
from domain.db import Database
from domain.dossiers import filing as service
from domain.errors import InvalidInput, NotFound, TooManyRequests


async def public_lookup(request: Request[Any, Any, Any], code: str) -> service.LookupOut:
    ip = client_ip(request) or "-"

    def run(session: Session) -> service.LookupOut | NotFound:
        wait = ratelimit.retry_after(session, ratelimit.LOOKUP_CLIENT, ip)
        if wait:
            raise TooManyRequests("Tra cứu quá nhiều lần. Vui lòng thử lại sau.", retry_after=wait)
        ratelimit.hit(session, ratelimit.LOOKUP_CLIENT, ip)  # counted even when nothing is found
        try:
            return service.lookup(session, code)
        except NotFound as exc:
            return exc

    if len(code) > 40:
        raise InvalidInput("Mã hồ sơ không hợp lệ.", field="code")
    db: Database = request.app.state.db
    result = await db.write(run)
    if isinstance(result, NotFound):
        raise result
    return result
