"""Reading a passkey ceremony's body, the same for the API and the pages."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.exceptions import HTTPException

from auth import passkeys

MAX_BODY = 64 * 1024


async def read_credential(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The raw JSON body (a credential's toJSON()), as a dict; 413 beyond 64 KB, 400 when not a JSON object.

    Handlers using this set ``request_max_body_size=MAX_BODY`` so Litestar stops reading early.
    """
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status_code=413, detail=f"Nội dung gửi tối đa {MAX_BODY} byte.")
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise passkeys.PasskeyError(passkeys.MESSAGES["malformed"], reason="malformed") from None
    if not isinstance(data, dict):
        raise passkeys.PasskeyError(passkeys.MESSAGES["malformed"], reason="malformed")
    return data
