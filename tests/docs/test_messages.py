"""Messages people see are Vietnamese (English comes from the catalogue in pwa/locales); messages for
developers and operators (logs, the CLI, configuration files, form and template definitions) are English.

The scan reads every error the skins turn into a response (the core's ``DomainError`` family, the push
endpoint checks, Litestar's HTTP exceptions) raised or returned with a literal message, and fails when
the message has no Vietnamese letter, unless the function is one that only developers and operators
reach (``OPERATOR_FACING``, each with its reason). A technical term a client needs may stay in
parentheses after the Vietnamese text.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.docs.source import called_name

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ("api", "auth", "domain", "notifications", "pwa")
VIETNAMESE = re.compile("[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệóòỏõọốồổỗộớờởỡợúùủũụứừửữựíìỉĩịýỳỷỹỵ]", re.I)
USER_FACING_ERRORS = {
    "DomainError", "InvalidInput", "NotFound", "Conflict", "Unauthorized", "Forbidden", "TooManyRequests",
    "EndpointRefused", "HTTPException", "NotFoundException", "ValidationException",
    "PermissionDeniedException", "NotAuthorizedException", "ClientException",
}
# (module path, function, or "*" for the whole module) → why only developers or operators see its messages
OPERATOR_FACING = {
    ("api/cli.py", "*"): "the motcua CLI",
    ("domain/accounts/users.py", "check_new_user"): "the account kind is chosen by code, never typed by a person",
    ("domain/accounts/users.py", "grant_officer_role"): "reached from the CLI and the demo data only",
    ("domain/catalog/offer.py", "province_info"): "the province config file (motcua load-offer)",
    ("domain/catalog/offer.py", "read_config"): "the province config file (motcua load-offer)",
    ("domain/catalog/offer.py", "_check_receivable_by"): "the province config file (motcua load-offer)",
    ("domain/catalog/times.py", "check_offer_time"): "the province config file (motcua load-offer)",
    ("domain/dossiers/forms.py", "check_schema"): "hand-made form definitions (domain/dossiers/forms/*.json)",
    ("domain/dossiers/forms.py", "check_fields"): "hand-made form definitions (domain/dossiers/forms/*.json)",
    ("pwa/static_files.py", "asset_response"): "a missing static file: a deployment fault",
}


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # implicit concatenation is one Constant
        left, right = _text(node.left), _text(node.right)
        return None if left is None or right is None else left + right
    return None


def english_messages(source: str, module: str) -> list[str]:
    found: list[str] = []

    def visit(node: ast.AST, functions: tuple[str, ...]) -> None:
        """``functions``: the enclosing functions, outermost first (a nested helper counts as its parent)."""
        function = functions[-1] if functions else "<module>"
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, (*functions, child.name))
                continue
            if isinstance(child, ast.Call) and called_name(child) in USER_FACING_ERRORS:
                candidates = child.args[:1] + [k.value for k in child.keywords if k.arg == "detail"]
                for arg in candidates:
                    text = _text(arg)
                    if (text and re.search("[A-Za-z]{3}", text) and not VIETNAMESE.search(text)
                            and not any((module, f) in OPERATOR_FACING for f in ("*", *functions))):
                        found.append(f"{module}:{child.lineno} ({function}): {text!r}")
            visit(child, functions)

    visit(ast.parse(source), ())
    return found


def test_the_scan_sees_an_english_message() -> None:
    source = ('def f(x):\n    raise NotFound("no such account")\n'
              'def g(x):\n    raise InvalidInput(f"Không tìm thấy {x}.")\n'
              'def h(x):\n    raise HTTPException(status_code=413, detail=f"the body may be at most {x} bytes")\n')
    assert english_messages(source, "m.py") == [
        "m.py:2 (f): 'no such account'", "m.py:6 (h): 'the body may be at most {} bytes'"]


def test_messages_people_see_are_vietnamese() -> None:
    found = [message for top in SOURCE for path in sorted((ROOT / top).rglob("*.py"))
             for message in english_messages(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not found, ("user-facing messages in English: write them in Vietnamese (a technical term may stay "
                       f"in parentheses), or list an operator-only function in OPERATOR_FACING: {found}")


def test_operator_facing_functions_exist() -> None:
    missing = []
    for module, function in OPERATOR_FACING:
        path = ROOT / module
        names = {n.name for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)} if path.exists() else set()
        if function != "*" and function not in names or not path.exists():
            missing.append(f"{module}:{function}")
    assert not missing, f"OPERATOR_FACING names functions that are gone: {missing}"
