"""README stays true to the tree: its command list, its settings table and its tree table.

The environment variables are found by reading the source (not from a list kept here): every string
key read from ``os.environ`` / ``os.getenv`` / an ``env`` mapping, directly or through a small helper
such as ``_int("PORT", …)`` whose parameter is the key.
"""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

from api.cli import parser
from tests.docs.source import called_name

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SOURCE = ("api", "auth", "domain", "notifications", "pwa", "migrations")
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*[A-Z0-9]")
ENV_MAPPINGS = {"environ", "env"}  # os.environ, a Mapping passed in as `env`


def section(title: str) -> str:
    """The text of README's ``## title`` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|")]
    return [row for row in rows[2:] if row]  # without the header and its rule


# -- the command list ---------------------------------------------------------------------------

def cli_commands() -> set[str]:
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    assert actions, "api.cli's parser has no subcommands"
    return set(actions[0].choices)


def readme_commands() -> set[str]:
    block = re.search(r"```sh\n(.*?)```", section("Command line"), re.S)
    assert block, "README's 'Command line' section has no ```sh block"
    return {m.group(1) for m in re.finditer(r"^motcua ([a-z][a-z0-9-]*)", block.group(1), re.M)}


def test_every_motcua_subcommand_is_in_the_readme_command_list() -> None:
    missing = cli_commands() - readme_commands()
    assert not missing, f"README's command list lacks {sorted(missing)} (subcommands of api/cli.py's parser)"


def test_the_readme_command_list_names_only_real_subcommands() -> None:
    unknown = readme_commands() - cli_commands()
    assert not unknown, f"README's command list names {sorted(unknown)}, which `motcua` does not have"


# -- the settings table -------------------------------------------------------------------------

def _key(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and ENV_NAME.fullmatch(node.value):
        return node.value
    return None


def _is_mapping(node: ast.expr) -> bool:
    """``os.environ``, ``environ`` or ``env``."""
    return ((isinstance(node, ast.Attribute) and node.attr in ENV_MAPPINGS)
            or (isinstance(node, ast.Name) and node.id in ENV_MAPPINGS))


def _read_key(node: ast.AST) -> ast.expr | None:
    """The key expression of an environment read: ``env.get(k)``, ``os.getenv(k)``, ``os.environ[k]``."""
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "get" and _is_mapping(func.value):
            return node.args[0]
        if (isinstance(func, ast.Attribute) and func.attr == "getenv") or (
                isinstance(func, ast.Name) and func.id == "getenv"):
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_mapping(node.value):
        return node.slice
    return None


def env_reads(tree: ast.AST) -> set[str]:
    """The environment variables a module reads, directly or through its own helpers."""
    names: set[str] = set()
    helpers: set[str] = set()  # functions of this module that read the variable named by a parameter
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = {a.arg for a in node.args.args + node.args.kwonlyargs}
            for inner in ast.walk(node):
                read = _read_key(inner)
                if isinstance(read, ast.Name) and read.id in params:
                    helpers.add(node.name)
        name = _key(_read_key(node))
        if name:
            names.add(name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and called_name(node) in helpers:
            names.update(k for k in (_key(a) for a in node.args) if k)
    return names


def code_env_vars() -> dict[str, set[str]]:
    """variable → the modules reading it."""
    found: dict[str, set[str]] = {}
    for top in SOURCE:
        for path in sorted((ROOT / top).rglob("*.py")):
            for name in env_reads(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def readme_settings() -> set[str]:
    """Every name in backticks in the settings table (``VNPAY_*`` stands for a family)."""
    names: set[str] = set()
    for row in table_rows(section("Settings (environment variables)")):
        for cell in row:
            names.update(n for n in re.findall(r"`([^`]+)`", cell) if re.fullmatch(r"[A-Z][A-Z0-9_]*(_\*)?", n))
    return names


def documented(name: str, table: set[str]) -> bool:
    return name in table or any(t.endswith("_*") and name.startswith(t[:-1]) for t in table)


def test_the_scan_finds_environment_reads() -> None:
    tree = ast.parse(
        "import os\n"
        "def _int(name, default):\n    return int(os.environ.get(name, default))\n"
        "def load(env):\n    return env.get('B_VAR'), env['C_VAR'], os.getenv('D_VAR'), _int('E_VAR', 1)\n"
        "A = os.environ['A_VAR']\n"
        "labels = {}.get('NOT_ENV')\n")
    assert env_reads(tree) == {"A_VAR", "B_VAR", "C_VAR", "D_VAR", "E_VAR"}
    assert {"MOTCUA_ENV", "DATABASE_URL", "SECRET_KEY", "PUBLIC_URL"} <= code_env_vars().keys()


def test_every_environment_variable_the_code_reads_is_in_the_readme_settings_table() -> None:
    table = readme_settings()
    missing = {name: sorted(where) for name, where in code_env_vars().items() if not documented(name, table)}
    assert not missing, f"README's settings table lacks these environment variables (read in): {missing}"


def test_the_readme_settings_table_names_only_variables_the_code_reads() -> None:
    read = code_env_vars().keys()
    unknown = sorted(t for t in readme_settings()
                     if not (t in read or (t.endswith("_*") and any(r.startswith(t[:-1]) for r in read))))
    assert not unknown, f"README's settings table names {unknown}, which no code reads"


# -- the tree table -----------------------------------------------------------------------------

def tree_paths() -> list[str]:
    return [path for row in table_rows(section("What is here")) for path in re.findall(r"`([^`]+)`", row[0])]


def packages() -> set[str]:
    """The top-level packages and the packages directly inside them (tests/ and migrations/ not split)."""
    found = set()
    for init in ROOT.glob("*/__init__.py"):
        found.add(init.parent.name + "/")
    for init in ROOT.glob("*/*/__init__.py"):
        if init.parent.parent.name not in ("tests", "migrations"):
            found.add(f"{init.parent.parent.name}/{init.parent.name}/")
    return found


def test_every_path_in_the_readme_tree_table_exists() -> None:
    paths = tree_paths()
    assert paths, "README's 'What is here' table names no path"
    missing = [p for p in paths if not (ROOT / p).exists() or (p.endswith("/") and not (ROOT / p).is_dir())]
    assert not missing, f"README's tree table names {missing}, which are not in the tree"


def test_every_package_is_in_the_readme_tree_table() -> None:
    missing = sorted(packages() - set(tree_paths()))
    assert not missing, f"README's tree table ('What is here') lacks the packages {missing}"
