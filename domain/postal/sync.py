"""``motcua postal-sync``: ask the postal operator about every result sent by post and not yet delivered,
and confirm the delivered ones (the workflow's ``confirm_delivery``, delivery source ``operator``).

The operator is asked outside any transaction (a slow operator holds no lock); each delivered dossier is
then confirmed in a transaction of its own, under the dossier's row lock, only if it is still sent by
post. Every run leaves an audit row (``postal.sync``: operator, checked, delivered, failed) besides the
audit row of each confirmation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit import record
from domain.db import Database
from domain.dossiers.backoffice import confirm_delivery
from domain.dossiers.models import Dossier, PostalItem
from domain.postal.operator import PostalError, PostalOperator
from domain.workflow import Actor, State


@dataclass
class SyncReport:
    checked: int = 0
    delivered: list[int] = field(default_factory=list)  # dossier ids confirmed now
    failed: list[str] = field(default_factory=list)  # waybills the operator could not answer for


def pending(session: Session, *, limit: int = 5000) -> list[tuple[int, str]]:
    """(dossier id, waybill) of every result sent by post whose delivery is not confirmed yet."""
    rows = session.execute(select(PostalItem.dossier_id, PostalItem.waybill)
                           .join(Dossier, Dossier.id == PostalItem.dossier_id)
                           .where(PostalItem.direction == "out", PostalItem.delivered_at.is_(None),
                                  Dossier.status == State.SENT_BY_POST.value)
                           .order_by(PostalItem.id).limit(limit))
    return [(int(d), str(w)) for d, w in rows]


def _confirm(session: Session, dossier_id: int, operator: str, delivered_at: datetime, now: datetime) -> bool:
    d = session.scalar(select(Dossier).where(Dossier.id == dossier_id).with_for_update())
    if d is None or d.status != State.SENT_BY_POST.value:
        return False  # confirmed meanwhile (by an officer, or another run)
    confirm_delivery(session, d, source="operator", now=now, delivered_at=delivered_at, actor_id=None,
                     actors={Actor.RECEIVER}, reason=f"Bưu chính ({operator}) xác nhận đã phát.")
    for item in session.scalars(select(PostalItem).where(PostalItem.dossier_id == d.id, PostalItem.direction == "out",
                                                         PostalItem.delivery_source == "operator",
                                                         PostalItem.operator == "")):
        item.operator = operator[:32]
    return True


def sync_deliveries(db: Database, operator: PostalOperator, *, now: datetime | None = None) -> SyncReport:
    """One pass over the results sent by post (see the module's docstring)."""
    report = SyncReport()
    for dossier_id, waybill in db.read_sync(pending):
        report.checked += 1
        try:
            delivered_at = operator.track(waybill)
        except PostalError:
            report.failed.append(waybill)
            continue
        if delivered_at is not None and db.run(_confirm, dossier_id, operator.name, delivered_at,
                                               now or datetime.now(UTC)):
            report.delivered.append(dossier_id)
    db.run(lambda s: record(s, "postal.sync", subject=f"postal:{operator.name}", operator=operator.name,
                            checked=report.checked, delivered=len(report.delivered), failed=len(report.failed)))
    return report
