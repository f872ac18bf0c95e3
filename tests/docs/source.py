"""Reading the tree's Python source for the documentation checks."""

from __future__ import annotations

import ast


def called_name(call: ast.Call) -> str | None:
    """The name a call calls: ``f`` for ``f(…)`` and ``obj.f(…)``; None for anything else."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None
