"""Filing figure: dossier submissions per second, each dossier carrying two 300 KB attachments.

Target (issue): ≥ 200 submits/s on SQLite, ≥ 300 submits/s on PostgreSQL.

``run(print_fn, quick=False)`` measures, prints and returns the figures (a dict), for each backend:

1. **A fresh database**: SQLite ``bench/.out/submit.db``, or the PostgreSQL database
   ``motcua_bench_submit_<pid>`` created (and dropped at the end) on the server of ``MOTCUA_BENCH_PG_URL``
   (default ``postgresql+asyncpg://postgres@127.0.0.1:5432/postgres``; 127.0.0.1 only). Built with
   ``motcua setup`` (migrations, the catalogue, the demo province's offer, demo accounts;
   ``MOTCUA_DEMO_DOSSIERS=0``: no demo history).
2. **The real app**: ``motcua serve --quiet`` (one uvicorn worker, the notification worker in the same
   process, as ``make run``) on a free port of 127.0.0.1, ``MOTCUA_ENV=dev``,
   ``MOTCUA_CLIENT_LIMIT_FACTOR=1000`` (every bench citizen registers from 127.0.0.1).
3. **Preparation (not timed)**, all through the JSON API: 20 citizens register and sign in; each owns
   an equal share of the drafts of procedure 1.001193 (đăng ký khai sinh, fully online, hand-made form)
   created with every required field filled; into each draft two distinct 1400×1050 JPEG scans of
   ~300 KB are uploaded (slots ``giay_chung_sinh`` and ``giay_to_cu_tru``), through the real pipeline
   (streamed, sniffed, re-encoded, stored). 2,000 timed dossiers (300 with ``quick``) plus 100 (30)
   for the warm-up.
4. **Timed**: ``POST /api/v1/dossiers/{id}/submit`` with ``Authorization: Bearer …`` (tokens fresh
   from a sign-in just before) and a distinct ``Idempotency-Key``, each dossier once, from 40 HTTP/1.1
   keep-alive connections on a closed loop (a minimal asyncio client on uvloop: it costs far less CPU
   than httpx, and the machine has 2 cores). The warm-up dossiers are submitted first, at the same
   concurrency, and not counted. Submits/s = timed dossiers ÷ wall time from the first request to the
   last answer; latency p50/p95/p99/max per request.
5. **Checked afterwards** in the database: every answer was 200, every dossier is ``submitted`` with
   the code it was answered, codes all distinct, its ``Idempotency-Key`` stored, exactly one
   ``submit`` history row, its two attachments; one ``dossier.submit`` audit row each, and the audit
   hash chain intact. Any failure counts as an error; the target needs 0 errors.

CPU is reported like the rest of the harness: cores used per wall second by the server process, by
this client, by every PostgreSQL process (on a 2-core machine they are part of the cost) and by
everything else. Before the timed part the bench waits (up to 30 s) for the machine to calm down after
the preparation (autovacuum, the stored scans' write-back) and prints how busy it still was. Every
process started here is stopped here; the PostgreSQL database is dropped and the stored scans deleted.

Alone: ``.venv/bin/python -m bench.submit_bench [--quick] [--profile] [sqlite|postgresql]``.
``--profile`` (``run(..., profile=True)``) sends the timed submits to a server under cProfile (every
thread, thread CPU time; started after the preparation, on the same port) and prints where its CPU
went: a diagnostic, its figures are slowed by the profiler.
"""

from __future__ import annotations

import asyncio
import cProfile
import fcntl
import io
import json
import logging
import os
import pstats
import shutil
import signal
import sqlite3
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.procs import MOTCUA, OUT, PY, ROOT, Server, free_port

TARGETS = {"sqlite": 200.0, "postgresql": 300.0}  # submits per second
PROCEDURE = "1.001193"  # đăng ký khai sinh: fully online in the demo offer, hand-made form
SLOTS = ("giay_chung_sinh", "giay_to_cu_tru")  # the required slot and an optional one
DOSSIERS, DOSSIERS_QUICK = 2000, 300
WARMUP, WARMUP_QUICK = 100, 30
CITIZENS = 20
CONNECTIONS = 40
PREP_CONCURRENCY = 6
SCAN_SIZE = (1400, 1050)  # re-encoded by the server at quality 85: ~300 KB (305 KiB)
PASSWORD = "một câu mật khẩu dài cho bench"
PG_DB = f"motcua_bench_submit_{os.getpid()}"  # two runs at once (two checkouts) never share it
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
ADDRESS = {"province": 80, "ward": 25459, "street": "12 Đường 30/4"}
TOKEN_MAX_AGE_S = 7 * 60  # access tokens live 10 minutes


# --- the machine ----------------------------------------------------------------------------------
def _clk() -> int:
    return os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _clk()


def _group_cpu_seconds(pgid: int) -> float:
    """CPU seconds of every process in a process group (the server and, with --workers, its workers)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _clk()


def _machine_busy_seconds() -> float:
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / _clk()


def _postgres_seconds() -> float:
    """CPU seconds of every PostgreSQL process on the machine (its backends serve this bench, and
    anyone else using the same server)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:  # gone meanwhile
            continue
        if head.split("(", 1)[1] in ("postgres", "postmaster"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / _clk()


def _busy_cores(seconds: float = 2.0) -> float:
    b0, t0 = _machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (_machine_busy_seconds() - b0) / (time.monotonic() - t0)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


# --- the scans ------------------------------------------------------------------------------------
class Scans:
    """Photo-like scans of a paper (text, slight blur, sensor noise), each one distinct (a label)."""

    def __init__(self, size: tuple[int, int] = SCAN_SIZE) -> None:
        from PIL import Image, ImageChops, ImageDraw, ImageFilter  # noqa: PLC0415  (only when images are made)

        w, h = size
        page = Image.new("RGB", size, (235, 232, 220))
        draw = ImageDraw.Draw(page)
        line = "CONG HOA XA HOI CHU NGHIA VIET NAM - Doc lap - Tu do - Hanh phuc - GIAY CHUNG SINH "
        for y in range(60, h - 60, 22):
            draw.text((80, y), line * 2, fill=(30, 30, 40))
        page = page.filter(ImageFilter.GaussianBlur(0.6))
        self.base = ImageChops.add(page, Image.effect_noise(size, 2).convert("RGB"), scale=1.0, offset=-128)

    def make(self, label: str) -> bytes:
        from PIL import ImageDraw  # noqa: PLC0415  (only when images are made)

        img = self.base.copy()
        draw = ImageDraw.Draw(img)
        draw.rectangle((20, 10, 420, 40), fill=(255, 255, 255))
        draw.text((28, 18), label, fill=(0, 0, 0))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        return buf.getvalue()


# --- databases ------------------------------------------------------------------------------------
def _pg_admin_url() -> str:
    url = os.environ.get("MOTCUA_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    host = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://")).hostname
    if host not in LOCAL_HOSTS:
        raise RuntimeError(f"the submit bench only creates databases on this machine, not on {host!r}")
    return url


def _pg_url() -> str:
    return _pg_admin_url().rsplit("/", 1)[0] + "/" + PG_DB


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _pg_admin(sql: str) -> None:
    import asyncpg  # noqa: PLC0415  (only for PostgreSQL runs)

    conn = await asyncpg.connect(_dsn(_pg_admin_url()))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Backend:
    name: str  # sqlite | postgresql
    url: str
    var: Path
    sqlite_path: Path | None = None

    @property
    def label(self) -> str:
        return "SQLite" if self.name == "sqlite" else "PostgreSQL"

    def env(self, port: int | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PUBLIC_URL", "WEB_CONCURRENCY")}
        env.update(DATABASE_URL=self.url, MOTCUA_VAR_DIR=str(self.var), MOTCUA_STORAGE_DIR=str(self.var / "files"),
                   MOTCUA_ENV="dev", MOTCUA_DEMO_DOSSIERS="0", MOTCUA_CLIENT_LIMIT_FACTOR="1000",
                   PYTHONUNBUFFERED="1")
        if port is not None:
            env["PORT"] = str(port)
        return env

    def create(self) -> None:
        shutil.rmtree(self.var, ignore_errors=True)
        if self.sqlite_path is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(self.sqlite_path) + suffix).unlink(missing_ok=True)
        else:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            asyncio.run(_pg_admin(f'CREATE DATABASE "{PG_DB}"'))
        done = subprocess.run([str(MOTCUA), "setup"], env=self.env(), cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        if done.returncode:
            raise RuntimeError(f"motcua setup failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")

    def drop(self) -> None:
        shutil.rmtree(self.var, ignore_errors=True)  # ~1.2 GB of stored scans in a full run
        if self.sqlite_path is None:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))


def backends() -> list[Backend]:
    db = OUT / "submit.db"
    return [Backend("sqlite", f"sqlite:///{db}", OUT / "submit-var-sqlite", db),
            Backend("postgresql", _pg_url(), OUT / "submit-var-postgresql")]


# --- preparation (through the API, not timed) ---------------------------------------------------------
@dataclass
class Citizen:
    username: str
    token: str = ""
    signed_in_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def sign_in(self, client: Any) -> None:
        r = await client.post("/api/v1/auth/login", json={"username": self.username, "password": PASSWORD})
        if r.status_code != 200:
            raise RuntimeError(f"sign-in failed: {r.status_code} {r.text[:200]}")
        self.token, self.signed_in_at = r.json()["access_token"], time.monotonic()

    async def headers(self, client: Any) -> dict[str, str]:
        async with self.lock:
            if time.monotonic() - self.signed_in_at > TOKEN_MAX_AGE_S:
                await self.sign_in(client)
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Job:
    dossier_id: int
    citizen: Citizen
    key: str


def _form_data(i: int) -> dict[str, Any]:
    return {
        "applicant_name": "Nguyễn Văn Bench", "applicant_cccd": f"072090{i % 1_000_000:06d}",
        "applicant_phone": "0912345678", "applicant_address": ADDRESS, "relationship": "cha",
        "child_name": f"Nguyễn Văn Bé {i}", "child_birth_date": "2026-01-15", "child_gender": "nam",
        "child_ethnicity": "kinh", "child_nationality": "viet_nam", "birth_place": "Bệnh viện Đa khoa tỉnh",
        "hometown": "Tây Ninh", "mother_name": "Trần Thị Mẹ", "father_name": "Nguyễn Văn Bench",
        "commitment": True,
    }


async def _prepare(base: str, total: int, print_fn: Callable[[str], None]) -> tuple[list[Job], list[int]]:
    import httpx  # noqa: PLC0415  (the HTTP client only when requests are sent)

    scans = Scans()
    sizes: list[int] = []
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(120.0)) as client:
        citizens = []
        for i in range(CITIZENS):
            c = Citizen(f"0988{i:06d}")
            r = await client.post("/api/v1/auth/register", json={"full_name": f"Công Dân Bench {i}",
                                                                  "username": c.username, "password": PASSWORD})
            if r.status_code != 201:
                raise RuntimeError(f"register failed: {r.status_code} {r.text[:200]}")
            await c.sign_in(client)
            citizens.append(c)
        form = (await client.get(f"/api/v1/procedures/{PROCEDURE}/form")).json()
        offered = {d["slot"] for d in form["documents"]}
        required = {d["slot"] for d in form["documents"] if d["required"]}
        if not set(SLOTS) <= offered or not required <= set(SLOTS):
            raise RuntimeError(f"form of {PROCEDURE} changed: slots {sorted(offered)}, required {sorted(required)}")
        sem = asyncio.Semaphore(PREP_CONCURRENCY)
        done = 0
        started = time.monotonic()

        async def one(i: int) -> Job:
            nonlocal done
            citizen = citizens[i % CITIZENS]
            async with sem:
                r = await client.post("/api/v1/dossiers", headers=await citizen.headers(client),
                                      json={"procedure_code": PROCEDURE, "data": _form_data(i)})
                if r.status_code != 201:
                    raise RuntimeError(f"create failed: {r.status_code} {r.text[:300]}")
                dossier_id = int(r.json()["id"])
                for k, slot in enumerate(SLOTS):
                    body = await asyncio.to_thread(scans.make, f"bench dossier {i} scan {k} {uuid.uuid4().hex}")
                    r = await client.post(f"/api/v1/dossiers/{dossier_id}/documents",
                                          headers=await citizen.headers(client), data={"slot": slot},
                                          files={"file": (f"scan-{i}-{k}.jpg", body, "image/jpeg")})
                    if r.status_code != 201:
                        raise RuntimeError(f"upload failed: {r.status_code} {r.text[:300]}")
                    sizes.append(int(r.json()["size"]))
                done += 1
                if done % 500 == 0:
                    print_fn(f"    prepared {done:,}/{total:,} dossiers ({time.monotonic() - started:.0f} s)")
                return Job(dossier_id, citizen, f"bench-{uuid.uuid4().hex}")

        jobs = list(await asyncio.gather(*(one(i) for i in range(total))))
        for c in citizens:  # fresh tokens for the timed part
            await c.sign_in(client)
    return jobs, sizes


# --- the timed part: a minimal HTTP/1.1 keep-alive client -------------------------------------------
@dataclass
class Answer:
    dossier_id: int
    status: int
    seconds: float
    code: str | None = None
    error: str = ""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, body, headers.get("connection", "").lower() == "close"


async def _submit_all(port: int, jobs: list[Job], connections: int) -> tuple[list[Answer], float]:
    host = f"127.0.0.1:{port}"
    todo: Iterator[Job] = iter(jobs)
    answers: list[Answer] = []
    go = asyncio.Event()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await go.wait()
        try:
            for job in todo:
                request = (f"POST /api/v1/dossiers/{job.dossier_id}/submit HTTP/1.1\r\nHost: {host}\r\n"
                           f"Authorization: Bearer {job.citizen.token}\r\nIdempotency-Key: {job.key}\r\n"
                           "Accept: application/json\r\nContent-Length: 0\r\n\r\n").encode()
                t0 = time.perf_counter()
                try:
                    writer.write(request)
                    status, body, close = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    answers.append(Answer(job.dossier_id, 0, time.perf_counter() - t0, error=repr(exc)[:200]))
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                seconds = time.perf_counter() - t0
                if status == 200:
                    answers.append(Answer(job.dossier_id, status, seconds, code=json.loads(body).get("code")))
                else:
                    answers.append(Answer(job.dossier_id, status, seconds, error=body[:300].decode(errors="replace")))
                if close:
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
        finally:
            writer.close()

    tasks = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.2)  # every connection open before the clock starts
    t0 = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    return answers, time.perf_counter() - t0


def _run_async(coro: Any) -> Any:
    try:
        import uvloop  # noqa: PLC0415  (the event loop motcua serve uses, only there)

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coro)
    except ImportError:
        return asyncio.run(coro)


# --- the check afterwards --------------------------------------------------------------------------------
def _facts(backend: Backend, ids: list[int]) -> dict[str, Any]:
    """What the database says about the submitted dossiers."""
    marks = ",".join(str(int(i)) for i in ids)
    queries = {
        "dossiers": "SELECT id, code, status, submitted_at IS NOT NULL, submit_key FROM dossiers "
        f"WHERE id IN ({marks})",
        "history": "SELECT dossier_id, count(*) FROM dossier_history "
        f"WHERE event = 'submit' AND dossier_id IN ({marks}) GROUP BY dossier_id",
        "documents": "SELECT dossier_id, count(DISTINCT document_id) FROM dossier_documents "
        f"WHERE dossier_id IN ({marks}) GROUP BY dossier_id",
        "audit": "SELECT count(*) FROM audit_events WHERE event = 'dossier.submit'",
    }
    if backend.sqlite_path is not None:
        conn = sqlite3.connect(f"file:{backend.sqlite_path}?mode=ro", uri=True)
        try:
            rows = {k: [tuple(r) for r in conn.execute(q)] for k, q in queries.items()}
        finally:
            conn.close()
    else:
        async def fetch() -> dict[str, list[tuple[Any, ...]]]:
            import asyncpg  # noqa: PLC0415  (only for PostgreSQL runs)

            conn = await asyncpg.connect(_dsn(backend.url))
            try:
                return {k: [tuple(r) for r in await conn.fetch(q)] for k, q in queries.items()}
            finally:
                await conn.close()

        rows = asyncio.run(fetch())
    from domain.audit import verify_chain  # noqa: PLC0415  (only when this section runs)
    from domain.db import Database  # noqa: PLC0415  (only when this section runs)
    from domain.settings import load_settings  # noqa: PLC0415  (only when this section runs)

    # the app's audit key, as its processes read it from the environment they were given
    chain = Database(backend.url).read_sync(verify_chain, load_settings(backend.env()).audit.key)
    return {"dossiers": {r[0]: r[1:] for r in rows["dossiers"]}, "history": dict(rows["history"]),
            "documents": dict(rows["documents"]), "audit": rows["audit"][0][0], "chain": chain}


def _check(  # noqa: C901  (one check per fact the database must show)
    backend: Backend, jobs: list[Job], answers: list[Answer]
) -> list[str]:
    """Every problem found; empty when every dossier was really filed once, with its own code."""
    problems = [f"dossier {a.dossier_id}: HTTP {a.status} {a.error}" for a in answers if a.status != 200]
    by_id = {a.dossier_id: a for a in answers}
    facts = _facts(backend, [j.dossier_id for j in jobs])
    codes: dict[str, int] = {}
    for job in jobs:
        answer = by_id.get(job.dossier_id)
        row = facts["dossiers"].get(job.dossier_id)
        if answer is None:
            problems.append(f"dossier {job.dossier_id}: never answered")
            continue
        if row is None:
            problems.append(f"dossier {job.dossier_id}: missing from the database")
            continue
        code, status, submitted, key = row
        if status != "submitted" or not submitted or code is None:
            problems.append(f"dossier {job.dossier_id}: status {status}, code {code}")
        if answer.status == 200 and answer.code != code:
            problems.append(f"dossier {job.dossier_id}: answered code {answer.code}, stored {code}")
        if key != job.key:
            problems.append(f"dossier {job.dossier_id}: Idempotency-Key not stored")
        if facts["history"].get(job.dossier_id) != 1:
            problems.append(f"dossier {job.dossier_id}: {facts['history'].get(job.dossier_id)} submit history rows")
        if facts["documents"].get(job.dossier_id) != len(SLOTS):
            problems.append(f"dossier {job.dossier_id}: {facts['documents'].get(job.dossier_id)} attachments")
        if code is not None:
            if code in codes:
                problems.append(f"dossiers {codes[code]} and {job.dossier_id} share the code {code}")
            codes[code] = job.dossier_id
    if facts["audit"] != len(jobs):
        problems.append(f"{facts['audit']} dossier.submit audit rows for {len(jobs)} submissions")
    if facts["chain"].broken_at is not None:
        problems.append(f"audit chain broken at row {facts['chain'].broken_at}: {facts['chain'].reason}")
    return problems


# --- profiling (``--profile``): the same run with the server under cProfile, every thread ------------------
def serve_profiled(out: str) -> None:
    """``motcua serve --quiet`` with cProfile in the main thread and in every thread started later
    (SQLite writes run on worker threads); the merged stats are written to ``out`` at shutdown."""
    from api.cli import main  # noqa: PLC0415  (the app, only in the profiled server process)

    # uvicorn re-raises SIGTERM once it has shut down: ignore it then, so the stats get written
    signal.signal(signal.SIGTERM, lambda *_: None)

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def boot(*_: Any) -> None:  # the first profile event of a new thread: give it its own profiler
        prof = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(prof)
        prof.enable()

    threading.setprofile(boot)
    first = cProfile.Profile(time.thread_time)  # CPU time of each thread: waiting is not cost
    profiles.append(first)
    first.enable()
    try:
        main(["serve", "--quiet"])
    finally:
        first.disable()
        stats = pstats.Stats(first)
        for prof in profiles[1:]:
            prof.disable()
            stats.add(prof)
        stats.dump_stats(out)


def _print_profile(path: Path, submits: int, print_fn: Callable[[str], None], top: int = 30) -> None:
    stats = pstats.Stats(str(path), stream=io.StringIO())
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _n, tt, _ct, _callers) in entries.values())
    ours = ("api/", "domain/", "auth/", "notifications/")

    def where(key: tuple[str, int, str]) -> str:
        filename, line, name = key
        short = filename.replace(str(ROOT) + "/", "").replace(
            str(ROOT / ".venv/lib/python3.11/site-packages") + "/", ""
        )
        return f"{short}:{line} {name}"

    print_fn(f"  server CPU under cProfile (every thread, thread CPU time; inflated by the profiler): "
             f"{total * 1000 / submits:.2f} ms per submit ({submits:,} submits, warm-up included)")
    print_fn("  motcua's own functions by cumulative CPU (ms per submit, calls per submit):")
    mine = [(k, v) for k, v in entries.items() if k[0].startswith(str(ROOT)) and "/.venv/" not in k[0]
            and k[0].replace(str(ROOT) + "/", "").startswith(ours)]
    for key, (_cc, calls, _tt, cum, _callers) in sorted(mine, key=lambda kv: kv[1][3], reverse=True)[:top]:
        print_fn(f"    {cum * 1000 / submits:7.3f} ms {calls / submits:6.1f}×  {where(key)}")
    print_fn("  every function by own CPU:")
    for key, (_cc, calls, tt, _cum, _callers) in sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)[:top]:
        print_fn(f"    {tt * 1000 / submits:7.3f} ms {calls / submits:6.1f}×  {where(key)}")


# --- one backend ---------------------------------------------------------------------------------------------
def measure(backend: Backend, dossiers: int, warmup: int, connections: int,
            print_fn: Callable[[str], None], profile: Path | None = None, workers: int = 1) -> dict[str, Any]:
    """Prepare, submit, check one backend. With ``profile`` the submits go to a server under cProfile
    (started after the preparation), whose stats land in that file: its figures are slowed by it."""
    t0 = time.monotonic()
    backend.create()
    print_fn(f"  {backend.label}: fresh database ({backend.url.split('://')[0]}) built by motcua setup in "
             f"{time.monotonic() - t0:.1f} s")
    port = free_port()
    serve = [str(MOTCUA), "serve", "--quiet", *(["--workers", str(workers)] if workers > 1 else [])]
    server = Server(f"submit-{backend.name}", serve, backend.env(port), port)
    try:
        server.start()
        assert server.proc is not None
        t0 = time.monotonic()
        jobs, sizes = _run_async(_prepare(server.base, warmup + dossiers, print_fn))
        print_fn(f"  {backend.label}: prepared {len(jobs):,} dossiers ({CITIZENS} citizens) with {len(sizes):,} "
                 f"scans, stored size median {statistics.median(sizes) / 1024:.0f} KB "
                 f"(min {min(sizes) / 1024:.0f}, max {max(sizes) / 1024:.0f}), in {time.monotonic() - t0:.0f} s "
                 "(not timed)")
        if profile is not None:  # same port: the tokens' issuer is the app's address
            server.stop()
            profile.unlink(missing_ok=True)
            server = Server(
                f"submit-{backend.name}-profiled",
                [str(PY), "-c", f"from bench.submit_bench import serve_profiled; serve_profiled({str(profile)!r})"],
                backend.env(port),
                port,
            )
            server.start()
            assert server.proc is not None
        warm, timed = jobs[:warmup], jobs[warmup:]
        warm_answers, _ = _run_async(_submit_all(port, warm, connections))
        deadline = time.monotonic() + 30  # let the preparation's aftermath (autovacuum, write-back) pass
        while (busy_before := _busy_cores()) > 0.25 and time.monotonic() < deadline:
            pass
        assert server.proc is not None
        pid = server.proc.pid
        before = (_group_cpu_seconds(pid), time.process_time(), _machine_busy_seconds(), _postgres_seconds(),
                  time.monotonic())
        answers, wall = _run_async(_submit_all(port, timed, connections))
        elapsed = time.monotonic() - before[4]
        srv = (_group_cpu_seconds(pid) - before[0]) / elapsed
        client = (time.process_time() - before[1]) / elapsed
        pg = (_postgres_seconds() - before[3]) / elapsed
        others = max(0.0, (_machine_busy_seconds() - before[2]) / elapsed - srv - client - pg)
    finally:
        server.stop()
    problems = _check(backend, jobs, warm_answers + answers)
    ok = [a.seconds * 1000 for a in answers if a.status == 200]
    lat = [a.seconds * 1000 for a in answers]
    rate = len(timed) / wall if wall else 0.0
    target = TARGETS[backend.name]
    verdict = "PASS" if rate >= target and not problems else "MISS"
    figures = {
        "backend": backend.name, "dossiers": len(timed), "warmup": len(warm), "connections": connections,
        "workers": workers,
        "submits_per_s": rate, "seconds": wall, "ok": len(ok), "errors": len(problems),
        "p50_ms": statistics.median(lat), "p95_ms": _pct(lat, 0.95), "p99_ms": _pct(lat, 0.99), "max_ms": max(lat),
        "server_cores": srv, "client_cores": client, "postgres_cores": pg, "other_cores": others,
        "busy_before_cores": busy_before,
        "server_cpu_ms_per_submit": srv * elapsed * 1000 / max(len(timed), 1),
        "scan_kb_median": statistics.median(sizes) / 1024, "target": target,
        "verdict": "PROFILED" if profile is not None else verdict, "problems": problems[:20],
    }
    for p in problems[:10]:
        print_fn(f"    ERROR {p}")
    if len(problems) > 10:
        print_fn(f"    ... and {len(problems) - 10} more errors")
    if profile is not None and profile.exists():
        _print_profile(profile, len(jobs), print_fn)
    return figures


def _table(print_fn: Callable[[str], None], headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=False))) + " |"

    print_fn(fmt(headers))
    print_fn("|" + "|".join(("-" * (w + 2)) if i == 0 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)) + "|")
    for r in rows:
        print_fn(fmt(r))


def run(print_fn: Callable[[str], None] = print, quick: bool = False,
        only: tuple[str, ...] = ("sqlite", "postgresql"), profile: bool = False, workers: int = 1) -> dict[str, Any]:
    """Measure (and print) each backend; ``profile`` runs the submits under cProfile instead (a
    diagnostic: slower figures, and where the server's time goes); ``workers`` > 1 serves with
    ``motcua serve --workers N`` (a diagnostic: the harness measures one worker, as ``make run``)."""

    # the preparation makes thousands of requests with httpx: its per-request INFO lines (shown once
    # an in-process Litestar app has set up logging) would bury the figures
    logging.getLogger("httpx").setLevel(logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    with (OUT / "submit-bench.lock").open("w") as lock:  # one run at a time uses bench/.out/submit*
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print_fn("  another submit bench is running in this checkout: waiting for it to finish ...")
            fcntl.flock(lock, fcntl.LOCK_EX)
        return _run(print_fn, quick, only, profile, workers)


def _run(print_fn: Callable[[str], None], quick: bool, only: tuple[str, ...], profile: bool,
         workers: int) -> dict[str, Any]:
    dossiers, warmup = (DOSSIERS_QUICK, WARMUP_QUICK) if quick else (DOSSIERS, WARMUP)
    print_fn(f"  {dossiers:,} submits per backend (+{warmup} warm-up, not counted) of procedure {PROCEDURE}, each "
             f"dossier with two distinct ~300 KB JPEG scans, {CONNECTIONS} keep-alive connections, "
             f"{workers} server worker{'s' if workers > 1 else ''}; load average {os.getloadavg()[0]:.2f} on "
             f"{os.cpu_count()} cores")
    figures: dict[str, Any] = {}
    for backend in backends():
        if backend.name not in only:
            continue
        try:
            figures[backend.name] = measure(backend, dossiers, warmup, CONNECTIONS, print_fn,
                                            profile=OUT / f"submit-{backend.name}.prof" if profile else None,
                                            workers=workers)
        except Exception as exc:  # report and go on with the other backend
            print_fn(f"  {backend.label}: could not measure: {type(exc).__name__}: {exc}")
            figures[backend.name] = {"backend": backend.name, "error": f"{type(exc).__name__}: {exc}",
                                     "target": TARGETS[backend.name], "verdict": "ERR"}
        finally:
            try:
                backend.drop()
            except Exception as exc:
                print_fn(f"  {backend.label}: could not clean up: {exc!r}")
    rows = []
    for f in figures.values():
        if "error" in f:
            rows.append([f["backend"], *(["-"] * 12), f"≥ {f['target']:g}/s", "ERR"])
            continue
        rows.append([f["backend"], f"{f['dossiers']:,}", f"{f['submits_per_s']:,.0f}", f"{f['p50_ms']:.1f}",
                     f"{f['p95_ms']:.1f}", f"{f['p99_ms']:.1f}", f"{f['max_ms']:.0f}", str(f["errors"]),
                     f"{f['server_cores']:.2f}", f"{f['client_cores']:.2f}", f"{f['postgres_cores']:.2f}",
                     f"{f['other_cores']:.2f}",
                     f"{f['server_cpu_ms_per_submit']:.2f}", f"≥ {f['target']:g}/s", f["verdict"]])
    _table(print_fn, ["backend", "submits", "submits/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors",
                      "srv cores", "client cores", "pg cores", "other cores", "srv CPU ms/submit", "target", "verdict"],
           rows)
    print_fn("  srv / client / pg / other cores: CPU of the motcua process, of this client, of every PostgreSQL "
             "process, and of everything else, per wall second (1.00 = one core busy); errors: non-200 answers "
             "plus anything the database check found wrong (status, code, distinct codes, key, history, "
             "attachments, audit).")
    busy = {k: f"{v['busy_before_cores']:.2f}" for k, v in figures.items() if "busy_before_cores" in v}
    if busy:
        print_fn("  other work on the machine just before each timed run (cores): "
                 + ", ".join(f"{k} {v}" for k, v in busy.items()))
    return figures


if __name__ == "__main__":  # python -m bench.submit_bench [--quick] [--profile] [--workers N] [sqlite|postgresql]
    import argparse

    cli = argparse.ArgumentParser(prog="python -m bench.submit_bench", description=__doc__.splitlines()[0])
    cli.add_argument("backends", nargs="*", metavar="sqlite|postgresql", help="default: both")
    cli.add_argument("--quick", action="store_true", help="300 submits instead of 2,000")
    cli.add_argument("--profile", action="store_true", help="the submits against a server under cProfile")
    cli.add_argument("--workers", type=int, default=1, help="motcua serve --workers N (default 1, as make run)")
    opts = cli.parse_args()
    if not set(opts.backends) <= {"sqlite", "postgresql"}:
        cli.error("backends are sqlite and postgresql")
    result = run(print, quick=opts.quick, only=tuple(opts.backends) or ("sqlite", "postgresql"),
                 profile=opts.profile, workers=opts.workers)
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "problems"} for k, v in result.items()},
                     indent=1, default=str))
