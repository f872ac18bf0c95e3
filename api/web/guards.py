"""Guards both skins put in front of their handlers; the checks themselves are the core's (`auth.accounts`).

Inside a handler's own transaction call the check (`accounts.require_admin(session, user_id)`); before any
work, await the guard here, which runs the same check in a read of its own.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from auth import accounts
from domain.errors import NotFound


async def require_admin(request: Request[Any, Any, Any], user_id: int) -> None:
    """Forbidden (403) unless `user_id` is an active system admin with a passkey."""
    await request.app.state.db.read(accounts.require_admin, user_id)


ID_MAX = 2**31 - 1  # the largest value of an INTEGER column on PostgreSQL (SQLite's are wider)


async def ids_in_range(connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler) -> None:
    """Litestar guard of the whole app: an integer in the path that no id column can hold names no object,
    so it is 404 before any query (SQLite raised OverflowError and PostgreSQL an int4 range error: 500s)."""
    for value in connection.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= ID_MAX:
            raise NotFound("Không tìm thấy (no such object).")
