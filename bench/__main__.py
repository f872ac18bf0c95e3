"""`make bench`: the figures of the speed goals, measured in one run on this machine (see README.md).

Sections: fresh database → motcua + bare reference app → search server time (in-process) → HTTP load
(wrk) → first-load bytes (Playwright + Chromium) → Lighthouse → summary with PASS/MISS. Always exits 0
when it could measure (it reports, it does not gate); every process it starts is stopped.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
import traceback
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import firstload, lighthouse, load, search_timing
from bench.procs import MOTCUA, OUT, PY, Server, app_env, free_port, prepare_database
from bench.queries import QUERIES

TARGET_RATIO = 0.7
TARGET_P99_MS = 50.0
TARGET_SEARCH_P95_MS = 5.0
TARGET_FIRST_LOAD_KB = 30.0
TARGET_LH = {"performance": 0.98, "accessibility": 1.0, "best-practices": 1.0}
DETAIL = "/thu-tuc/1.001193"
KB = 1024  # bytes
WAIT_QUIET_S = 0.0  # set from --wait-quiet
DISTURBED_CORES = 0.3  # other work above this during a load pair: measure the pair again
MAX_ATTEMPTS = 3
NOISE: dict[str, float] = {}  # section → cores used by other work during the reported measurement
# every section, in the order run; the first four share the catalogue's database and the two servers
SECTIONS = ("search", "load", "first load", "lighthouse", "uploads", "submits", "merge", "intake", "push", "stats")
SERVED = {"search", "load", "first load", "lighthouse"}


@dataclass
class Row:
    target: str
    goal: str
    value: str
    verdict: str  # PASS | MISS | ERR | SKIP


def heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 96 - len(text)), flush=True)


def table(headers: list[str], rows: list[list[str]], align: str | None = None) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    align = align or "l" + "r" * (len(headers) - 1)

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) if a == "l" else str(c).rjust(w)
                                 for c, w, a in zip(cells, widths, align, strict=False)) + " |"

    print(fmt(headers))
    print(
        "|"
        + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align, strict=False))
        + "|"
    )
    for r in rows:
        print(fmt(r))
    sys.stdout.flush()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds spent busy by the whole machine (all cores) since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def busy_cores(seconds: float = 2.0) -> float:
    """How many cores the machine keeps busy right now (before we load it)."""
    b0, t0 = machine_busy_seconds(), time.monotonic()
    time.sleep(seconds)
    return (machine_busy_seconds() - b0) / (time.monotonic() - t0)


def quiet_check(label: str, wait_s: float) -> None:
    """Report (and optionally wait for) other work on the machine: it skews every figure here."""
    deadline = time.monotonic() + wait_s
    while True:
        busy = busy_cores()
        if busy < 0.25 or time.monotonic() >= deadline:
            break
        print(f"  machine busy ({busy:.2f} cores) before {label}: waiting for it to calm down ...", flush=True)
        time.sleep(5)
    note = "" if busy < 0.25 else "  WARNING: other processes are using the CPU; figures below are skewed"
    print(f"  before {label}: {busy:.2f} of {os.cpu_count()} cores busy with other work{note}", flush=True)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def machine() -> None:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")

    def version(argv: list[str]) -> str:
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (done.stdout or done.stderr).strip().splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return "missing"

    print(f"  cpu: {os.cpu_count()} x {cpu}; load average {os.getloadavg()[0]:.2f}")
    print(f"  python {platform.python_version()}; {version(['wrk', '-v'])}; "
          f"{version(['/usr/bin/chromium', '--version'])}; node {version(['node', '--version'])}")
    print("  wrk, both servers and Chromium share these cores; nothing is pinned.")


# --------------------------------------------------------------------------------------------
def section_search(db: Path, quick: bool, rows: list[Row]) -> None:
    heading("Search server time (in-process: Database.read_rows_sync(service.search, SearchQuery(q)))")
    total = 300 if quick else 2000
    attempts: list[tuple[float, search_timing.Timing]] = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        quiet_check("search timing", WAIT_QUIET_S)
        busy0, own0, t0 = machine_busy_seconds(), time.process_time(), time.monotonic()
        timing = search_timing.measure(db, total=total)
        wall = time.monotonic() - t0
        others = max(0.0, (machine_busy_seconds() - busy0 - (time.process_time() - own0)) / wall)
        print(f"  attempt {attempt}: p95 {timing.p95_ms:.2f} ms (other work on the machine: {others:.2f} cores)",
              flush=True)
        attempts.append((others, timing))
        if others <= DISTURBED_CORES:
            break
    others, t = min(attempts, key=lambda a: a[0])  # the least disturbed attempt is reported
    NOISE["search timing"] = others
    print(f"  {t.count} calls: the {len(QUERIES)} queries and every prefix typed (≥ 2 characters), cycled; "
          "200 warm-up calls first")
    table(["calls", "p50 ms", "p95 ms", "p99 ms", "max ms", "p95 whole queries", "p95 prefixes"],
          [[str(t.count), f"{t.p50_ms:.2f}", f"{t.p95_ms:.2f}", f"{t.p99_ms:.2f}", f"{t.max_ms:.2f}",
            f"{t.full_p95_ms:.2f}", f"{t.prefix_p95_ms:.2f}"]])
    seen: set[str] = set()
    slow = []
    for ms, q in t.slowest:
        if q not in seen:
            seen.add(q)
            slow.append(f"{q!r} {ms:.2f} ms")
    print("  slowest: " + ", ".join(slow[:6]))
    print(f"  for scale, the reference app's single FTS query (bench/reference_app.py) on the whole queries: "
          f"p50 {t.ref_p50_ms:.2f} ms, p95 {t.ref_p95_ms:.2f} ms")
    rows.append(Row("search server time p95", f"≤ {TARGET_SEARCH_P95_MS:g} ms", f"{t.p95_ms:.2f} ms",
                    "PASS" if t.p95_ms <= TARGET_SEARCH_P95_MS else "MISS"))


def section_load(motcua: Server, ref: Server, quick: bool, rows: list[Row]) -> None:
    heading("HTTP load: wrk, 50 connections, 2 threads, rotating queries")
    wrk = load.ensure_wrk()
    if wrk is None:
        rows.append(Row("load (wrk)", "-", "wrk missing", "ERR"))
        return
    seconds, warmup = (3, 1) if quick else (10, 2)
    quiet_check("load", WAIT_QUIET_S)
    queries = list(QUERIES)
    # sanity: every route answers 200 with 20 rows before it is loaded
    status, body = fetch(motcua.base + "/api/v1/procedures?q=ket+hon")
    assert status == 200 and len(json.loads(body)["items"]) == 20, "motcua API sanity check failed"
    status, body = fetch(ref.base + "/api/procedures?q=ket+hon")
    assert status == 200 and len(json.loads(body)["items"]) == 20, "reference API sanity check failed"
    for url in (motcua.base + "/thu-tuc?q=ket+hon", ref.base + "/thu-tuc?q=ket+hon"):
        assert fetch(url)[0] == 200, url
    print(f"  {len(queries)} queries rotated per connection; {warmup} s warm-up (discarded) then {seconds} s "
          f"measured per target; header Accept-Encoding: {load.BROWSER_ENCODING!r} unless noted")
    html = (("motcua HTML /thu-tuc?q=", motcua, "/thu-tuc?q=", load.BROWSER_ENCODING),
            ("reference HTML /thu-tuc?q=", ref, "/thu-tuc?q=", load.BROWSER_ENCODING))
    api = (("motcua API /api/v1/procedures?q=", motcua, "/api/v1/procedures?q=", load.BROWSER_ENCODING),
           ("reference API /api/procedures?q=", ref, "/api/procedures?q=", load.BROWSER_ENCODING))
    groups: list[tuple[Any, ...]] = [html, api]
    if not quick:  # diagnostics: what compression costs motcua
        groups.append((("motcua HTML, no Accept-Encoding", motcua, "/thu-tuc?q=", None),
                       ("motcua API, no Accept-Encoding", motcua, "/api/v1/procedures?q=", None)))
    results: dict[str, load.LoadResult] = {}
    table_rows: dict[str, list[str]] = {}

    def one(name: str, server: Server, prefix: str, enc: str | None) -> float:
        assert server.proc is not None
        slug = name.split(" /")[0].replace(",", "").replace(" ", "-").lower()
        before = (cpu_seconds(server.proc.pid), children_cpu_seconds(), machine_busy_seconds(), time.monotonic())
        res = load.run_wrk(wrk, slug, server.base, load.paths_for(prefix, queries), seconds=seconds, warmup=warmup,
                           accept_encoding=enc)
        wall = time.monotonic() - before[3]  # warm-up included in all three
        srv = (cpu_seconds(server.proc.pid) - before[0]) / wall
        wrk_cores = (children_cpu_seconds() - before[1]) / wall
        others = max(0.0, (machine_busy_seconds() - before[2]) / wall - srv - wrk_cores)
        results[name] = res
        table_rows[name] = [name, f"{res.rps:,.0f}", f"{res.p50_ms:.1f}", f"{res.p90_ms:.1f}", f"{res.p99_ms:.1f}",
                            f"{res.max_ms:.0f}", f"{res.kb_per_response:.1f}", f"{srv:.2f}", f"{wrk_cores:.2f}",
                            f"{others:.2f}", f"{srv * 1e6 / max(res.rps, 1):,.0f}", f"{res.requests:,}",
                            str(res.errors)]
        print(f"  measured {name}: {res.rps:,.0f} req/s, p99 {res.p99_ms:.1f} ms (other work on the machine: "
              f"{others:.2f} cores)", flush=True)
        return others

    # a motcua run and its reference run form a pair; a pair disturbed by other work is measured again
    # (the least disturbed attempt is reported)
    for group in groups:
        kept: list[tuple[float, dict[str, load.LoadResult], dict[str, list[str]]]] = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            disturbed = max(one(*spec) for spec in group)
            names = [spec[0] for spec in group]
            kept.append((disturbed, {n: results[n] for n in names}, {n: table_rows[n] for n in names}))
            if disturbed <= DISTURBED_CORES or attempt == MAX_ATTEMPTS:
                break
            print(f"  other work used {disturbed:.2f} cores during this pair: measuring it again "
                  f"(attempt {attempt + 1} of {MAX_ATTEMPTS})", flush=True)
            quiet_check("the repeat", WAIT_QUIET_S)
        disturbed, best_results, best_rows = min(kept, key=lambda k: k[0])
        results.update(best_results)
        table_rows.update(best_rows)
        NOISE[f"load: {group[0][0]}"] = disturbed
    plan = [spec for group in groups for spec in group]
    table(["target", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "KB/resp", "srv cores", "wrk cores",
           "other cores", "srv µs/req", "requests", "errors"], [table_rows[spec[0]] for spec in plan])
    print("  KB/resp: bytes read by wrk per response (headers + body, compressed where negotiated). "
          "srv / wrk / other cores: CPU time of the server process, of wrk, and of everything else on the "
          "machine, per wall second (1.00 = one core busy); srv µs/req = server CPU per request.")
    for kind, m, r in (("HTML", plan[0][0], plan[1][0]), ("API", plan[2][0], plan[3][0])):
        ratio = results[m].rps / results[r].rps if results[r].rps else 0.0
        print(f"  {kind}: ratio motcua/reference = {results[m].rps:,.0f} / {results[r].rps:,.0f} = {ratio:.2f}")
        rows.append(Row(f"{kind} req/s ratio motcua/reference", f"≥ {TARGET_RATIO:g}", f"{ratio:.2f}",
                        "PASS" if ratio >= TARGET_RATIO else "MISS"))
        p99 = results[m].p99_ms
        ok = p99 <= TARGET_P99_MS and results[m].errors == 0
        rows.append(Row(f"{kind} p99 at 50 connections (motcua)", f"≤ {TARGET_P99_MS:g} ms",
                        f"{p99:.1f} ms" + (f", {results[m].errors} errors" if results[m].errors else ""),
                        "PASS" if ok else "MISS"))


def section_first_load(motcua: Server, rows: list[Row]) -> None:
    heading("First-load bytes: cold mobile Chromium (390x844), all responses, encoded (headers + body)")
    loads = firstload.measure(motcua.base, ["/", DETAIL])
    for fl in loads:
        print(f"\n  {fl.path}")
        table(["resource", "by", "status", "enc", "headers B", "body B", "total B"],
              [[r.url.replace(motcua.base, "") + (" *" if r.measured_out_of_band else ""), r.initiator,
                str(r.status), r.encoding, str(r.headers_b), str(r.body_b), str(r.total)] for r in fl.resources],
              align="llrlrrr")
        page_t, sw_t = fl.total("page"), fl.total("sw")
        print(f"  page: {page_t / KB:.1f} KB (bodies {fl.body('page') / KB:.1f} KB); service worker install "
              f"(script + precache): {sw_t / KB:.1f} KB; all: {fl.total() / KB:.1f} KB "
              f"(bodies {fl.body() / KB:.1f} KB)")
        name = "home" if fl.path == "/" else "detail"
        total_kb = fl.total() / KB
        rows.append(Row(f"first load {name} {fl.path} (all, wire)", f"≤ {TARGET_FIRST_LOAD_KB:g} KB",
                        f"{total_kb:.1f} KB (page {page_t / KB:.1f} + sw {sw_t / KB:.1f})",
                        "PASS" if total_kb <= TARGET_FIRST_LOAD_KB else "MISS"))
    print("\n  * body measured out of band (Playwright reports the worker script with an empty body). "
          "1 KB = 1024 B.")


def section_lighthouse(motcua: Server, rows: list[Row], quick: bool) -> None:
    heading("Lighthouse 12.2.3, mobile (default emulation and simulated throttling)")
    problem = lighthouse.ensure()
    if problem:
        print("  " + problem)
        rows.append(Row("Lighthouse", "-", problem[:60], "ERR"))
        return
    assert motcua.proc is not None
    base = f"http://localhost:{motcua.port}"
    pages = [("/", "home")] if quick else [("/", "home"), (DETAIL, "detail")]
    for path, slug in pages:
        # performance (total blocking time above all) suffers when other work takes the CPU: a run so
        # disturbed that misses a goal is repeated; the least disturbed run is reported
        kept: list[tuple[float, lighthouse.Report]] = []
        for attempt in range(1, MAX_ATTEMPTS + 1):
            quiet_check(f"Lighthouse {path}", WAIT_QUIET_S)
            before = (machine_busy_seconds(), children_cpu_seconds(), cpu_seconds(motcua.proc.pid), time.monotonic())
            rep = lighthouse.run(base, path, f"{slug}-{attempt}")
            wall = time.monotonic() - before[3]
            ours = (children_cpu_seconds() - before[1]) + (cpu_seconds(motcua.proc.pid) - before[2])
            others = max(0.0, (machine_busy_seconds() - before[0] - ours) / wall)
            kept.append((others, rep))
            met = not rep.error and all((rep.scores.get(c) or 0) >= g for c, g in TARGET_LH.items())
            if met or others <= DISTURBED_CORES or attempt == MAX_ATTEMPTS:
                break
            scores = ", ".join(f"{k} {v:.2f}" for k, v in rep.scores.items() if v is not None)
            print(f"  {path}: {scores or rep.error} with other work using {others:.2f} cores: running it again "
                  f"(attempt {attempt + 1} of {MAX_ATTEMPTS})", flush=True)
        others, rep = min(kept, key=lambda k: k[0])
        NOISE[f"Lighthouse {path}"] = others
        if rep.error:
            print(f"  {path}: {rep.error}")
            rows.append(Row(f"Lighthouse {slug}", "-", rep.error[:60], "ERR"))
            continue
        scores = ", ".join(f"{k} {v:.2f}" if v is not None else f"{k} n/a" for k, v in rep.scores.items())
        print(f"  {path}: {scores} (other work on the machine: {others:.2f} cores)")
        print("    " + "; ".join(f"{k} {v}" for k, v in rep.metrics.items()))
        for w in rep.warnings:
            print(f"    warning: {w}")
        for cat, audits in rep.failing.items():
            print(f"    {cat} below 1.00 — audits not passed:")
            for aid, title, display, score in audits:
                print(f"      - {aid} (score {score:.2f}): {title}" + (f" — {display}" if display else ""))
        for cat, goal in TARGET_LH.items():
            v = rep.scores.get(cat)
            rows.append(Row(f"Lighthouse {cat} {slug}", f"≥ {goal:.2f}", "n/a" if v is None else f"{v:.2f}",
                            "PASS" if v is not None and v >= goal else "MISS"))


def summarise(name: str, figures: dict[str, Any], rows: list[Row]) -> None:
    """The summary rows of the other issues' benchmarks (each prints its own details above)."""
    def row(target: str, goal: str, value: str, ok: bool) -> None:
        rows.append(Row(target, goal, value, "PASS" if ok else "MISS"))

    if name == "uploads":
        photo = figures.get("photo[default malloc]")
        if photo:
            row("12 MP photo sniff+strip+re-encode (server)", "≤ 200 ms",
                f"median {photo['median_ms']:.0f} ms, p95 {photo['p95_ms']:.0f} ms", photo["median_ms"] <= 200)
        http = figures.get("memory_http", {}).get("/upload")
        if http:
            row("server memory, 20 concurrent 10 MB uploads", "≤ 100 MB", f"+{http['growth_mb']:.1f} MB",
                http["growth_mb"] <= 100 and http["ok"] == 20)
    elif name == "push":
        row("10,000 pushes, one worker", f"≤ {figures['targets']['seconds']:g} s",
            f"{figures['seconds']:.1f} s ({figures['per_second']:,.0f}/s)", bool(figures["throughput_ok"]))
        row("status change → push received p95", f"≤ {figures['targets']['p95_s']:g} s",
            f"{figures['latency_p95_s'] * 1000:.0f} ms (separate worker {figures['polled_p95_s'] * 1000:.0f} ms)",
            bool(figures["latency_ok"]))
    elif name == "merge":
        row("merge 10 scanned pages (~1 MB JPEGs) into one PDF", f"≤ {figures['target_ms']:g} ms",
            f"median {figures['median_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms", figures["verdict"] == "PASS")
    elif name == "intake":
        row("counter intake end to end (API, SQLite) p95", f"≤ {figures['target_ms']:g} ms",
            f"{figures['p95_ms']:.0f} ms (p50 {figures['p50_ms']:.0f} ms)", figures["verdict"] == "PASS")
    elif name == "stats":
        row(f"statistics summary p95, {figures['dossiers']:,} dossiers (PostgreSQL)", "< 200 ms",
            f"{figures['worst_p95_ms']:.1f} ms", figures["verdict"] == "PASS")


def section_submits(quick: bool, rows: list[Row]) -> None:
    heading("Submits per second: dossiers with two 300 KB attachments, 40 connections (bench/submit_bench.py)")
    from bench import submit_bench  # noqa: PLC0415  (a section's module loads only when it runs)

    quiet_check("submits", WAIT_QUIET_S)
    for name, f in submit_bench.run(print, quick=quick).items():
        label = "SQLite" if name == "sqlite" else "PostgreSQL"
        target, goal = f"submits/s {label} (2 × 300 KB attachments)", f"≥ {f['target']:g}/s, 0 errors"
        if "error" in f:
            rows.append(Row(target, goal, str(f["error"])[:70], "ERR"))
            continue
        value = f"{f['submits_per_s']:,.0f}/s (p99 {f['p99_ms']:.0f} ms)"
        rows.append(Row(target, goal, value + (f", {f['errors']} errors" if f["errors"] else ""), f["verdict"]))
        NOISE[f"submits {label} (just before)"] = f["busy_before_cores"]


def section_intake(case: str, quick: bool, rows: list[Row]) -> None:
    heading("Merging 10 scanned pages into one PDF (bench/intake_bench.py)" if case == "merge" else
            "Counter intake end to end through the JSON API on SQLite (bench/intake_bench.py)")
    from bench import intake_bench  # noqa: PLC0415  (a section's module loads only when it runs)

    quiet_check(case, WAIT_QUIET_S)
    busy0, own0, t0 = machine_busy_seconds(), time.process_time() + children_cpu_seconds(), time.monotonic()
    figures = intake_bench.run(print, quick=quick, cases=(case,))[case]
    own = time.process_time() + children_cpu_seconds() - own0  # this process and the server it stopped
    NOISE[case] = max(0.0, (machine_busy_seconds() - busy0 - own) / (time.monotonic() - t0))
    summarise(case, figures, rows)


# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short durations, fewer queries (smoke run)")
    p.add_argument("--no-browser", action="store_true", help="skip first-load bytes and Lighthouse")
    p.add_argument("--only", metavar="SECTIONS", default="",
                   help=f"run only these sections, comma-separated: {', '.join(SECTIONS)}")
    p.add_argument("--wait-quiet", type=float, default=120.0, metavar="SECONDS",
                   help="before each timed section, wait up to this long for other CPU work to stop (default 120)")
    args = p.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()} or set(SECTIONS)
    if wanted - set(SECTIONS):
        p.error(f"unknown section(s) {', '.join(sorted(wanted - set(SECTIONS)))}; known: {', '.join(SECTIONS)}")
    if args.no_browser:
        wanted -= {"first load", "lighthouse"}
    global WAIT_QUIET_S
    WAIT_QUIET_S = 5.0 if args.quick else max(0.0, args.wait_quiet)
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    heading("motcua bench" + (" (--quick: short durations, not the reference figures)" if args.quick else ""))
    machine()
    servers: list[Server] = []
    try:
        sections: list[tuple[str, Any]] = []
        if wanted & SERVED:
            db = prepare_database()
            mport, rport = free_port(), free_port()
            motcua = Server("motcua", [str(MOTCUA), "serve", "--quiet"], app_env(db, mport), mport)
            ref = Server("reference", [str(PY), "-m", "bench.reference_app"],
                         {**app_env(db, rport), "REF_DB": str(db)}, rport)
            for s in (motcua, ref):
                servers.append(s)
                s.start()
            print(f"  motcua on {motcua.base} (motcua serve --quiet: one uvicorn worker); "
                  f"reference on {ref.base} (bench/reference_app.py, same uvicorn settings)")
            sections += [("search", lambda: section_search(db, args.quick, rows)),
                         ("load", lambda: section_load(motcua, ref, args.quick, rows)),
                         ("first load", lambda: section_first_load(motcua, rows)),
                         ("lighthouse", lambda: section_lighthouse(motcua, rows, args.quick))]
        # the other issues' figures: uploads and submits (filing), merging scans and counter intake (issue 14),
        # pushes (notifications), the 1,000,000-dossier summary (stats)
        for name, module in (("uploads", "bench.upload_bench"), ("push", "bench.push_bench"),
                             ("stats", "bench.stats_bench")):
            sections.append((name, lambda n=name, m=module: summarise(n, importlib.import_module(m).run(print), rows)))
            if name == "uploads":  # filing: then the submits (SQLite and PostgreSQL, servers of their own)
                sections.append(("submits", lambda: section_submits(args.quick, rows)))
                sections += [(case, lambda c=case: section_intake(c, args.quick, rows)) for case in ("merge", "intake")]
        for name, fn in sections:
            if name not in wanted:
                continue
            try:
                fn()
            except Exception as exc:  # report and go on with the next section
                traceback.print_exc(file=sys.stdout)
                rows.append(Row(name, "-", f"{type(exc).__name__}: {exc}"[:70], "ERR"))
    finally:
        for s in reversed(servers):
            s.stop()
    heading("Summary")
    table(["target", "goal", "measured", "verdict"], [[r.target, r.goal, r.value, r.verdict] for r in rows],
          align="llll")
    missed = sum(r.verdict != "PASS" for r in rows)
    if NOISE:
        print("\n  other work on the machine during the reported measurements (cores; > "
              f"{DISTURBED_CORES} = skewed): " + "; ".join(f"{k} {v:.2f}" for k, v in NOISE.items()))
    print(f"\n  {len(rows) - missed}/{len(rows)} targets met; {time.monotonic() - started:.0f} s; "
          f"raw outputs in {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
