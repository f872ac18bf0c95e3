"""The public lookup in the core (security review finding 11): the check value, and what the code alone shows."""

from __future__ import annotations

import msgspec
import pytest

from domain.db import Database
from domain.dossiers import filing as service
from domain.dossiers.models import Dossier
from domain.errors import NotFound
from tests.factories import citizen, submitted

SECRET = "a-test-secret-of-at-least-thirty-two-characters"
OLD_SECRET = "the-previous-secret-of-at-least-thirty-two-chars"


def test_the_check_value_is_short_keyed_and_has_no_look_alikes() -> None:
    value = service.check_value(SECRET, "000.31.11.H56-260217-0001")
    assert len(value) == service.CHECK_LENGTH == 8
    assert set(value) <= set(service.CHECK_ALPHABET) and not set("01OIL") & set(service.CHECK_ALPHABET)
    assert value == service.check_value(SECRET, "000.31.11.H56-260217-0001")  # derived, not random
    assert value != service.check_value(SECRET, "000.31.11.H56-260217-0002")
    assert value != service.check_value(OLD_SECRET, "000.31.11.H56-260217-0001")
    # as a person types it: small letters, spaces, a hyphen in the middle
    typed = f" {value[:4].lower()}-{value[4:]} "
    assert service.check_matches((SECRET,), "000.31.11.H56-260217-0001", typed)
    assert not service.check_matches(("", OLD_SECRET), "000.31.11.H56-260217-0001", typed)


def _code(db: Database) -> str:
    dossier_id = submitted(db, citizen(db))
    code = db.run(lambda s: s.get(Dossier, dossier_id).code)
    assert isinstance(code, str)
    return code


def test_the_code_alone_shows_status_and_appointment_date_only(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    code = _code(db)
    out = db.run(service.lookup, code, None, secrets=(SECRET,))
    assert (out.code, out.status, out.checked) == (code, "submitted", False)
    shown = msgspec.to_builtins(out)
    assert set(shown) == {"code", "status", "status_name", "due_date", "checked"}
    for hidden in ("procedure_code", "procedure_name", "receiving_unit", "submitted_at", "received_at",
                   "finished_at"):
        assert getattr(out, hidden) is msgspec.UNSET


def test_the_check_value_shows_the_rest(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    code = _code(db)
    for secret in (SECRET, OLD_SECRET):  # SECRET_KEY_PREVIOUS still opens receipts printed before a rotation
        out = db.run(service.lookup, code, service.check_value(secret, code), secrets=(SECRET, OLD_SECRET))
        assert out.checked and out.procedure_code == "1.004222" and out.procedure_name and out.receiving_unit
        assert out.submitted_at is not None


def test_a_wrong_check_value_answers_like_an_unknown_code(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    code = _code(db)
    with pytest.raises(NotFound) as wrong:
        db.run(service.lookup, code, "ABCD2345", secrets=(SECRET,))
    with pytest.raises(NotFound) as unknown:
        db.run(service.lookup, "000.00.00.H56-260101-9999", service.check_value(SECRET, code), secrets=(SECRET,))
    assert wrong.value.detail == unknown.value.detail == service.WRONG_CHECK
    with pytest.raises(NotFound) as alone:
        db.run(service.lookup, "000.00.00.H56-260101-9999", None, secrets=(SECRET,))
    assert alone.value.detail == service.NOT_FOUND
