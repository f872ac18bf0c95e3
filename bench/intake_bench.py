"""Intake figures (issue 14): merging a slot's scanned pages into one PDF, and counter intake end to end.

``run(print_fn, quick=False, cases=("merge", "intake"))`` measures, prints and returns the figures (a dict):

1. **merge** — ``domain.documents.merge.merge_pages`` of 10 phone-photo scans of a paper (2000×1500
   JPEGs of ~1 MB each as the upload pipeline stores them: re-encoded by ``process_upload``) from a
   ``LocalStorage`` into one PDF written back to it, in-process; 20 timed merges (5 with ``quick``) after
   two warm-ups, wall clock and CPU time, median and p95. Target ≤ 500 ms.

Alone: ``.venv/bin/python -m bench.intake_bench [--quick] [merge]``; in ``make bench`` these are
the section ``merge`` (``python -m bench --only merge`` runs only it).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.procs import MOTCUA as MOTCUA_BIN
from bench.procs import OUT

TARGET_MERGE_MS = 500.0
PAGES = 10
MERGE_RUNS, MERGE_RUNS_QUICK = 20, 5
SCAN_SIZE = (2000, 1500)  # what the tablet's page capture sends (the browser scales to ≤ 2,000 px)

TARGET_INTAKE_MS = 300.0
INTAKE_RUNS, INTAKE_RUNS_QUICK, INTAKE_WARMUP = 50, 10, 3
INTAKE_PROCEDURE = "1.001193"  # đăng ký khai sinh: commune level, receivable at every counter
INTAKE_UNIT = "000.31.01.H56"  # the demo province's commune unit (config/province.toml commune_unit)
INTAKE_SLOT = "giay_chung_sinh"  # its required paper: two pages of it
OFFICER = "0977000314"
OFFICER_PASSWORD = "một câu mật khẩu dài cho bench tiếp nhận"
STEPS = ("lookup", "start", "page 1", "page 2", "receive")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def phone_scan(path: Path, seed: int, size: tuple[int, int] = SCAN_SIZE) -> None:
    """A photo of a printed page taken with a phone: uneven light, a slight tilt, text, blur, sensor
    noise, so it compresses like one (~1 MB at the pipeline's quality 85)."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    w, h = size
    rnd = random.Random(seed)
    light = Image.radial_gradient("L").resize((w, h)).point(lambda v: 255 - v // 3)
    page = Image.merge("RGB", [light.point(lambda v, k=k: max(0, v - k)) for k in (0, 8, 25)])
    draw = ImageDraw.Draw(page)
    draw.text((w // 3, 50), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", fill=(20, 20, 30))
    words = ["Họ", "và", "tên", "ngày", "sinh", "nơi", "cư", "trú", "số", "định", "danh", "cá", "nhân", "Tây", "Ninh"]
    for y in range(130, h - 80, 26):
        x = 90
        while x < w - 200:
            word = rnd.choice(words)
            draw.text((x, y), word, fill=(25, 25, 35))
            x += 14 * len(word) + 12
    for _ in range(6):  # stamps and signatures
        x, y = rnd.randrange(w - 300), rnd.randrange(h - 300)
        draw.ellipse((x, y, x + 220, y + 220), outline=(190, 30, 30), width=6)
    page = page.rotate(rnd.uniform(-2, 2), resample=Image.Resampling.BICUBIC, fillcolor=(60, 55, 50))
    page = page.filter(ImageFilter.GaussianBlur(0.8))
    page = ImageChops.add(page, Image.effect_noise((w, h), 7).convert("RGB"), scale=1.0, offset=-128)
    page.save(path, "JPEG", quality=92)


def merge_case(print_fn: Callable[[str], None], *, quick: bool = False) -> dict[str, Any]:
    import hashlib

    from domain.documents.merge import merge_pages
    from domain.documents.processing import process_upload
    from domain.documents.storage import LocalStorage, key_for

    workdir = Path(tempfile.mkdtemp(prefix="merge-", dir=OUT))
    try:
        storage = LocalStorage(workdir / "files")
        keys, sizes = [], []
        for i in range(PAGES):
            raw = workdir / f"scan-{i}.jpg"
            phone_scan(raw, i)
            done = process_upload(raw)  # what the upload pipeline stores
            data = done.path.read_bytes()
            key = key_for(hashlib.sha256(data).hexdigest())
            storage.put(key, data, done.content_type)
            keys.append(key)
            sizes.append(len(data))
            done.path.unlink()
            raw.unlink()
        print_fn(f"  {PAGES} scans {SCAN_SIZE[0]}×{SCAN_SIZE[1]} as stored by process_upload: "
                 f"{min(sizes) / 1e6:.2f}–{max(sizes) / 1e6:.2f} MB each, {sum(sizes) / 1e6:.1f} MB in all")
        for _ in range(2):  # warm-up: imports, first allocations
            merged = merge_pages(storage, keys)
        runs = MERGE_RUNS_QUICK if quick else MERGE_RUNS
        wall, cpu = [], []
        for _ in range(runs):
            storage.delete(merged.storage_key)  # each run writes the PDF again
            t0, c0 = time.perf_counter(), time.process_time()
            merged = merge_pages(storage, keys)
            wall.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        figures = {"pages": merged.pages, "pdf_mb": merged.size / 1e6, "input_mb": sum(sizes) / 1e6,
                   "median_ms": statistics.median(wall), "p95_ms": _pct(wall, 0.95), "max_ms": max(wall),
                   "cpu_median_ms": statistics.median(cpu), "runs": runs, "target_ms": TARGET_MERGE_MS}
        figures["verdict"] = "PASS" if figures["p95_ms"] <= TARGET_MERGE_MS else "MISS"
        print_fn(f"  merge_pages, {runs} runs: median {figures['median_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms, "
                 f"max {figures['max_ms']:.0f} ms wall; CPU median {figures['cpu_median_ms']:.0f} ms → one PDF of "
                 f"{merged.pages} pages, {figures['pdf_mb']:.1f} MB (target ≤ {TARGET_MERGE_MS:.0f} ms) "
                 f"{figures['verdict']}")
        return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _intake_data() -> dict[str, Any]:
    """The form of 1.001193 as the officer fills it in (the applicant's own fields come from the person)."""
    return {"applicant_address": {"province": 80, "ward": 25459, "street": "12 Đường 30/4"}, "relationship": "cha",
            "child_name": "Nguyễn Văn Bé", "child_birth_date": "2026-01-15", "child_gender": "nam",
            "child_ethnicity": "kinh", "child_nationality": "viet_nam", "birth_place": "Bệnh viện Đa khoa tỉnh",
            "hometown": "Tây Ninh", "mother_name": "Trần Thị Mẹ", "commitment": True}


def _pages(workdir: Path, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` pairs of distinct phone-photo scans (two base pages, each copy labelled, saved again)."""
    import io

    from PIL import Image, ImageDraw

    bases = []
    for k in range(2):
        raw = workdir / f"base-{k}.jpg"
        phone_scan(raw, 100 + k)
        bases.append(Image.open(raw).convert("RGB"))
    pairs = []
    for i in range(count):
        pair = []
        for k, base in enumerate(bases):
            img = base.copy()
            ImageDraw.Draw(img).text((60, 20), f"trang {k + 1} - ho so {i}", fill=(0, 0, 0))
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=92)
            pair.append(buf.getvalue())
        pairs.append((pair[0], pair[1]))
    return pairs


def _officer_session(client: Any, env: dict[str, str], origin: str) -> dict[str, str]:
    """A receiving officer's passkey session: made with the CLI, a first passkey enrolled over HTTP with
    the tests' software authenticator, then signed in with it (the back office accepts nothing else)."""
    import subprocess

    from bench.procs import MOTCUA, ROOT
    from tests.softauthn import SoftAuthenticator

    def cli(*argv: str) -> str:
        done = subprocess.run([str(MOTCUA), *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"motcua {argv[0]} failed: {done.stdout} {done.stderr}")
        return done.stdout.strip()

    cli("create-user", "--role", "officer", "--username", OFFICER, "--password", OFFICER_PASSWORD,
        "--unit", INTAKE_UNIT, "--full-name", "Cán Bộ Tiếp Nhận Bench")
    code = cli("enrolment-code", OFFICER).splitlines()[0]

    def ok(r: Any, status: int = 200) -> Any:
        if r.status_code != status:
            raise RuntimeError(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
        return r.json()

    def credential(url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return client.post(url, content=json.dumps(body).encode(),
                           headers={"content-type": "application/json", **(headers or {})})

    tokens = ok(client.post("/api/v1/auth/login", json={"username": OFFICER, "password": OFFICER_PASSWORD}))
    password_session = {"Authorization": f"Bearer {tokens['access_token']}"}
    auth = SoftAuthenticator(origin=origin)  # PUBLIC_URL is not set: the server's own address
    options = ok(client.post("/api/v1/auth/passkeys/registration/options", headers=password_session,
                             json={"enrolment_code": code}))
    ok(credential("/api/v1/auth/passkeys/registration/verify", auth.create(options), password_session), 201)
    options = ok(client.post("/api/v1/auth/passkeys/authentication/options"))
    tokens = ok(credential("/api/v1/auth/passkeys/authentication/verify", auth.get(options)))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def _one_intake(client: Any, headers: dict[str, str], i: int, pages: tuple[bytes, bytes]) -> tuple[dict[str, float],
                                                                                                   dict[str, Any]]:
    """One applicant at the counter: look-up (a miss), the draft with the new person and the form, two pages
    of one paper, receive. Answers the time of each step (ms) and the receipt."""
    times: dict[str, float] = {}
    cccd = f"072{(90_000_000 + i * 7919) % 1_000_000_000:09d}"

    def step(name: str, status: int, send: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        r = send()
        times[name] = (time.perf_counter() - t0) * 1000
        if r.status_code != status:
            raise RuntimeError(f"{name}: {r.status_code} {r.text[:300]}")
        return r.json()

    found = step("lookup", 200, lambda: client.get("/api/v1/officer/persons", headers=headers,
                                                   params={"cccd": cccd}))
    if found:
        raise RuntimeError(f"lookup of a new CCCD found {found}")
    applicant = {"full_name": f"Nguyễn Văn Bench {i}", "cccd": cccd, "phone": "0912345678",
                 "address": "12 Đường 30/4, Phường Tân Ninh"}
    draft = step("start", 201, lambda: client.post("/api/v1/officer/intake", headers=headers, json={
        "channel": "counter", "procedure_code": INTAKE_PROCEDURE, "applicant": applicant, "data": _intake_data(),
        "return_method": "counter"}))
    def upload(k: int, page: bytes) -> Any:
        return client.post(f"/api/v1/dossiers/{draft['id']}/documents", headers=headers, data={"slot": INTAKE_SLOT},
                           files={"file": (f"trang-{k + 1}.jpg", page, "image/jpeg")})

    for k, page in enumerate(pages):
        stored = step(f"page {k + 1}", 201, functools.partial(upload, k, page))
        times[f"stored {k + 1}"] = float(stored["size"])
    out = step("receive", 200, lambda: client.post(f"/api/v1/officer/intake/{draft['id']}/receive", headers=headers))
    times["total"] = sum(v for k, v in times.items() if k in STEPS)
    return times, out


def _check_received(client: Any, headers: dict[str, str], out: dict[str, Any]) -> str:
    """After the timing: the dossier is received; what its slot holds (documents, pages, content types)."""
    if out.get("status") != "received" or not out.get("due_date") or not out.get("receipt_url"):
        raise RuntimeError(f"receive answered {out}")
    d = client.get(f"/api/v1/officer/dossiers/{out['id']}", headers=headers).json()
    docs = [a["document"] for a in d["documents"] if a["slot"] == INTAKE_SLOT]
    pages = sum(doc.get("pages") or 1 for doc in docs)
    kinds = "+".join(sorted({doc["content_type"] for doc in docs}))
    return f"{len(docs)} document{'s' if len(docs) > 1 else ''} ({kinds}) of {pages} pages in all"


def intake_case(print_fn: Callable[[str], None], *, quick: bool = False) -> dict[str, Any]:
    import httpx

    from bench.procs import Server, free_port
    from bench.submit_bench import Backend

    workdir = Path(tempfile.mkdtemp(prefix="intake-", dir=OUT))
    db = workdir / "intake.db"
    backend = Backend("sqlite", f"sqlite:///{db}", workdir / "var", db)
    server: Server | None = None
    runs = INTAKE_RUNS_QUICK if quick else INTAKE_RUNS
    try:
        t0 = time.monotonic()
        backend.create()
        pairs = _pages(workdir, runs + INTAKE_WARMUP)
        sizes = [len(p) for pair in pairs for p in pair]
        print_fn(f"  fresh SQLite database (motcua setup) and {len(sizes)} scans {SCAN_SIZE[0]}×{SCAN_SIZE[1]} of "
                 f"{min(sizes) / 1e6:.2f}–{max(sizes) / 1e6:.2f} MB in {time.monotonic() - t0:.0f} s")
        port = free_port()
        server = Server("intake", [str(MOTCUA_BIN), "serve", "--quiet"], backend.env(port), port)
        server.start()
        with httpx.Client(base_url=server.base, timeout=httpx.Timeout(60.0)) as client:
            headers = _officer_session(client, backend.env(), f"http://localhost:{port}")
            listed = client.get("/api/v1/officer/intake/procedures", headers=headers,
                                params={"q": INTAKE_PROCEDURE}).json()
            if [p["code"] for p in listed] != [INTAKE_PROCEDURE]:
                raise RuntimeError(f"{INTAKE_PROCEDURE} is not receivable at {INTAKE_UNIT}: {listed}")
            for i in range(INTAKE_WARMUP):
                _one_intake(client, headers, i, pairs[i])
            timings, outs = [], []
            cpu0 = _server_cpu_ms(server)
            for i in range(INTAKE_WARMUP, INTAKE_WARMUP + runs):
                times, out = _one_intake(client, headers, i, pairs[i])
                timings.append(times)
                outs.append(out)
            cpu1 = _server_cpu_ms(server)
            merged = {_check_received(client, headers, out) for out in outs}
        stored = [t[f"stored {k}"] for t in timings for k in (1, 2)]
        cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
        steps = {name: {"median_ms": statistics.median(t[name] for t in timings),
                        "p95_ms": _pct([t[name] for t in timings], 0.95)} for name in (*STEPS, "total")}
        figures: dict[str, Any] = {
            "runs": runs, "target_ms": TARGET_INTAKE_MS, "steps": steps, "p50_ms": steps["total"]["median_ms"],
            "p95_ms": steps["total"]["p95_ms"], "max_ms": max(t["total"] for t in timings),
            "upload_mb": statistics.mean(sizes) / 1e6,
            "stored_mb": statistics.mean(stored) / 1e6, "slot_after_receive": sorted(merged),
            "server_cpu_ms": cpu / runs if cpu is not None else None}
        figures["verdict"] = "PASS" if figures["p95_ms"] <= TARGET_INTAKE_MS else "MISS"
        print_fn(f"  {runs} counter intakes after {INTAKE_WARMUP} warm-ups, one officer, one at a time "
                 f"(ms, wall clock on the client):")
        for name in (*STEPS, "total"):
            print_fn(f"    {name:<8} median {steps[name]['median_ms']:6.0f}   p95 {steps[name]['p95_ms']:6.0f}")
        print_fn(f"  uploads stored by the pipeline (sniffed, EXIF stripped, re-encoded): "
                 f"{min(stored) / 1e6:.2f}–{max(stored) / 1e6:.2f} MB each; after receive the slot holds "
                 + "; ".join(figures["slot_after_receive"]))
        if figures["server_cpu_ms"] is not None:
            print_fn(f"  server CPU per timed intake (its process, all threads; 10 ms clock ticks): "
                     f"{figures['server_cpu_ms']:.0f} ms")
        print_fn(f"  whole sequence p95 {figures['p95_ms']:.0f} ms, median {figures['p50_ms']:.0f} ms, max "
                 f"{figures['max_ms']:.0f} ms (target ≤ {TARGET_INTAKE_MS:.0f} ms) {figures['verdict']}")
        return figures
    finally:
        if server is not None:
            server.stop()
        backend.drop()
        shutil.rmtree(workdir, ignore_errors=True)


def _server_cpu_ms(server: Any) -> float | None:
    try:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, AttributeError):
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


CASES: dict[str, Callable[..., dict[str, Any]]] = {"merge": merge_case, "intake": intake_case}


def run(print_fn: Callable[[str], None] = print, *, quick: bool = False,
        cases: tuple[str, ...] = tuple(CASES)) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    return {name: CASES[name](print_fn, quick=quick) for name in cases}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.intake_bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("cases", nargs="*", metavar="case", help=f"any of {', '.join(CASES)} (default: all)")
    args = p.parse_args(argv)
    unknown = set(args.cases) - set(CASES)
    if unknown:
        p.error(f"unknown case(s): {', '.join(sorted(unknown))}")
    run(print, quick=args.quick, cases=tuple(args.cases) or tuple(CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
