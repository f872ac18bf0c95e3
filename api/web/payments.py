"""Payment work both skins do the same way: apply a gateway message (recording even a failure), refund a paid
fee through its gateway, the day's reconciliation as a CSV download."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from typing import Any

from litestar import Request, Response

from api.web.session import client_ip
from api.web.state import payments_of
from auth.tokens import Principal
from domain.calendar.engine import TZ
from domain.errors import InvalidInput
from domain.payments import gateways, reconcile
from domain.payments import operations as service
from domain.payments.gateways.base import Ack, Notice
from domain.settings import GATEWAYS

log = logging.getLogger("motcua")


async def handle_message(request: Request[Any, Any, Any], gateway: str, notice: Notice, kind: str) -> service.Applied:
    """Apply a gateway message; an unexpected failure is still recorded (result "error")."""
    db = request.app.state.db
    ip = client_ip(request)
    ctx = payments_of(request)
    try:
        return await db.write(service.apply_notice, gateway, notice, kind=kind, ip=ip, ctx=ctx)  # type: ignore[no-any-return]
    except Exception:
        log.exception("payment %s from %s could not be applied", kind, gateway)
        broken = Notice(notice.reference, notice.outcome, notice.amount_vnd, False, raw={"error": True, **notice.raw})
        try:
            await db.write(service.apply_notice, gateway, broken, kind=kind, ip=ip, ctx=ctx)
        except Exception:
            log.exception("could not even record the failed %s", kind)
        return service.Applied(Ack.ERROR)


async def refund_payment(request: Request[Any, Any, Any], me: Principal, payment_id: int,
                         reason: str) -> dict[str, Any]:
    db = request.app.state.db
    ctx = payments_of(request)
    ask = await db.write(service.request_refund, me.user_id, me.session_id, payment_id, reason=reason,
                         public_url=ctx.public_url)
    gw = gateways.make(ask.gateway, ctx.settings)
    result = await asyncio.to_thread(gw.refund, ask.info, ask.amount_vnd, f"R{ask.refund_id}", ask.by)
    refund = await db.write(service.finish_refund, ask.refund_id, result, actor_id=me.user_id)
    return {"id": refund.id, "payment_id": payment_id, "amount_vnd": refund.amount_vnd, "status": refund.status,
            "error": refund.error}


async def reconciliation_csv(request: Request[Any, Any, Any], user_id: int, day: date | None, gateway: str | None,
                             summary: bool) -> Response[str]:

    day = day or datetime.now(TZ).date()
    if gateway and gateway not in GATEWAYS:
        raise InvalidInput("Không có cổng thanh toán này.", field="gateway")
    rows = await request.app.state.db.read(reconcile.lines, user_id, day, gateway)
    text = reconcile.to_csv(reconcile.summary(rows), reconcile.SUMMARY_COLUMNS) if summary else reconcile.to_csv(rows)
    name = f"doi-soat-{day.isoformat()}{'-' + gateway if gateway else ''}{'-tong-hop' if summary else ''}.csv"
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
