"""`motcua` command line: migrate, import the catalogue, load the province's offer, serve."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from auth.config import AuthSettings
from domain.db import Database
from domain.errors import DomainError
from domain.settings import ROOT, Settings, SettingsError, configure_core, load_settings

# Each command imports what it runs (those imports are marked for PLC0415): `motcua --help` and one command
# stay fast, and a command does not load the web app, the worker or the demo generator it does not use.
log = logging.getLogger("motcua")
SHARED_RAW = ROOT.parent / "shared" / "data" / "tthc" / "raw"


_settings: Settings | None = None


def get_settings() -> Settings:
    """The CLI is a composition root: it reads the environment once per command (when the command first
    needs a setting) and configures the core's process-wide parts (audit key, outbox channels); auth's
    functions are handed ``AuthSettings.of(get_settings())`` where a command calls them."""
    global _settings
    if _settings is None:
        _settings = configure_core(load_settings(os.environ))
    return _settings


def _db() -> Database:
    settings = get_settings()
    return Database(settings.database.url, audit_key=settings.audit.key)


def cmd_migrate(_args: argparse.Namespace) -> int:
    from domain.migrate import upgrade  # noqa: PLC0415

    upgrade(get_settings().database.url)
    print("database schema is up to date")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from domain.catalog.procedures import import_paths  # noqa: PLC0415

    summary = _db().run(import_paths, args.paths)
    for error in summary.errors:
        print(f"failed: {error}", file=sys.stderr)
    print(summary.as_line())
    return 1 if summary.failed else 0


def cmd_build_catalogue(args: argparse.Namespace) -> int:
    from domain.catalog.procedures import BUNDLE, parse_paths, write_bundle  # noqa: PLC0415

    records = list(parse_paths(args.paths or [SHARED_RAW]))
    failed = [f"{source}: {error}" for source, _d, _r, error in records if error]
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    count = write_bundle(records, Path(args.output) if args.output else BUNDLE)
    print(f"wrote {count} procedures to {args.output or BUNDLE}; failed: {len(failed)}")
    return 1 if failed else 0


def cmd_load_catalogue(args: argparse.Namespace) -> int:
    from domain.catalog.procedures import BUNDLE, import_normalised, read_bundle  # noqa: PLC0415

    summary = _db().run(lambda s: import_normalised(s, read_bundle(Path(args.bundle) if args.bundle else BUNDLE)))
    print(summary.as_line())
    return 1 if summary.failed else 0


def cmd_load_offer(args: argparse.Namespace) -> int:
    from domain.catalog.offer import apply_config, read_config  # noqa: PLC0415

    cfg = read_config(Path(args.config) if args.config else get_settings().web.province_config)
    summary = _db().run(apply_config, cfg)
    for warning in summary.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary.as_line())
    return 0


DEMO_PASSWORD = "mot cua demo 2026"
DEMO_USERS = [  # role, username, full name, unit
    ("citizen", "0912000001", "Nguyễn Thị Demo", None),
    ("officer", "0912000002", "Trần Văn Tiếp Nhận", "000.31.01.H56"),
    ("approver", "0912000003", "Lê Thị Lãnh Đạo", "000.31.01.H56"),
    ("officer", "0912000004", "Phạm Văn Sở Tư Pháp", "000.00.12.H56"),
    ("approver", "0912000005", "Võ Thị Giám Đốc", "000.00.12.H56"),
    ("admin", "0912000009", "Quản Trị Demo", None),
]


def cmd_demo_users(_args: argparse.Namespace) -> int:
    """Demo accounts for a local try-out (dev only); officers enrol a passkey at first sign-in."""
    if get_settings().env == "production":
        print("demo accounts are never created in production", file=sys.stderr)
        return 2
    for role, username, name, unit in DEMO_USERS:
        argv = argparse.Namespace(role=role, username=username, password=DEMO_PASSWORD, unit=unit, full_name=name,
                                  unit_admin=role == "officer")
        cmd_create_user(argv)
    print(f"demo password for all: {DEMO_PASSWORD!r}")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    """Everything `make run` needs on a fresh machine, idempotent (demo accounts outside production;
    in dev, demo history too: MOTCUA_DEMO_DOSSIERS dossiers, default 300, 0 for none, once)."""
    steps = [cmd_migrate, cmd_load_catalogue, cmd_load_offer]
    if get_settings().env != "production":
        steps.append(cmd_demo_users)
    for step in steps:
        code = step(argparse.Namespace(bundle=None, config=None))
        if code:
            return code
    if get_settings().env == "dev":
        from domain.stats.demo import already_loaded  # noqa: PLC0415

        raw = os.environ.get("MOTCUA_DEMO_DOSSIERS", "300").strip()
        if not raw.isdigit():
            print("MOTCUA_DEMO_DOSSIERS must be a whole number", file=sys.stderr)
            return 2
        if int(raw) > 0 and not _db().read_sync(already_loaded):
            return cmd_demo_data(argparse.Namespace(dossiers=int(raw), years=2.0, seed=2026, batch=20_000,
                                                    no_verify=False))
    return 0


def cmd_demo_data(args: argparse.Namespace) -> int:
    """Plausible history through the domain's rules, written in batches (see domain/stats/demo.py)."""
    from domain.stats.demo import Options, generate  # noqa: PLC0415

    if get_settings().env == "production":
        print("demo data is never generated in production", file=sys.stderr)
        return 2
    try:
        opts = Options(dossiers=args.dossiers, years=args.years, seed=args.seed, batch=args.batch,
                       verify=not args.no_verify).check()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"demo history: {opts.dossiers:,} dossiers over {opts.years:g} years")
    report = generate(_db(), opts)
    statuses = ", ".join(f"{k} {v:,}" for k, v in sorted(report.by_status.items(), key=lambda kv: -kv[1]))
    print(f"wrote {report.dossiers:,} dossiers, {report.events:,} events, {report.payments:,} online payments, "
          f"{report.ratings:,} ratings in {report.seconds:.0f} s ({statuses})")
    if report.differences is None:
        return 0
    if report.differences:
        print("roll-ups DIFFER from a full recount:", *report.differences[:10], sep="\n  ", file=sys.stderr)
        return 1
    print("roll-ups equal a full recount")
    return 0


def cmd_stats_rebuild(_args: argparse.Namespace) -> int:
    """Recount the statistics roll-ups from the dossier tables (after a bulk change that bypassed them)."""
    from domain.stats.rollups import rebuild  # noqa: PLC0415

    count = _db().run(rebuild)
    print(f"statistics rebuilt from {count:,} dossiers")
    return 0


ROLE_KINDS = {"citizen": "citizen", "officer": "officer", "approver": "officer", "accountant": "officer",
              "admin": "admin"}
ROLE_GRANTS = {"officer": ("receiver", "processor"), "approver": ("approver",), "accountant": ("accountant",),
               "admin": (), "citizen": ()}


def cmd_create_user(args: argparse.Namespace) -> int:
    from auth import accounts as service  # noqa: PLC0415

    def run(session):  # type: ignore[no-untyped-def]
        if args.role in ("officer", "approver", "accountant") and not args.unit:
            raise DomainError(f"--unit is required for --role {args.role}")
        user = service.find_user(session, args.username)
        if user is None:
            user = service.create_user(session, ROLE_KINDS[args.role], args.username, args.password,
                                       cfg=AuthSettings.of(get_settings()), full_name=args.full_name or args.username)
        for role in ROLE_GRANTS[args.role] + (("unit_admin",) if args.unit_admin else ()):
            service.grant_officer_role(session, user, args.unit, role)
        return user.id, user.username

    user_id, username = _db().run(run)
    print(f"user {username} (id {user_id}) ready as {args.role}" + (f" in unit {args.unit}" if args.unit else ""))
    return 0


def cmd_enrolment_code(args: argparse.Namespace) -> int:
    from domain.accounts import enrolment  # noqa: PLC0415
    from domain.accounts.users import find_user  # noqa: PLC0415

    def run(session):  # type: ignore[no-untyped-def]
        user = find_user(session, args.username)
        if user is None or user.kind not in enrolment.STAFF:
            raise DomainError(f"no officer or admin with the username {args.username!r}")
        return enrolment.issue(session, user.id, issuer_id=None, via="cli")

    issued = _db().run(run)
    print(issued.code)
    print(f"one-time enrolment code for {args.username}, valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC: "
          "hand it over in person or by phone, never with the password", file=sys.stderr)
    return 0


def cmd_create_unit(args: argparse.Namespace) -> int:
    from auth import accounts as service  # noqa: PLC0415

    unit = _db().run(service.create_unit, args.code, args.name, args.level)
    print(f"unit {unit.code} ({unit.name}) ready")
    return 0


def cmd_verify_audit(_args: argparse.Namespace) -> int:
    """Walk the audit chain with the audit key (MOTCUA_AUDIT_KEY); exit 1 naming the first bad row."""
    from domain.audit import verify_chain  # noqa: PLC0415

    report = _db().read_sync(verify_chain, get_settings().audit.key)
    older = f", {report.unkeyed} of them unkeyed from before the key" if report.unkeyed else ""
    if report.broken_at is None:
        print(f"audit chain intact: {report.checked} rows{older}")
        return 0
    print(f"audit chain BROKEN at row {report.broken_at}: {report.reason} ({report.checked} rows read{older})")
    return 1


def cmd_verify_decision(args: argparse.Namespace) -> int:
    from domain.dossiers.backoffice import verify_decisions  # noqa: PLC0415

    check = _db().run(verify_decisions, args.dossier_id)
    for d in check.decisions:
        print(f"level {d['level']} {d['decision']} by user {d['approver_id']} at {d['at']}: "
              f"{'VALID' if d['valid'] else 'INVALID'} (result {d['result_sha256'][:16]}…)"
              + ("" if d["reason_signed"] else "; its reason was not signed (decided before reasons were)"))
    if not check.decisions:
        print("no decision recorded for this dossier")
    return 0 if check.valid else 1


def cmd_expire_drafts(args: argparse.Namespace) -> int:
    """Warn the owners of drafts nobody touched for a while, then delete the drafts (run daily)."""
    from datetime import timedelta  # noqa: PLC0415

    from domain.dossiers.filing import expire_drafts  # noqa: PLC0415

    summary = _db().run(expire_drafts, ttl=timedelta(days=args.days), warn_before=timedelta(days=args.warn_days))
    print(f"warned: {len(summary.warned)}, deleted: {summary.deleted}")
    return 0


def cmd_postal_sandbox(args: argparse.Namespace) -> int:
    """A postal operator's sandbox as a separate local process (never in production)."""
    from domain.postal.sandbox import serve  # noqa: PLC0415

    if get_settings().is_production:
        print("postal-sandbox is not for production", file=sys.stderr)
        return 2
    print(f"postal sandbox on http://{args.host}:{args.port} (fee {args.fee} VND)", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        serve(args.host, args.port, args.fee)
    return 0


def cmd_postal_sync(_args: argparse.Namespace) -> int:
    """Ask the postal operator about every result sent by post; confirm the delivered ones."""
    from domain.postal.operator import operator_for  # noqa: PLC0415
    from domain.postal.sync import sync_deliveries  # noqa: PLC0415

    postal = get_settings().postal
    report = sync_deliveries(_db(), operator_for(postal.url, timeout=postal.timeout_seconds, fee_vnd=postal.fee_vnd))
    print(f"checked: {report.checked}, delivered: {len(report.delivered)}, failed: {len(report.failed)}")
    for waybill in report.failed:
        print(f"no answer for waybill {waybill}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415

    settings = get_settings()
    print(f"motcua serving on http://localhost:{settings.web.port} (env: {settings.env})")
    # loop="asyncio", not uvloop: under load uvloop serves some keep-alive connections long before
    # others (a p99 far above the p50); asyncio's loop is fair at the same throughput (figures in
    # bench/README.md, "Figures behind the code's comments")
    uvicorn.run("api.app:app_from_env", factory=True, host=args.host, port=settings.web.port,
                log_level="warning" if args.quiet else "info", server_header=False,
                proxy_headers=False,  # the app decides whom to believe: MOTCUA_TRUSTED_PROXIES (api/web/proxies.py)
                loop="asyncio", workers=args.workers if args.workers > 1 else None)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """The notification worker as its own process: until SIGTERM/SIGINT (or, with --once, until
    nothing is due). Several may run on PostgreSQL; SQLite takes one."""
    import asyncio  # noqa: PLC0415
    import signal  # noqa: PLC0415

    from notifications.worker import Worker, WorkerBusy, sqlite_lock  # noqa: PLC0415

    async def run() -> int:
        db = _db()
        try:
            lock = sqlite_lock(db)
        except WorkerBusy as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        worker = Worker(db, get_settings().notifications, batch=args.batch, concurrency=args.concurrency)
        try:
            if args.once:
                taken = await worker.drain(timeout=args.timeout)
                print(f"sent {taken} deliveries: {worker.total.delivered} delivered, {worker.total.retried} to "
                      f"retry, {worker.total.failed} failed")
                return 0
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await worker.run(stop)
            return 0
        finally:
            await worker.close()
            await db.dispose()
            if lock is not None:
                lock.close()

    return asyncio.run(run())


def cmd_vapid_keys(args: argparse.Namespace) -> int:
    """Make the Web Push (VAPID) key pair once; print it as settings, or keep it in var/vapid.env (dev)."""
    from domain.settings import read_env_file, vapid_file  # noqa: PLC0415
    from notifications.channels.webpush import generate_keys, public_key_of  # noqa: PLC0415

    path = vapid_file(get_settings().web.var_dir)
    if args.save and path.exists() and not args.force:
        existing = read_env_file(path).get("MOTCUA_VAPID_PRIVATE_KEY", "")
        public = public_key_of(existing) if existing else "?"
        print(f"{path} already exists (kept; a new key would end every browser's subscription). "
              f"Public key: {public}")
        return 0
    private, public = generate_keys()
    text = (f"# Web Push (VAPID) keys made by `motcua vapid-keys`. Keep them: a new pair ends every subscription.\n"
            f"MOTCUA_VAPID_PRIVATE_KEY={private}\nMOTCUA_VAPID_PUBLIC_KEY={public}\n")
    if args.save:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
        print(f"wrote {path} (read in dev when MOTCUA_VAPID_PRIVATE_KEY is not set). Public key: {public}")
    else:
        print(text, end="")
    return 0


Command = Callable[[argparse.Namespace], int]
AddCommand = Callable[[str, Command, str], argparse.ArgumentParser]


def _catalogue_commands(add: AddCommand) -> None:
    add("migrate", cmd_migrate, "apply database migrations (Alembic)")
    sp = add("import-procedures", cmd_import, "import national-portal procedure records (files or folders)")
    sp.add_argument("paths", nargs="+", help="JSON files or folders, read recursively")
    sp = add("build-catalogue", cmd_build_catalogue, "rebuild the bundled normalised catalogue from raw records")
    sp.add_argument("paths", nargs="*", help=f"raw records (default: {SHARED_RAW})")
    sp.add_argument("--output", help="target .jsonl.gz (default: the bundled file)")
    sp = add("load-catalogue", cmd_load_catalogue, "load the bundled normalised catalogue into the database")
    sp.add_argument("--bundle", help="a .jsonl.gz written by build-catalogue")
    sp = add("load-offer", cmd_load_offer, "apply the province's offer config (units, offered procedures)")
    sp.add_argument("--config", help="TOML file (default: MOTCUA_PROVINCE_CONFIG or config/province.toml)")


def _people_and_unit_commands(add: AddCommand) -> None:
    sp = add("create-user", cmd_create_user, "create a user (or grant roles to an existing one)")
    sp.add_argument("--role", required=True, choices=list(ROLE_KINDS))
    sp.add_argument("--username", required=True, help="mobile number or e-mail")
    sp.add_argument("--password", required=True)
    sp.add_argument("--unit", help="unit code, e.g. 000.00.12.H56 (officers and approvers)")
    sp.add_argument("--full-name", dest="full_name")
    sp.add_argument("--unit-admin", action="store_true", help="also make the officer an admin of the unit")
    sp = add("enrolment-code", cmd_enrolment_code,
             "print a one-time code with which an officer or admin enrols a first passkey")
    sp.add_argument("username", help="the officer's or admin's mobile number or e-mail")
    sp = add("create-unit", cmd_create_unit, "create or rename a receiving unit")
    sp.add_argument("--code", required=True, help="national identifier, e.g. 000.00.12.H56")
    sp.add_argument("--name", required=True)
    sp.add_argument("--level", required=True, choices=["province", "commune"])


def _operations_commands(add: AddCommand) -> None:
    sp = add("verify-decision", cmd_verify_decision, "re-verify a dossier's signed decisions (passkey assertions)")
    sp.add_argument("dossier_id", type=int)
    sp = add("expire-drafts", cmd_expire_drafts, "warn about, then delete, drafts unused for --days")
    sp.add_argument("--days", type=int, default=int(__import__("os").environ.get("MOTCUA_DRAFT_TTL_DAYS", "30")))
    sp.add_argument("--warn-days", dest="warn_days", type=int, default=7)
    sp = add("postal-sandbox", cmd_postal_sandbox, "serve a postal operator's sandbox (dev and tests)")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8071)
    sp.add_argument("--fee", type=int, default=22_000, help="the fee it quotes, in VND")
    add("postal-sync", cmd_postal_sync, "ask the postal operator about results sent by post; confirm deliveries")
    add("verify-audit", cmd_verify_audit, "check the audit log's hash chain; report the first broken link")


def _setup_and_demo_commands(add: AddCommand) -> None:
    add("demo-users", cmd_demo_users, "create the demo accounts (not in production)")
    add("setup", cmd_setup, "migrate, load the catalogue and the offer (idempotent)")
    sp = add("demo-data", cmd_demo_data, "fill the database with plausible dossier history (not in production)")
    sp.add_argument("--dossiers", type=int, required=True, help="how many dossiers (1..5,000,000)")
    sp.add_argument("--years", type=float, default=3.0, help="over how many years before now (0.05..10)")
    sp.add_argument("--seed", type=int, default=2026, help="random seed (the same seed, the same history)")
    sp.add_argument("--batch", type=int, default=20_000, help="dossiers written per transaction")
    sp.add_argument("--no-verify", dest="no_verify", action="store_true",
                    help="skip comparing the roll-ups with a full recount at the end")
    add("stats-rebuild", cmd_stats_rebuild, "recount the statistics roll-ups from the dossier tables")


def _service_commands(add: AddCommand) -> None:
    sp = add("worker", cmd_worker, "run the notification worker (outbox → Web Push, e-mail, SMS)")
    sp.add_argument("--once", action="store_true", help="send what is due now, then exit")
    sp.add_argument("--timeout", type=float, default=300.0, help="with --once: stop after this many seconds")
    sp.add_argument("--batch", type=int, default=100, help="deliveries taken per transaction (1..1000)")
    sp.add_argument("--concurrency", type=int, default=64, help="pushes in flight at once (1..512)")
    sp = add("vapid-keys", cmd_vapid_keys, "make the Web Push (VAPID) key pair once and print it as settings")
    sp.add_argument("--save", action="store_true", help="keep it in $MOTCUA_VAR_DIR/vapid.env (dev) if not there")
    sp.add_argument("--force", action="store_true", help="with --save: replace an existing key pair")
    sp = add("serve", cmd_serve, "serve the web app and API")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")), metavar="N",
                    help="web processes (default $WEB_CONCURRENCY or 1; on SQLite one of them runs the embedded "
                         "notification worker)")
    sp.add_argument("--quiet", action="store_true")


def parser() -> argparse.ArgumentParser:
    """The `motcua` command line: one subcommand a task, listed in this order in `motcua --help`."""
    p = argparse.ArgumentParser(prog="motcua", description="Một cửa: online public services of a province")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Command, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        return sp

    for commands in (_catalogue_commands, _people_and_unit_commands, _operations_commands, _setup_and_demo_commands,
                     _service_commands):
        commands(add)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    global _settings
    _settings = None  # each command reads the environment afresh
    try:
        return int(args.fn(args))
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
