"""The back office's typed commands: the JSON body and the page's form decode into the same struct."""

from __future__ import annotations

from datetime import date

import pytest

from domain.dossiers import backoffice, commands
from domain.errors import InvalidInput, NotFound


def test_every_action_has_a_command_and_a_function() -> None:
    assert set(commands.COMMANDS) == set(backoffice.OFFICER_ACTIONS)
    assert set(commands.COMMANDS.values()) == set(backoffice.ACTIONS)
    assert set(commands.SIGNED) <= set(commands.COMMANDS)


@pytest.mark.parametrize(("action", "body", "form", "expected"), [
    ("receive", b'{"version": 3}', {"version": "3", "reason": ""}, commands.Receive(version=3)),
    ("request_supplement", '{"version": 2, "missing": ["CCCD", "Ảnh"], "reason": " x "}'.encode(),
     {"version": "2", "missing": "CCCD\n\n Ảnh \n", "reason": "x"},
     commands.RequestSupplement(version=2, missing=["CCCD", "Ảnh"], reason="x")),
    ("route", b'{"version": 5, "to_unit": "000.00.13.H56", "to_user": null, "step_due_date": ""}',
     {"version": "5", "to_unit": "000.00.13.H56", "to_user": "", "step_due_date": ""},
     commands.Route(version=5, to_unit="000.00.13.H56")),
    ("assign", b'{"version": 1, "to_user": 7, "step_due_date": "2030-01-04"}',
     {"version": "1", "to_user": "7", "step_due_date": "2030-01-04"},
     commands.Assign(version=1, to_user=7, step_due_date=date(2030, 1, 4))),
    ("apologize", '{"version": 1, "new_due_date": "2030-01-07", "reason": "Chậm"}'.encode(),
     {"version": "1", "new_due_date": "2030-01-07", "reason": "Chậm"},
     commands.Apologize(version=1, new_due_date=date(2030, 1, 7), reason="Chậm")),
])
def test_both_skins_decode_into_the_same_command(action: str, body: bytes, form: dict[str, str],
                                                 expected: commands.Command) -> None:
    assert commands.decode(action, body) == expected
    assert commands.from_form(action, form) == expected


@pytest.mark.parametrize(("action", "body", "field"), [
    ("note", b'{}', "version"),
    ("note", b'{"version": "1"}', "version"),
    ("note", b'[1]', "body"),
    ("note", b'{', "body"),
    ("request_supplement", b'{"version": 1, "missing": []}', "missing"),
    ("request_supplement", b'{"version": 1, "missing": ["  "]}', "missing"),
    ("assign", b'{"version": 1, "to_user": "x"}', "to_user"),
    ("assign", b'{"version": 1, "to_user": 99999999999}', "to_user"),
    ("route", b'{"version": 1, "step_due_date": "31/12/2030"}', "step_due_date"),
    ("propose", b'{"version": 1, "decision": "maybe"}', "decision"),
    ("apologize", b'{"version": 1}', "new_due_date"),
])
def test_a_wrong_field_is_named_in_vietnamese(action: str, body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        commands.decode(action, body)
    assert refused.value.field == field and refused.value.detail[0].isupper()


def test_unknown_actions_do_not_exist() -> None:
    with pytest.raises(NotFound):
        commands.decode("fly", b"{}")
    with pytest.raises(NotFound):
        commands.from_form("fly", {})


def test_the_form_without_a_version_asks_to_reload() -> None:
    with pytest.raises(InvalidInput) as refused:
        commands.from_form("receive", {"version": ""})
    assert refused.value.field == "version" and "tải lại" in refused.value.detail


def test_the_schema_lists_every_command() -> None:
    assert len(commands.schema()["anyOf"]) == len(commands.COMMANDS)
