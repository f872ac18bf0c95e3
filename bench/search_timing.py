"""Search server time: the core search use case called in-process, as the web handlers call it."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from bench.queries import QUERIES, prefixes


@dataclass
class Timing:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    full_p95_ms: float  # whole queries only
    prefix_p95_ms: float  # what is sent while typing
    slowest: list[tuple[float, str]]
    ref_p50_ms: float  # the reference app's one FTS query, whole queries, raw sqlite3
    ref_p95_ms: float


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation): the value below which pct % of samples fall."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def workload(total: int) -> list[tuple[str, bool]]:
    """(query, is_whole_query) pairs: every query and every typed prefix, cycled up to `total`."""
    base: list[tuple[str, bool]] = []
    for q in QUERIES:
        base += [(p, False) for p in prefixes(q)[:-1]]
        base.append((q, True))
    return [base[i % len(base)] for i in range(total)]


def measure(db_path: Path, total: int = 2000, budget_s: float = 120.0) -> Timing:
    from domain.catalog import procedures as service  # noqa: PLC0415  (only when this section runs)
    from domain.catalog.procedures import SearchQuery  # noqa: PLC0415  (only when this section runs)
    from domain.db import Database  # noqa: PLC0415  (only when this section runs)

    db = Database(f"sqlite:///{db_path}")
    try:
        work = workload(total)
        for q, _whole in work[:200]:  # warm-up: imports, statement cache, page cache
            db.read_rows_sync(service.search, SearchQuery(q=q))
        samples: list[tuple[float, str, bool]] = []
        deadline = time.monotonic() + budget_s
        for q, whole in work:
            query = SearchQuery(q=q)
            t0 = time.perf_counter_ns()
            db.read_rows_sync(service.search, query)
            samples.append(((time.perf_counter_ns() - t0) / 1e6, q, whole))
            if time.monotonic() > deadline:
                break
    finally:
        assert db.sync_engine is not None
        db.sync_engine.dispose()
    ms = [s[0] for s in samples]
    ref = reference_times(db_path, rounds=5 if total >= 1000 else 2)
    return Timing(
        count=len(ms),
        p50_ms=percentile(ms, 50), p95_ms=percentile(ms, 95), p99_ms=percentile(ms, 99), max_ms=max(ms),
        full_p95_ms=percentile([s[0] for s in samples if s[2]], 95),
        prefix_p95_ms=percentile([s[0] for s in samples if not s[2]], 95),
        slowest=sorted(((s[0], s[1]) for s in samples), reverse=True)[:40],
        ref_p50_ms=percentile(ref, 50), ref_p95_ms=percentile(ref, 95),
    )


def reference_times(db_path: Path, rounds: int) -> list[float]:
    """The bare reference app's query (one FTS statement, raw sqlite3) over the whole queries."""
    from bench.reference_app import SQL, match_expression  # noqa: PLC0415  (only when this section runs)

    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        out = []
        for r in range(rounds + 1):
            for q in QUERIES:
                t0 = time.perf_counter_ns()
                conn.execute(SQL, (match_expression(q),)).fetchall()
                if r:  # the first round warms up
                    out.append((time.perf_counter_ns() - t0) / 1e6)
        return out
    finally:
        conn.close()
