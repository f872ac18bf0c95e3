"""What a state change causes is listed in one place, and the session listeners are installed, not
imported (issue 12 point 3)."""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from domain.db import Database
from domain.dossiers import effects
from domain.forms import issue as forms
from domain.workflow import FORM_OF_EVENT, TABLE

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("api", "auth", "domain", "notifications", "pwa")


def test_every_event_of_the_table_has_its_effects_in_order() -> None:
    assert set(effects.EFFECTS) == {row.event for row in TABLE}
    for event_name, listed in effects.EFFECTS.items():
        assert listed[0] is effects.history and listed[-2:] == (effects.audit, effects.count), event_name
    assert effects.EFFECTS["submit"] == (effects.history, effects.TellFiler("dossier.submitted"), effects.audit,
                                         effects.count)
    # an event that issues a form (Transition.form) issues it right after its history row
    assert effects.EFFECTS["assign"][1:3] == (forms.issue, effects.TellOfficer("officer.assigned"))
    assert all((forms.issue in listed) == bool(FORM_OF_EVENT.get(name)) for name, listed in effects.EFFECTS.items())
    assert effects.EFFECTS["consult"] == (effects.history, effects.audit, effects.count)  # tells nobody


def _module_level_listeners(tree: ast.Module) -> list[int]:
    """Lines where a module registers a listener as it is imported (decorator or call at top level)."""
    found = []
    for node in tree.body:
        decorators = node.decorator_list if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else []
        for dec in decorators:
            target = dec.func if isinstance(dec, ast.Call) else dec
            if isinstance(target, ast.Attribute | ast.Name) and getattr(target, "attr", getattr(target, "id", "")) \
                    == "listens_for":
                found.append(node.lineno)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Attribute) and func.attr == "listen":
                found.append(node.lineno)
    return found


def test_no_listener_is_registered_on_import() -> None:
    offenders = []
    for top in SOURCE:
        for path in sorted((ROOT / top).rglob("*.py")):
            lines = _module_level_listeners(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in lines]
    assert not offenders, f"install session listeners in domain.dossiers.effects.install_listeners: {offenders}"


def test_database_installs_the_listeners_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    Database(f"sqlite:///{tmp_path / 'b.db'}")
    effects.install_listeners()
    for name, fn in effects.LISTENERS:
        assert event.contains(Session, name, fn), name
    # installed once: another Database (or call) adds no second copy
    count = len(list(Session().dispatch.before_commit))
    Database(f"sqlite:///{tmp_path / 'c.db'}")
    effects.install_listeners()
    assert len(list(Session().dispatch.before_commit)) == count
    assert db.dialect == "sqlite"
