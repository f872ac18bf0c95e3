"""Statistics summary on 1,000,000 dossiers (PostgreSQL): the issue-8 goal, under 200 ms.

``run(print_fn)`` builds a separate database (``motcua_stats_bench`` on the PostgreSQL server of
``MOTCUA_BENCH_PG_URL``, default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``), migrates it,
loads the catalogue and the demo offer, generates the demo history (``domain.stats.demo``: the same
rules as real use, written with COPY; the roll-ups are checked against a full recount), then times
:func:`domain.stats.summary.summary` — what ``GET /api/v1/stats/summary`` runs — through the app's own
pooled :class:`~domain.db.Database` in one event loop: 5 warm-up calls, then 30 timed calls for each
scenario (year to date, last year, a quarter, a month, three years, one unit, one field, both).
After the load the database is vacuumed and analysed (as autovacuum would soon do), so the timings
are not taken while it runs. The database is dropped at the end.

Settings: ``MOTCUA_STATS_BENCH_DOSSIERS`` (default 1,000,000), ``MOTCUA_STATS_BENCH_YEARS`` (3),
``MOTCUA_STATS_BENCH_KEEP=1`` keeps the database and reuses it next time when it holds that many dossiers.
Generating 1,000,000 dossiers takes about 20 minutes on 2 cores.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

TARGET_MS = 200.0
DB_NAME = "motcua_stats_bench"
WARMUP, CALLS = 5, 30


def _admin_url() -> str:
    return os.environ.get("MOTCUA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


def _db_url() -> str:
    return _admin_url().rsplit("/", 1)[0] + "/" + DB_NAME


async def _admin(sql: str) -> Any:
    import asyncpg  # noqa: PLC0415  (only for PostgreSQL runs)

    conn = await asyncpg.connect(_admin_url().replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def _vacuum(url: str) -> None:
    import asyncpg  # noqa: PLC0415  (only for PostgreSQL runs)

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


def _dossier_count(url: str) -> int:
    from sqlalchemy import func, select  # noqa: PLC0415  (only when this section runs)

    from domain.db import Database  # noqa: PLC0415  (only when this section runs)
    from domain.dossiers.models import Dossier  # noqa: PLC0415  (only when this section runs)

    return int(Database(url).read_sync(lambda s: s.scalar(select(func.count()).select_from(Dossier))) or 0)


def _prepare(n: int, years: float, keep: bool, print_fn: Callable[..., None]) -> tuple[str, dict[str, Any]]:
    from domain.catalog.offer import apply_config, read_config  # noqa: PLC0415  (only when this section runs)
    from domain.catalog.procedures import import_normalised, read_bundle  # noqa: PLC0415  (only when this section runs)
    from domain.db import Database  # noqa: PLC0415  (only when this section runs)
    from domain.migrate import upgrade  # noqa: PLC0415  (only when this section runs)
    from domain.stats.demo import Options, generate  # noqa: PLC0415  (only when this section runs)

    url = _db_url()
    exists = asyncio.run(_admin(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'"))
    if exists and keep:
        try:
            if _dossier_count(url) >= n:
                print_fn(f"reusing {DB_NAME} ({n:,} dossiers or more)")
                return url, {"generated": False}
        except Exception as exc:  # an unfinished database from an earlier run: rebuilt below
            print_fn(f"{DB_NAME} unusable ({exc}); rebuilding")
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
    asyncio.run(_admin(f'CREATE DATABASE "{DB_NAME}"'))
    started = time.monotonic()
    upgrade(url)
    Database(url).run(lambda s: import_normalised(s, read_bundle()))

    config = Path(__file__).resolve().parent.parent / "config" / "province.toml"
    Database(url).run(apply_config, read_config(config))
    print_fn(f"{DB_NAME}: schema, catalogue and offer in {time.monotonic() - started:.0f} s; "
             f"generating {n:,} dossiers over {years:g} years…")
    report = generate(Database(url), Options(dossiers=n, years=years, batch=20_000, verify=True), progress=print_fn)
    print_fn(f"generated {report.dossiers:,} dossiers, {report.events:,} events in {report.seconds / 60:.1f} min; "
             f"roll-ups vs full recount: {'EQUAL' if report.differences == [] else report.differences}")
    started = time.monotonic()
    asyncio.run(_vacuum(url))  # what autovacuum would do a little later; measured without it running
    print_fn(f"VACUUM (ANALYZE) after the bulk load: {time.monotonic() - started:.0f} s")
    return url, {"generated": True, "generation_min": round(report.seconds / 60, 1), "events": report.events,
                 "recount_equal": report.differences == []}


def _scenarios(today: date) -> list[tuple[str, dict[str, Any]]]:
    last_year = today.year - 1
    return [
        ("year to date", {"start": date(today.year, 1, 1), "end": today}),
        (f"year {last_year}", {"start": date(last_year, 1, 1), "end": date(last_year, 12, 31)}),
        (f"Q2 {last_year}", {"start": date(last_year, 4, 1), "end": date(last_year, 6, 30)}),
        (f"March {last_year} (daily)", {"start": date(last_year, 3, 1), "end": date(last_year, 3, 31)}),
        ("3 years, custom days", {"start": today - timedelta(days=3 * 365), "end": today}),
        (f"year {last_year}, one unit", {"start": date(last_year, 1, 1), "end": date(last_year, 12, 31),
                                         "unit": "000.00.12.H56"}),
        (f"year {last_year}, one field", {"start": date(last_year, 1, 1), "end": date(last_year, 12, 31),
                                          "field": "ho-tich"}),
        (f"year {last_year}, unit + field", {"start": date(last_year, 1, 1), "end": date(last_year, 12, 31),
                                             "unit": "000.31.01.H56", "field": "ho-tich"}),
    ]


async def _time(url: str) -> list[tuple[str, list[float], int]]:
    from domain.db import Database  # noqa: PLC0415  (only when this section runs)
    from domain.stats.summary import SummaryQuery, summary, today_local  # noqa: PLC0415  (only when this section runs)

    db = Database(url)
    out = []
    try:
        for name, args in _scenarios(today_local()):
            q = SummaryQuery(**args)
            for _ in range(WARMUP):
                s = await db.read(summary, q)
            samples = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                s = await db.read(summary, q)
                samples.append((time.perf_counter() - t0) * 1000)
            out.append((name, samples, s.received.total))
    finally:
        await db.dispose()
    return out


def run(print_fn: Callable[..., None] = print) -> dict[str, Any]:
    """Build (or reuse) the benchmark database, time the summary, print a table; returns the figures."""
    n = int(os.environ.get("MOTCUA_STATS_BENCH_DOSSIERS", "1000000"))
    years = float(os.environ.get("MOTCUA_STATS_BENCH_YEARS", "3"))
    keep = os.environ.get("MOTCUA_STATS_BENCH_KEEP") == "1"
    url, info = _prepare(n, years, keep, print_fn)
    try:
        rows = asyncio.run(_time(url))
        worst = 0.0
        print_fn(f"| summary ({n:,} dossiers, PostgreSQL) | dossiers in period | p50 ms | p95 ms | max ms |")
        print_fn("|---|---:|---:|---:|---:|")
        for name, samples, received in rows:
            p95 = statistics.quantiles(samples, n=20)[18]
            worst = max(worst, p95)
            print_fn(f"| {name} | {received:,} | {statistics.median(samples):.1f} | {p95:.1f} | {max(samples):.1f} |")
        verdict = "PASS" if worst < TARGET_MS else "MISS"
        print_fn(f"stats summary p95 (worst scenario): {worst:.1f} ms — goal < {TARGET_MS:.0f} ms: {verdict}")
        return {**info, "dossiers": n, "worst_p95_ms": round(worst, 1), "verdict": verdict,
                "scenarios": {name: round(statistics.median(s), 1) for name, s, _ in rows}}
    finally:
        if not keep:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))


if __name__ == "__main__":
    run()
