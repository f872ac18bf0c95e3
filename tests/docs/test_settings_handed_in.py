"""The core, auth and the notifications read no environment and look up no installed settings: what they
need arrives as parameters (docs/adr/0008-settings-handed-in.md). Only the composition roots read the
environment (``api/app.py``, ``api/cli.py``), through ``domain.settings.load_settings``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "auth", "notifications")
# composition roots inside these packages (they may read the environment): none today
ROOTS: frozenset[str] = frozenset()
FORBIDDEN = re.compile(r"\bcurrent_settings\b|\bos\.environ\b|\bos\.getenv\b|\bgetenv\(")
# process-wide settings values: none (the last one, auth.config's, is gone: docs/adr/0008-settings-handed-in.md)
PROCESS_GLOBALS: frozenset[str] = frozenset()


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py")
                  if p.relative_to(ROOT).as_posix() not in ROOTS)


def test_no_environment_and_no_installed_settings_outside_the_roots() -> None:
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in sources()
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if FORBIDDEN.search(line)]
    assert found == [], "read the setting in the composition root and pass it in:\n" + "\n".join(found)


def test_the_settings_module_keeps_no_settings_value() -> None:
    """``domain.settings`` reads a mapping it is given; it stores no value (no ``install``)."""
    tree = ast.parse((ROOT / "domain" / "settings.py").read_text(encoding="utf-8"))
    names = {t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)}
    assert not {n for n in names if n.startswith("_")}, names  # no private module state
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "install" not in functions and "current_settings" not in functions


def test_settings_globals_are_only_where_the_adr_says() -> None:
    """A module-level ``global`` of a settings value is the documented exception, nowhere else."""
    holders = set()
    for p in sources():
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Global) and any("settings" in n.lower() or "configured" in n for n in node.names):
                holders.add(p.relative_to(ROOT).as_posix())
    assert holders <= PROCESS_GLOBALS, holders


def test_auth_is_handed_its_settings_and_keeps_none() -> None:
    """``auth.config`` defines the value the roots hand in (``AuthSettings``) and keeps none: no module
    state, no setter, no getter; auth's functions take it as ``cfg``."""
    source = (ROOT / "auth" / "config.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    assigned = [t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
                for t in (node.targets if isinstance(node, ast.Assign) else [node.target]) if isinstance(t, ast.Name)]
    assert assigned == [], assigned
    functions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert not functions & {"configure", "auth_settings"}, functions
    users = [f"{p.relative_to(ROOT)}" for root in ("api", "auth", "pwa", "notifications", "bench", "tests")
             for p in (ROOT / root).rglob("*.py")
             if re.search(r"\bauth_settings\(|\bconfigure_auth\b|auth\.config import .*\bconfigure\b",
                          p.read_text(encoding="utf-8"))]
    assert users == [], users
