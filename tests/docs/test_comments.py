"""Measured figures live in bench/README.md, not in the code's comments and docstrings.

A comment says why a choice was made; the timing that made it goes stale with the next machine, so it
is kept (with its date and how it was measured) in bench/README.md's "Figures behind the code's
comments" table, which the comment points to.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("api", "auth", "domain", "notifications", "pwa", "migrations")
TIMING = re.compile(r"\d(?:[\d.,]*\d)?\s?(?:µs|ms)\b|\d+(?:\.\d+)?\s?(?:×|x) (?:faster|slower)|\b\d[\d,]*/s\b"
                    r"|\d[\d,]* (?:per second|a second)\b")
# documented behaviour of other software, not a measurement of ours
NOT_MEASURED = ("SQLite's busy handler (which sleeps up to 100 ms at a time)",)


def comments_and_docstrings(source: str) -> list[tuple[int, str]]:
    texts = [(tok.start[0], tok.string) for tok in tokenize.generate_tokens(io.StringIO(source).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str):
                texts.append((first.lineno, first.value.value))
    return texts


def timings(source: str) -> list[tuple[int, str]]:
    found = []
    for line, text in comments_and_docstrings(source):
        for allowed in NOT_MEASURED:
            text = text.replace(allowed, "")
        found += [(line, m.group(0)) for m in TIMING.finditer(text)]
    return found


def test_the_scan_sees_a_timing() -> None:
    assert timings("x = 1  # costs ~15 µs a call\n") == [(1, "15 µs")]
    assert timings('def f() -> None:\n    """Takes 240 ms, ~3x faster."""\n') == [(2, "240 ms"), (2, "3x faster")]
    assert timings('TIMEOUT_MS = 250\nlabel = "10 ms"\n') == []  # code and strings are not comments


def test_no_timing_figures_in_comments() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}: {figure}"
             for top in SOURCE for path in sorted((ROOT / top).rglob("*.py"))
             for line, figure in timings(path.read_text(encoding="utf-8"))]
    assert not found, ("timing figures in comments; keep the reason, move the figure to bench/README.md "
                       f"(\"Figures behind the code's comments\") and point there: {found}")
