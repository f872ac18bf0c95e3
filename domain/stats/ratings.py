"""Satisfaction ratings: once a result is returned, the filer may rate the service once per dossier.

A few criteria on a 1–5 scale (as the national portal's rating forms ask) and an optional comment.
Ratings are public only in aggregate (the roll-ups' ``ratings`` and ``r_*`` measures); officers of the
receiving unit read the comments (:func:`unit_comments`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.audit import record
from domain.catalog.models import Procedure
from domain.dossiers.filing import get_dossier
from domain.dossiers.models import Dossier
from domain.errors import Conflict, InvalidInput
from domain.stats import rollups
from domain.stats.models import Rating
from domain.stats.reports import check_period, check_unit
from domain.stats.rollups import CRITERIA
from domain.workflow import State

CRITERIA_VI = {
    "timeliness": "Thời gian giải quyết so với giấy hẹn",
    "attitude": "Thái độ, tinh thần phục vụ của cán bộ",
    "clarity": "Hướng dẫn, thủ tục rõ ràng, dễ hiểu",
    "ease": "Nộp hồ sơ, nhận kết quả thuận tiện",
}
SCALE_VI = {1: "Rất không hài lòng", 2: "Không hài lòng", 3: "Bình thường", 4: "Hài lòng", 5: "Rất hài lòng"}
MAX_COMMENT = 2000


def can_rate(d: Dossier) -> bool:
    return d.status == State.RETURNED.value


def rating_of(session: Session, dossier_id: int) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.dossier_id == dossier_id))


def _score(value: Any, name: str) -> int:
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) == 1:
        value = int(value.strip())
    if not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput(f"Hãy chọn mức từ 1 đến 5 cho “{CRITERIA_VI[name]}”.", field=name)
    return value


def rate(session: Session, user_id: int, dossier_id: int, scores: dict[str, Any], comment: str = "", *,
         now: datetime | None = None) -> Rating:
    """Rate a returned dossier (its filer, once). 409 before the result is returned or a second time."""
    d = get_dossier(session, user_id, dossier_id, for_update=True)
    if not can_rate(d):
        raise Conflict("Chỉ đánh giá được sau khi đã nhận kết quả.", field="status")
    if rating_of(session, d.id) is not None:
        raise Conflict("Hồ sơ này đã được đánh giá (mỗi hồ sơ một lần).", field="dossier")
    if not isinstance(scores, dict):
        raise InvalidInput("Điểm đánh giá (scores) phải là một đối tượng JSON.", field="scores")
    values = {name: _score(scores.get(name), name) for name in CRITERIA}
    if not isinstance(comment, str):
        raise InvalidInput("Góp ý (comment) phải là văn bản.", field="comment")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"Ý kiến tối đa {MAX_COMMENT} ký tự.", field="comment")
    slug = session.scalar(select(Procedure.field_slug).where(Procedure.code == d.procedure_code)) or ""
    rating = Rating(dossier_id=d.id, user_id=user_id, unit_code=d.unit_code, field_slug=slug,
                    created_at=now or datetime.now(UTC), comment=comment, **values)
    session.add(rating)
    session.flush()
    rollups.on_rating(session, rating)
    record(session, "rating.created", actor_id=user_id, subject=f"dossier:{d.id}", rating=rating.id)
    return rating


class CommentOut(msgspec.Struct):
    # returned as is by the API: its name is the OpenAPI component's, its fields the JSON's
    at: datetime
    dossier_id: int
    dossier_code: str
    procedure_name: str
    scores: dict[str, int]
    average: float
    comment: str


def unit_comments(session: Session, user_id: int, unit: str, start: date, end: date, *,
                  limit: int = 200) -> list[CommentOut]:
    """Ratings of one of the officer's units in a period, newest first, with their comments."""
    check_unit(session, user_id, unit)
    lo, hi = check_period(start, end)
    limit = max(1, min(limit, 1000))
    rows = session.execute(
        select(Rating, Dossier.code, Procedure.name).join(Dossier, Dossier.id == Rating.dossier_id)
        .join(Procedure, Procedure.code == Dossier.procedure_code)
        .where(Rating.unit_code == unit, Rating.created_at >= lo, Rating.created_at < hi)
        .order_by(Rating.created_at.desc(), Rating.id.desc()).limit(limit))
    out = []
    for r, code, proc in rows:
        scores = {c: int(getattr(r, c)) for c in CRITERIA}
        out.append(CommentOut(at=r.created_at, dossier_id=r.dossier_id, dossier_code=code or "", procedure_name=proc,
                              scores=scores, average=round(sum(scores.values()) / len(scores), 2),
                              comment=r.comment))
    return out

