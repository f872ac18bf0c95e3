"""Who receives where: an officer's receiving units, and which units may receive a procedure.

A procedure is decided by the unit of its offering (``Offering.unit_code``); it may be received there, at
every receiving point of the province when the offering says ``any_unit_receives`` (cross-area, phi địa
giới), or at the units listed in ``offering_receivers``. An intake draft (a dossier an officer is entering,
channel counter or post, still a draft) is held by the receivers of its receiving unit, and by nobody else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import Session

from domain.accounts.models import OfficerRole
from domain.catalog.models import Offering, OfferingReceiver
from domain.dossiers.backoffice import officer
from domain.dossiers.models import Dossier
from domain.errors import Forbidden, NotFound
from domain.workflow import State

RECEIVER = "receiver"


def receiver_units(session: Session, officer_id: int) -> list[str]:
    """The units where this officer (an enrolled officer: see ``backoffice.officer``) is a receiver; 403 if none."""
    off = officer(session, officer_id)
    units = sorted(u for u, roles in off.roles.items() if RECEIVER in roles)
    if not units:
        raise Forbidden("Chức năng dành cho cán bộ tiếp nhận hồ sơ.")
    return units


def may_receive(session: Session, offering: Offering, unit_code: str) -> bool:
    """Whether ``unit_code`` may receive dossiers of this offering (its own unit, any unit, or a listed one)."""
    if unit_code == offering.unit_code or offering.any_unit_receives:
        return True
    listed = session.scalar(select(OfferingReceiver.unit_code).where(
        OfferingReceiver.procedure_code == offering.procedure_code, OfferingReceiver.unit_code == unit_code))
    return listed is not None


def receiving_unit_of() -> Any:
    """The SQL expression of a dossier's receiving unit (NULL: its own unit)."""
    return func.coalesce(Dossier.receiving_unit, Dossier.unit_code)


def is_intake_draft() -> Any:
    return and_(Dossier.status == State.DRAFT.value, Dossier.channel != "online")


def held_intakes(user_id: int) -> Select[Any]:
    """Intake drafts held by the receivers of their receiving unit: ``user_id`` among them."""
    receiver = exists().where(OfficerRole.user_id == user_id, OfficerRole.role == RECEIVER,
                              OfficerRole.unit_code == receiving_unit_of())
    return select(Dossier).where(is_intake_draft(), receiver)


def held_intake(session: Session, user_id: int, dossier_id: int, *, lock: bool = False) -> Dossier:
    """One intake draft this receiver holds; 404 otherwise (an online draft, a received dossier, another unit's)."""
    query = held_intakes(user_id).where(Dossier.id == dossier_id)
    d: Dossier | None = session.scalar(query.with_for_update() if lock else query)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ đang tiếp nhận.")
    return d
