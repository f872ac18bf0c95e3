"""Lighthouse 12.2.3 (npm, pinned in bench/package.json) on Debian's Chromium, mobile, default throttling."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from bench.procs import OUT

HERE = Path(__file__).resolve().parent
BIN = HERE / "node_modules" / ".bin" / "lighthouse"
VERSION = "12.2.3"
CATEGORIES = ("performance", "accessibility", "best-practices")
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking"


@dataclass
class Report:
    path: str
    scores: dict[str, float | None] = field(default_factory=dict)
    failing: dict[str, list[tuple[str, str, str, float]]] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


def ensure() -> str | None:
    """The lighthouse binary, installed here (`npm i -E lighthouse@12.2.3`) if missing; else why not."""
    if BIN.exists():
        return None
    if shutil.which("npm") is None:
        return "npm is missing (apt-get install -y npm): Lighthouse not run"
    print(f"  installing lighthouse@{VERSION} in bench/ (npm i -E lighthouse@{VERSION}) ...")
    done = subprocess.run(["npm", "i", "-E", f"lighthouse@{VERSION}", "--no-audit", "--no-fund"], cwd=HERE,
                          capture_output=True, text=True, timeout=600)
    if done.returncode or not BIN.exists():
        return f"npm i failed: {done.stderr[-600:]}"
    return None


def run(base: str, path: str, slug: str, timeout: int = 240) -> Report:
    report = Report(path)
    target = OUT / f"lighthouse-{slug}.json"
    target.unlink(missing_ok=True)
    argv = [str(BIN), base + path, "--quiet", f"--chrome-flags={CHROME_FLAGS}", "--form-factor=mobile",
            f"--only-categories={','.join(CATEGORIES)}", "--output=json", f"--output-path={target}"]
    try:
        done = subprocess.run(argv, env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"}, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        report.error = f"lighthouse did not finish within {timeout} s"
        return report
    if done.returncode or not target.exists():
        report.error = f"lighthouse exited {done.returncode}: {done.stderr[-600:]}"
        return report
    data = json.loads(target.read_text())
    audits = data["audits"]
    report.warnings = list(data.get("runWarnings") or [])
    for key in ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time",
                "cumulative-layout-shift", "speed-index", "total-byte-weight"):
        if key in audits:
            report.metrics[key] = audits[key].get("displayValue") or ""
    for cat_id in CATEGORIES:
        cat = data["categories"].get(cat_id)
        if cat is None:
            continue
        report.scores[cat_id] = cat.get("score")
        if cat.get("score") is None or cat["score"] >= 1:
            continue
        bad = []
        for ref in cat["auditRefs"]:
            audit = audits.get(ref["id"], {})
            score = audit.get("score")
            if score is None or audit.get("scoreDisplayMode") in ("informative", "notApplicable", "manual"):
                continue
            if score < 1:
                bad.append((ref["id"], audit.get("title", ""), audit.get("displayValue") or "", float(score)))
        report.failing[cat_id] = bad
    return report
