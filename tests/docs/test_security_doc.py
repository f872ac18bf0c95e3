"""docs/security.md stays true to the code: every test it names exists, every path it names exists, and its
ASVS part lists each requirement once, with a state, and every requirement not met again under "Open"."""

from __future__ import annotations

import ast
import re
from collections import Counter
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
PATH_REF = re.compile(r"`(tests/[\w/.]*|(?:api|auth|domain|notifications|pwa)/[\w/]+\.(?:py|html|js|json|toml|txt|md))")
ROW = re.compile(r"^\| (V\d+\.\d+\.\d+) \| ([123]) \| [^|]+ \| (met|partly|not met|n/a)\b[^|]* \|(.*)$", re.M)
STATES = ("met", "partly", "not met", "n/a")


def asvs_part() -> str:
    match = re.search(r"^## ASVS 5\.0\.0.*?(?=^## Open\b)", DOC, re.S | re.M)
    assert match, "docs/security.md has no '## ASVS 5.0.0' part before '## Open'"
    return match.group(0)


def open_part() -> str:
    match = re.search(r"^## Open\n(.*)", DOC, re.S | re.M)
    assert match, "docs/security.md has no '## Open' section"
    return match.group(1)


@cache
def defined_tests(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return frozenset(node.name for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_"))


def test_every_named_test_exists() -> None:
    refs = TEST_REF.findall(DOC)
    assert refs, "the scan finds no test references"
    missing = [f"{path}::{name}" for path, name in refs
               if not (ROOT / path).is_file() or name not in defined_tests(path)]
    assert not missing, f"docs/security.md names tests that do not exist: {missing}"


def test_every_named_path_exists() -> None:
    paths = {p.split("::")[0].rstrip("/") for p in PATH_REF.findall(DOC)}
    assert "tests/pwa/test_private_caching.py" in paths  # the scan sees a path
    missing = sorted(p for p in paths if not (ROOT / p).exists())
    assert not missing, f"docs/security.md names paths that do not exist: {missing}"


def test_each_requirement_once_with_a_state() -> None:
    rows = ROW.findall(asvs_part())
    ids = [req for req, _, _, _ in rows]
    assert len(ids) > 200, len(ids)
    twice = [req for req, n in Counter(ids).items() if n > 1]
    assert not twice, f"listed more than once: {twice}"
    assert {state for _, _, state, _ in rows} <= set(STATES)
    assert not [req for req, level, _, _ in rows if level == "3"], "the page lists levels 1 and 2 only"


def test_a_met_requirement_names_its_test() -> None:
    """'met' needs a test (path::name) or, for a requirement that forbids something, the word 'absent'."""
    bare = [req for req, _, state, rest in ROW.findall(asvs_part())
            if state == "met" and not TEST_REF.search(rest) and "absent" not in rest]
    assert not bare, f"met without a test: {bare}"


def test_every_open_requirement_is_listed_under_open() -> None:
    listed = set(re.findall(r"V\d+\.\d+\.\d+", open_part()))
    rows = ROW.findall(asvs_part())
    missing = [req for req, _, state, _ in rows if state in ("partly", "not met") and req not in listed]
    assert not missing, f"partly / not met but not under Open: {missing}"
    closed = sorted(listed - {req for req, _, state, _ in rows if state in ("partly", "not met")})
    assert not closed, f"under Open but met or n/a above: {closed}"


def test_the_counts_under_open_are_the_tables() -> None:
    states = Counter(state for _, _, state, _ in ROW.findall(asvs_part()))
    expected = (f"{sum(states.values())} requirements; {states['met']} met, {states['partly']} partly, "
                f"{states['not met']} not met, {states['n/a']} n/a")
    assert expected in open_part(), expected
