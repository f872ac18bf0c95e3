"""Guards both skins put in front of their handlers; the checks themselves are the core's (`auth.accounts`).

Inside a handler's own transaction call the check (`accounts.require_admin(session, user_id)`); before any
work, await the guard here, which runs the same check in a read of its own.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from auth import accounts


async def require_admin(request: Request[Any, Any, Any], user_id: int) -> None:
    """Forbidden (403) unless `user_id` is an active system admin with a passkey."""
    await request.app.state.db.read(accounts.require_admin, user_id)
