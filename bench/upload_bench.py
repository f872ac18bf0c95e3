"""Upload figures: server time to check + clean a 12 MP photo, server memory under 20 concurrent uploads.

``run(print_fn)`` measures and prints, and returns the figures (a dict) for the summary table:

1. ``process_upload`` (sniff + decode + EXIF orientation + strip + re-encode + hash) of a 12 MP
   (4000×3000) JPEG photo of ~5 MB with EXIF (GPS, orientation 6): median and p95 of 10 runs after
   one warm-up, wall clock and CPU time. Target ≤ 200 ms.
2. Memory growth with 20 concurrent 10 MB uploads: (a) in-process through ``stream_to_file``;
   (b) over HTTP: a minimal Litestar app (this module's ``make_app``, the same streaming path the
   upload routes use: ``request.stream()`` → ``parse_multipart_stream``) under uvicorn on
   127.0.0.1, 20 httpx clients at once; growth = the server's peak RSS (VmHWM, reset through
   ``/proc/<pid>/clear_refs`` just before) minus its RSS before. For comparison the same upload
   through Litestar's own ``request.form()`` + ``save_upload_file``. Target ≤ 100 MB.

Everything runs on 127.0.0.1; every process started here is stopped here.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, cast

MiB = 1024 * 1024
TARGET_PHOTO_MS = 200.0
TARGET_MEMORY_MB = 100.0
UPLOADS = 20
UPLOAD_BYTES = 10 * MiB
PHOTO_RUNS = 10
MAX_SIDE_KEPT = 4000  # domain.documents.processing.MAX_SIDE
# glibc ≥ 2.35: large malloc'd blocks (Pillow's image buffers) get transparent huge pages, so a
# 12 MP decode + rotate touches ~50 pages instead of ~25,000 (measured here: ~-45 ms CPU per photo)
HUGEPAGES = "glibc.malloc.hugetlb=1"


# --- the photo ----------------------------------------------------------------------------------


def make_photo(path: Path, size: tuple[int, int] = (4000, 3000)) -> int:
    """A synthetic but photo-like 12 MP JPEG: gradients, shapes, text, blur and sensor noise, so
    it compresses like a phone picture (~5 MB at quality 90), with EXIF GPS and orientation 6."""
    from PIL import Image, ImageChops, ImageDraw, ImageFilter  # noqa: PLC0415  (only when images are made)

    w, h = size
    rnd = random.Random(12)
    img = Image.merge("RGB", [Image.linear_gradient("L").rotate(a).resize((w, h)) for a in (0, 90, 45)])
    draw = ImageDraw.Draw(img)
    for _ in range(400):
        x, y, s = rnd.randrange(w), rnd.randrange(h), rnd.randrange(20, 400)
        draw.rectangle((x, y, x + s, y + s // 2), fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    for _ in range(3000):
        draw.text((rnd.randrange(w), rnd.randrange(h)), "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", fill=(0, 0, 0))
    img = img.filter(ImageFilter.GaussianBlur(1))
    img = ImageChops.add(img, Image.effect_noise((w, h), 10).convert("RGB"), scale=1.0, offset=-128)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 51.0, 12.0)})
    img.save(path, "JPEG", quality=90, exif=exif)
    return path.stat().st_size


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def time_photo(path: Path, runs: int = PHOTO_RUNS, **kw: Any) -> dict[str, float]:
    from domain.documents.processing import process_upload  # noqa: PLC0415  (only when this section runs)

    process_upload(path, **kw).path.unlink()  # warm-up: imports, first allocations
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        result = process_upload(path, **kw)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        result.path.unlink()
    return {"median_ms": statistics.median(wall), "p95_ms": _pct(wall, 0.95),
            "cpu_median_ms": statistics.median(cpu), "cpu_p95_ms": _pct(cpu, 0.95),
            "out_bytes": float(result.size), "out_w": float(result.width or 0), "out_h": float(result.height or 0)}


def photo_in_child(path: Path, env: dict[str, str], max_side: int, runs: int) -> dict[str, float]:
    """``time_photo`` in a fresh interpreter: a clean heap, and malloc tunables apply (read at exec)."""
    from bench.procs import PY, ROOT  # noqa: PLC0415  (only when this section runs)

    code = ("import json, sys; from pathlib import Path; from bench.upload_bench import time_photo; "
            "print(json.dumps(time_photo(Path(sys.argv[1]), runs=int(sys.argv[2]), max_side=int(sys.argv[3]))))")
    done = subprocess.run([str(PY), "-c", code, str(path), str(runs), str(max_side)], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300, check=True)
    return cast(dict[str, float], json.loads(done.stdout.strip().splitlines()[-1]))


# --- memory -------------------------------------------------------------------------------------


def _status_kib(pid: int | str, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _reset_peak(pid: int | str) -> bool:
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _growth_mb(pid: int | str, before_kib: int) -> float:
    return (_status_kib(pid, "VmHWM") - before_kib) / 1024


async def _body(total: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    block = os.urandom(chunk)
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        sent += n
        yield block[:n]
        await asyncio.sleep(0)  # interleave the 20 uploads as a server would


def memory_in_process(workdir: Path) -> dict[str, float]:
    from domain.documents.streaming import stream_to_file  # noqa: PLC0415  (only when this section runs)

    async def main() -> list[Path]:
        return await asyncio.gather(*(stream_to_file(_body(UPLOAD_BYTES), workdir, 20 * MiB)
                                      for _ in range(UPLOADS)))

    can_reset = _reset_peak("self")
    before = _status_kib("self", "VmRSS" if can_reset else "VmHWM")
    t0 = time.perf_counter()
    paths = asyncio.run(main())
    elapsed = time.perf_counter() - t0
    growth = _growth_mb("self", before)
    ok = sum(1 for p in paths if p.stat().st_size == UPLOAD_BYTES)
    for p in paths:
        p.unlink()
    return {"growth_mb": growth, "seconds": elapsed, "ok": float(ok)}


def make_app() -> Any:
    """The minimal upload app for the HTTP measurement (uvicorn --factory bench.upload_bench:make_app).

    ``POST /upload`` streams with ``parse_multipart_stream``; ``POST /upload-form`` goes through
    Litestar's ``request.form()`` then ``save_upload_file``. Files land in $UPLOAD_BENCH_DIR and are
    deleted right after (the bench measures the streaming, not the disk).
    """
    from litestar import Litestar, Request, get, post  # noqa: PLC0415  (the stand-in server only when it is served)
    from litestar.datastructures import UploadFile  # noqa: PLC0415  (the stand-in server only when it is served)

    from domain.documents.streaming import (  # noqa: PLC0415  (only when this section runs)
        boundary_from_content_type,
        parse_multipart_stream,
        save_upload_file,
    )

    dest = Path(os.environ.get("UPLOAD_BENCH_DIR", tempfile.gettempdir()))

    @get("/healthz", sync_to_thread=False)
    def healthz() -> str:
        return "ok"

    @post("/upload", request_max_body_size=21 * MiB)
    async def upload(request: Request[Any, Any, Any]) -> dict[str, int]:
        boundary = boundary_from_content_type(request.headers.get("content-type"))
        form = await parse_multipart_stream(request.stream(), boundary, dest)
        try:
            return {"files": len(form.files), "bytes": sum(f.size for f in form.files)}
        finally:
            form.cleanup()

    @post("/upload-form", request_max_body_size=21 * MiB)
    async def upload_form(request: Request[Any, Any, Any]) -> dict[str, int]:
        form = await request.form()
        total, count = 0, 0
        for value in form.values():
            if isinstance(value, UploadFile):
                path = await save_upload_file(value, dest, 20 * MiB)
                total += path.stat().st_size
                count += 1
                path.unlink()
                await value.close()
        return {"files": count, "bytes": total}

    return Litestar([healthz, upload, upload_form], request_max_body_size=1024 * 1024)


async def _upload_all(base: str, route: str, payload: Path) -> list[int]:
    import httpx  # noqa: PLC0415  (the HTTP client only when requests are sent)

    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(120.0)) as client:

        async def one(i: int) -> int:
            with payload.open("rb") as fh:
                res = await client.post(route, files={"page": (f"trang-{i}.jpg", fh, "image/jpeg")},
                                        data={"slot": "cccd"})
            ok = res.status_code == 201 and res.json().get("bytes") == UPLOAD_BYTES
            return 1 if ok else 0

        return await asyncio.gather(*(one(i) for i in range(UPLOADS)))


def memory_over_http(
    workdir: Path, routes: tuple[str, ...] = ("/upload", "/upload-form")
) -> dict[str, dict[str, float]]:
    from bench.procs import PY, Server, free_port  # noqa: PLC0415  (only when this section runs)

    payload = workdir / "payload.bin"
    with payload.open("wb") as fh:
        for _ in range(UPLOAD_BYTES // MiB):
            fh.write(os.urandom(MiB))
    results: dict[str, dict[str, float]] = {}
    for route in routes:
        port = free_port()
        env = dict(os.environ, UPLOAD_BENCH_DIR=str(workdir / "spool"), PYTHONUNBUFFERED="1")
        (workdir / "spool").mkdir(exist_ok=True)
        server = Server(f"upload-bench{route.replace('/', '-')}",
                        [str(PY), "-m", "uvicorn", "--factory", "bench.upload_bench:make_app", "--host",
                         "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                        env, port)
        server.log.parent.mkdir(parents=True, exist_ok=True)
        try:
            server.start()
            assert server.proc is not None
            pid = server.proc.pid
            asyncio.run(_upload_all(server.base, route, payload))  # warm-up round: imports, buffers
            time.sleep(0.5)
            can_reset = _reset_peak(pid)
            before = _status_kib(pid, "VmRSS" if can_reset else "VmHWM")
            t0 = time.perf_counter()
            oks = asyncio.run(_upload_all(server.base, route, payload))
            elapsed = time.perf_counter() - t0
            results[route] = {"growth_mb": _growth_mb(pid, before), "seconds": elapsed, "ok": float(sum(oks)),
                              "rss_before_mb": before / 1024, "exact_peak": float(can_reset)}
        finally:
            server.stop()
    return results


# --- the report ---------------------------------------------------------------------------------


def run(print_fn: Callable[[str], None] = print) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    workdir = Path(tempfile.mkdtemp(prefix="motcua-upload-bench-"))
    load = os.getloadavg()[0]
    print_fn(f"  load average {load:.1f} on {os.cpu_count()} cores (wall times include waiting for a core; "
             "CPU times do not)")
    try:
        m = memory_in_process(workdir)
        figures["memory_in_process"] = m
        print_fn(f"  {UPLOADS} concurrent {UPLOAD_BYTES // MiB} MB uploads through stream_to_file (in-process): "
                 f"peak RSS +{m['growth_mb']:.1f} MB, {int(m['ok'])}/{UPLOADS} complete, {m['seconds']:.1f} s "
                 f"(target ≤ {TARGET_MEMORY_MB:.0f} MB) {'PASS' if m['growth_mb'] <= TARGET_MEMORY_MB else 'MISS'}")
        photo = workdir / "photo.jpg"
        size = make_photo(photo)
        print_fn(f"  photo: 4000×3000 JPEG, {size / MiB:.1f} MiB, EXIF GPS + orientation 6")
        variants = [("default malloc", {}, MAX_SIDE_KEPT, PHOTO_RUNS),
                    ("GLIBC_TUNABLES=glibc.malloc.hugetlb=1", {"GLIBC_TUNABLES": HUGEPAGES}, MAX_SIDE_KEPT,
                     PHOTO_RUNS),
                    ("long side ≤ 2000 px instead, default malloc", {}, 2000, 5)]
        for label, env, max_side, runs in variants:
            t = photo_in_child(photo, env, max_side, runs)
            figures[f"photo[{label}]"] = t
            verdict = "PASS" if t["median_ms"] <= TARGET_PHOTO_MS else "MISS"
            print_fn(f"  sniff+strip+re-encode 12 MP, {label}: median {t['median_ms']:.0f} ms, "
                     f"p95 {t['p95_ms']:.0f} ms wall; CPU median {t['cpu_median_ms']:.0f} ms, "
                     f"p95 {t['cpu_p95_ms']:.0f} ms → {int(t['out_w'])}×{int(t['out_h'])}, "
                     f"{t['out_bytes'] / MiB:.1f} MiB (target ≤ {TARGET_PHOTO_MS:.0f} ms) {verdict}")

        try:
            http = memory_over_http(workdir)
        except Exception as exc:  # the in-process figure stands; say why HTTP could not be measured
            print_fn(f"  HTTP measurement failed: {exc!r}")
            http = {}
        figures["memory_http"] = http
        labels = {"/upload": "parse_multipart_stream", "/upload-form": "Litestar request.form()"}
        for route, r in http.items():
            verdict = "PASS" if r["growth_mb"] <= TARGET_MEMORY_MB and r["ok"] == UPLOADS else "MISS"
            print_fn(f"  {UPLOADS} concurrent {UPLOAD_BYTES // MiB} MB uploads over HTTP, uvicorn + Litestar, "
                     f"{labels.get(route, route)}: server peak RSS +{r['growth_mb']:.1f} MB "
                     f"(from {r['rss_before_mb']:.0f} MB), {int(r['ok'])}/{UPLOADS} complete, "
                     f"{r['seconds']:.1f} s (target ≤ {TARGET_MEMORY_MB:.0f} MB) {verdict}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return figures


if __name__ == "__main__":  # handy on its own: python -m bench.upload_bench
    run()
