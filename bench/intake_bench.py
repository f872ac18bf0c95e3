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
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.procs import OUT

TARGET_MERGE_MS = 500.0
PAGES = 10
MERGE_RUNS, MERGE_RUNS_QUICK = 20, 5
SCAN_SIZE = (2000, 1500)  # what the tablet's page capture sends (the browser scales to ≤ 2,000 px)


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


CASES: dict[str, Callable[..., dict[str, Any]]] = {"merge": merge_case}


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
