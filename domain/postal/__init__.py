"""Return by post: the postal items of dossiers, the postal operator's interface (``operator``), its sandbox
(``sandbox``) and the sync that asks the operator about results sent by post (``sync``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.dossiers.models import PostalItem


def sent_by_post(session: Session, dossier_id: int) -> PostalItem | None:
    """The latest result sent by post of a dossier (its waybill), or None."""
    return session.scalar(select(PostalItem).where(PostalItem.dossier_id == dossier_id, PostalItem.direction == "out")
                          .order_by(PostalItem.id.desc()).limit(1))
