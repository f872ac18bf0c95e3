"""Real-browser fixtures: the real app served by uvicorn in a subprocess, Debian's Chromium via Playwright.

The server uses the session's test database (``catalogue_db``) and environment (``env``). Playwright
cannot download its own browser here, so the system Chromium at ``/usr/bin/chromium`` is required:
install it with ``make browser-deps``. A missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("MOTCUA_CHROMIUM", "/usr/bin/chromium"))  # override only to test this check
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}, "device_scale_factor": 2, "is_mobile": True,
          "has_touch": True}
START_TIMEOUT = 30.0
# CI runs the suite twice on 2 shared cores: generous waits (a wait ends as soon as its condition holds,
# so a long limit costs nothing when the machine is quick)
ACTION_TIMEOUT_MS = 20_000
EXPECT_TIMEOUT_MS = 15_000


@pytest.fixture(scope="session", autouse=True)
def _patient_expectations() -> None:
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test in this folder is a browser test (``-m browser`` / ``-m 'not browser'``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


LOG_KEY = pytest.StashKey[Path]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failed browser test carries the tail of the live server's log in its report."""
    outcome = yield
    report = outcome.get_result()
    log = item.config.stash.get(LOG_KEY, None)
    if report.failed and log is not None and "live_server" in getattr(item, "fixturenames", ()):
        lines = log.read_text(errors="replace").splitlines()[-100:]
        report.sections.append((f"live_server log ({log}, last {len(lines)} lines)", "\n".join(lines)))


def _free_socket() -> socket.socket:
    """A socket bound to a free port, handed to uvicorn (``--fd``), so no port race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the app exited with {proc.returncode} before answering /healthz; its log:\n"
                        f"{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError) as e:
            last = e
        time.sleep(0.05)  # polling an explicit condition, not a fixed wait
    pytest.fail(f"/healthz did not answer within {START_TIMEOUT}s ({last}); the app's log:\n"
                f"{log.read_text(errors='replace')}")


@contextlib.contextmanager
def serve_app(log: Path, **env: str) -> Iterator[str]:
    """The real app (``uvicorn --factory api.app:app_from_env``) on http://localhost:PORT, with the test
    settings of ``os.environ`` and ``env`` on top; stopped when the block ends. Its output goes to ``log``."""
    sock = _free_socket()
    base = f"http://localhost:{sock.getsockname()[1]}"
    child_env = {**os.environ, "PORT": str(sock.getsockname()[1]), "PUBLIC_URL": base, "PYTHONUNBUFFERED": "1", **env}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "api.app:app_from_env", "--fd", str(sock.fileno()),
             "--log-level", "info", "--no-server-header"],
            cwd=ROOT, env=child_env, stdout=out, stderr=subprocess.STDOUT, pass_fds=(sock.fileno(),),
        )
    sock.close()  # the child holds its own copy
    try:
        _wait_healthy(base, proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def live_server(catalogue_db: str, tmp_path_factory: pytest.TempPathFactory,
                request: pytest.FixtureRequest) -> Iterator[str]:
    """The real app on http://localhost:PORT (the `env` fixture has put the test settings in os.environ)."""
    log = tmp_path_factory.mktemp("live_server") / "uvicorn.log"
    request.config.stash[LOG_KEY] = log
    with serve_app(log) as base:
        yield base


@pytest.fixture(scope="module")
def browser(live_server: str) -> Iterator[Any]:
    """Chromium, once per test module.

    Not per session: Playwright's sync API keeps an asyncio loop running in the main thread while it is
    open, so ``asyncio.run`` (the PostgreSQL set-up in ``env``, tests/migrations/test_migrations.py) and
    pytest-asyncio tests would fail in every module collected after this one. It also depends on
    ``live_server`` so that the database is built before that loop starts.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. Install it with "
                    "`make browser-deps` (apt-get install chromium fonts-noto-core).", pytrace=False)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_context(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Factory of browser contexts on the live server (closed at teardown); keyword args override."""
    made: list[Any] = []

    def make(**overrides: Any) -> Any:
        options = {**PHONE, "locale": "vi-VN", "service_workers": "allow", "base_url": live_server,
                   **overrides}
        ctx = browser.new_context(**options)
        ctx.set_default_timeout(ACTION_TIMEOUT_MS)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


@pytest.fixture
def phone(new_context: Callable[..., Any]) -> Any:
    """A page on a 390×844 phone (3x, touch), Vietnamese locale, service workers allowed."""
    return new_context().new_page()


@pytest.fixture
def tablet(new_context: Callable[..., Any]) -> Any:
    """A page on a 1024×768 tablet (for the officers' screens)."""
    return new_context(**TABLET).new_page()
