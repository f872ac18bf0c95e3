"""Who an officer is for a dossier: the workflow actors their roles in its units make them."""

from __future__ import annotations

from domain.dossiers.backoffice import Officer
from domain.dossiers.models import Dossier
from domain.workflow import Actor

UNIT = "000.31.11.H56"


def test_an_accountant_role_is_no_workflow_actor() -> None:
    """The payment role ``accountant`` fires no workflow event: it is left out, not an error (the dossier
    page of an officer who was also an accountant answered 500; the authorization matrix found it)."""
    d = Dossier(unit_code=UNIT, handling_unit=None, assignee_id=None)
    assert Officer(7, {UNIT: {"receiver", "accountant"}}).actors_for(d) == {Actor.RECEIVER}
    assert Officer(7, {UNIT: {"accountant"}}).actors_for(d) == set()
