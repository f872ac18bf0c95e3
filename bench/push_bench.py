"""Web Push figures: throughput of one notification worker, and status change → push received latency.

``run(print_fn)`` measures, prints and returns the figures (a dict) for the summary table:

1. **10,000 pushes, one worker**: 100 people with one subscribed device each, 100 notifications each,
   already in the outbox (a fresh SQLite database built by the migrations); one :class:`Worker`
   (batch 200, 64 pushes in flight) sends them to the local RFC 8030 push service on 127.0.0.1
   (``tests/pushservice.py``, in a process of its own: it checks every VAPID JWT and decrypts every
   ``aes128gcm`` payload).
   Timed from the first claim until the push service has received all 10,000 and the worker has
   recorded them. Target ≤ 60 s.
2. **status change → push received**: 200 real workflow transitions (``fire(…, "submit")`` on a draft,
   committed), one after another; each is timed from just before its transaction until the push
   service has decrypted the push. The worker runs as ``make run`` runs it (in the same process, woken
   by the commit), and again as a separate ``motcua worker`` process would (polling every 0.5 s, no
   wake-up). p50 / p95 / max. Target p95 ≤ 2 s.

Everything runs on 127.0.0.1: the worker in this process, the push service in a child process that is
stopped at the end; the temporary database is removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

TARGET_SECONDS = 60.0
TARGET_P95_S = 2.0
PEOPLE = 100
PER_PERSON = 100
CHANGES = 200
POLLED_CHANGES = 60


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


@contextlib.contextmanager
def _environment(tmp: Path) -> Iterator[str]:
    """A throw-away SQLite database and test settings; the caller's environment is restored after."""
    from domain.settings import configure_core, load_settings  # noqa: PLC0415  (only when this section runs)

    url = f"sqlite:///{tmp / 'push_bench.db'}"
    values = {"MOTCUA_ENV": "test", "DATABASE_URL": url, "MOTCUA_VAR_DIR": str(tmp / "var"),
              "PUBLIC_URL": "http://localhost:8000"}
    try:
        with mock.patch.dict(os.environ, values):  # the environment as it was, on the way out
            configure_core(load_settings(os.environ))  # what a composition root does at start-up
            yield url
    finally:
        configure_core(load_settings(os.environ))


def _throughput(url: str, push: Any, settings: Any, print_fn: Callable[[str], None]) -> dict[str, float]:
    from domain.db import Database  # noqa: PLC0415  (only when this section runs)
    from domain.outbox.enqueue import enqueue  # noqa: PLC0415  (only when this section runs)
    from notifications.worker import Worker  # noqa: PLC0415  (only when this section runs)
    from tests.pushservice import subscribed_people  # noqa: PLC0415  (only when this section runs)

    db = Database(url)
    subs = [push.subscribe() for _ in range(PEOPLE)]
    users = db.run(subscribed_people, subs)
    t0 = time.monotonic()
    for uid in users:  # one transaction per person, 100 notifications each
        db.run(lambda s, uid=uid: [enqueue(s, uid, "dossier.received", {
            "dossier_code": f"000.00.99.H56-260217-{i:04d}", "procedure_name": "Đăng ký khai sinh",
            "due_date": "20/02/2026"}, dossier_id=None) for i in range(PER_PERSON)])
    print_fn(f"  outbox filled: {PEOPLE * PER_PERSON:,} deliveries in {time.monotonic() - t0:.1f} s (not timed)")
    before = push.count()
    total = PEOPLE * PER_PERSON

    async def send() -> tuple[float, Worker]:
        worker = Worker(Database(url), settings, batch=200, concurrency=64, name="bench")
        started = time.monotonic()
        cpu["start"] = time.process_time()
        deadline = started + 300
        try:
            while time.monotonic() < deadline and worker.total.claimed < total:
                if await worker.run_once() == 0 and worker.total.retried == 0:
                    break
        finally:
            await worker.close()
            await worker.db.dispose()
        return time.monotonic() - started, worker

    cpu: dict[str, float] = {}
    load_before = os.getloadavg()[0]
    elapsed, worker = asyncio.run(send())
    cpu_s = time.process_time() - cpu["start"]  # this process = the worker (the push service runs apart)
    received = push.count() - before
    if push.rejected():
        print_fn(f"  WARNING: the push service refused {push.rejected()} request(s)")
    rate = received / elapsed if elapsed else 0.0
    print_fn(f"  one worker: {received:,} pushes received (VAPID checked, decrypted) in {elapsed:.1f} s = "
             f"{rate:,.0f}/s; delivered {worker.total.delivered:,}, retried {worker.total.retried}, "
             f"failed {worker.total.failed}")
    print_fn(f"  the worker used {cpu_s:.1f} CPU s ({cpu_s * 1000 / max(received, 1):.2f} ms per push: encryption, "
             f"VAPID, HTTP, database); load average before: {load_before:.2f} on {os.cpu_count()} cores — on a "
             f"busy machine the wall time above is mostly waiting for a core")
    return {"pushes": float(received), "seconds": elapsed, "per_second": rate,
            "delivered": float(worker.total.delivered), "cpu_seconds": cpu_s}


def _latency(url: str, push: Any, settings: Any, changes: int, listen: bool) -> list[float]:
    """Seconds from just before each status change's transaction to the push received."""
    from domain.db import Database  # noqa: PLC0415  (only when this section runs)
    from domain.dossiers.lifecycle import fire  # noqa: PLC0415  (only when this section runs)
    from domain.dossiers.models import Dossier  # noqa: PLC0415  (only when this section runs)
    from domain.workflow import Actor  # noqa: PLC0415  (only when this section runs)
    from notifications.worker import Worker  # noqa: PLC0415  (only when this section runs)
    from tests.pushservice import make_draft, make_user, subscribe_user  # noqa: PLC0415  (only when this section runs)

    db = Database(url)
    sub = push.subscribe()

    def person(session: Any) -> tuple[int, list[int]]:
        uid = make_user(session)
        subscribe_user(session, uid, sub)
        return uid, [make_draft(session, uid) for _ in range(changes)]

    uid, drafts = db.run(person)
    stop_flag = threading.Event()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def worker_thread() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            holder["loop"], holder["stop"] = asyncio.get_running_loop(), stop
            worker = Worker(Database(url), settings, name="bench-latency")
            ready.set()
            try:
                await worker.run(stop, listen=listen)
            finally:
                await worker.db.dispose()

        asyncio.run(main())

    thread = threading.Thread(target=worker_thread, name="bench-worker", daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.3)
    times: list[float] = []
    try:
        for i, dossier_id in enumerate(drafts):
            def change(session: Any, dossier_id: int = dossier_id) -> None:
                d = session.get(Dossier, dossier_id)
                fire(session, d, "submit", actor_id=uid, actors={Actor.APPLICANT})
                d.code = f"000.00.99.H56-260218-{dossier_id:04d}"

            t0 = time.monotonic()
            db.run(change)
            if not push.wait_for(i + 1, timeout=30, sub=sub):
                raise RuntimeError(f"push {i + 1} not received within 30 s")
            times.append(push.times(sub)[i][0] - t0)
            time.sleep(0.02)
    finally:
        stop_flag.set()
        loop, stop = holder.get("loop"), holder.get("stop")
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join(30)
    return times


def run(print_fn: Callable[[str], None] = print) -> dict[str, Any]:
    from domain.migrate import upgrade  # noqa: PLC0415  (only when this section runs)
    from tests.pushservice import PushServiceProcess, notify_env  # noqa: PLC0415  (only when this section runs)

    tmp = Path(tempfile.mkdtemp(prefix="motcua-push-bench-"))
    try:
        with _environment(tmp) as url, notify_env(MOTCUA_WORKER_POLL_SECONDS="0.5") as settings, \
                PushServiceProcess() as push:
            upgrade(url, "heads")
            print_fn(f"  local push service {push.origin} (RFC 8030; checks VAPID, decrypts aes128gcm); "
                     f"SQLite {url.removeprefix('sqlite:///')}")
            through = _throughput(url, push, settings, print_fn)
            embedded = _latency(url, push, settings, CHANGES, listen=True)
            print_fn(f"  status change → push received, worker in the app's process (woken by the commit), "
                     f"{len(embedded)} changes: p50 {statistics.median(embedded) * 1000:.0f} ms, "
                     f"p95 {_pct(embedded, 0.95) * 1000:.0f} ms, max {max(embedded) * 1000:.0f} ms")
            polled_settings = dataclasses.replace(settings, poll_seconds=0.5)
            polled = _latency(url, push, polled_settings, POLLED_CHANGES, listen=False)
            print_fn(f"  status change → push received, separate worker process (polls every 0.5 s), "
                     f"{len(polled)} changes: p50 {statistics.median(polled) * 1000:.0f} ms, "
                     f"p95 {_pct(polled, 0.95) * 1000:.0f} ms, max {max(polled) * 1000:.0f} ms")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    p95 = max(_pct(embedded, 0.95), _pct(polled, 0.95))
    return {
        "pushes": through["pushes"], "seconds": through["seconds"], "per_second": through["per_second"],
        "cpu_seconds": through["cpu_seconds"],
        "throughput_ok": through["pushes"] >= PEOPLE * PER_PERSON and through["seconds"] <= TARGET_SECONDS,
        "latency_p50_s": statistics.median(embedded), "latency_p95_s": _pct(embedded, 0.95),
        "latency_max_s": max(embedded), "polled_p95_s": _pct(polled, 0.95),
        "latency_ok": p95 <= TARGET_P95_S,
        "targets": {"seconds": TARGET_SECONDS, "p95_s": TARGET_P95_S},
    }


if __name__ == "__main__":
    figures = run()
    print({k: v for k, v in figures.items() if k != "targets"})
