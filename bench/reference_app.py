"""The bare reference app: Litestar + the standard sqlite3 module + Jinja2, nothing else.

It runs the same kind of FTS5 query as motcua on the *same* database file (read-only) and renders 20
rows into a small HTML template, or returns them as JSON. No middleware, no compression, no ORM: it
is the ceiling the motcua stack could reach on this machine, measured in the same run.

Run: ``REF_DB=/abs/path.db PORT=8123 .venv/bin/python -m bench.reference_app`` (uvicorn, with the same
settings as ``motcua serve``).
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import unicodedata
from typing import Any

from jinja2 import Environment, select_autoescape
from litestar import Litestar, Response, get

SQL = (
    "SELECT p.code, p.name, p.field FROM procedure_search s JOIN procedures p ON p.id = s.rowid "
    "WHERE procedure_search MATCH ? ORDER BY bm25(procedure_search) LIMIT 20"
)
WORD = re.compile(r"[a-z0-9]+")

TEMPLATE = """<!doctype html>
<html lang="vi">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kết quả cho “{{ q }}”</title></head>
<body>
<h1>Tìm thủ tục</h1>
<form action="/thu-tuc" method="get"><input type="search" name="q" value="{{ q }}"><button>Tìm</button></form>
<ol>
{% for code, name, field in rows %}
  <li><a href="/thu-tuc/{{ code }}">{{ name }}</a> <small>{{ code }} · {{ field }}</small></li>
{% endfor %}
</ol>
</body>
</html>
"""

env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), auto_reload=False)
page = env.from_string(TEMPLATE)
_local = threading.local()


def connection() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        path = os.environ["REF_DB"]
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        _local.conn = conn
    return conn


def fold(text: str) -> str:
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D").lower())
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def match_expression(q: str) -> str | None:
    tokens = WORD.findall(fold(q))[:12]
    if not tokens:
        return None
    return " ".join([f'"{t}"' for t in tokens[:-1]] + [f'"{tokens[-1]}"*'])


def rows(q: str) -> list[tuple[str, str, str]]:
    expr = match_expression(q)
    if expr is None:
        return []
    return connection().execute(SQL, (expr,)).fetchall()


@get("/thu-tuc")
async def results_html(q: str = "") -> Response[bytes]:
    html = page.render(q=q, rows=rows(q))
    return Response(html.encode(), media_type="text/html; charset=utf-8")


@get("/api/procedures")
async def results_json(q: str = "") -> dict[str, Any]:
    return {"items": [{"code": c, "name": n, "field": f} for c, n, f in rows(q)]}


@get("/healthz")
async def healthz() -> dict[str, str]:
    connection().execute("SELECT 1").fetchone()
    return {"status": "ok"}


app = Litestar(route_handlers=[results_html, results_json, healthz], debug=False)


def main() -> None:
    import uvicorn  # noqa: PLC0415  (the server only when the reference app is served)

    # the same uvicorn settings as `motcua serve` (api/cli.py)
    uvicorn.run("bench.reference_app:app", host="127.0.0.1", port=int(os.environ["PORT"]),
                log_level="warning", proxy_headers=True, server_header=False,
                loop="asyncio")


if __name__ == "__main__":
    main()
