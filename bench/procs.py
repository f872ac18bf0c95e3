"""Processes the harness starts: free ports, start, wait until ready, stop (always)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / ".out"
PY = ROOT / ".venv" / "bin" / "python"
MOTCUA = ROOT / ".venv" / "bin" / "motcua"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One child process (its own session, so a stop reaches what it started and nothing else)."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], port: int) -> None:
        self.name, self.argv, self.env, self.port = name, list(argv), dict(env), port
        self.log = OUT / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, health: str = "/healthz", timeout: float = 60.0) -> None:
        fh = self.log.open("wb")
        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        fh.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(self.base + health, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer {health} within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def app_env(db_path: Path, port: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "PUBLIC_URL")}
    env.update(DATABASE_URL=f"sqlite:///{db_path}", MOTCUA_VAR_DIR=str(OUT / "var"), MOTCUA_ENV="dev",
               MOTCUA_STORAGE_DIR=str(OUT / "var" / "files"), PYTHONUNBUFFERED="1")
    if port is not None:
        env["PORT"] = str(port)
    return env


def prepare_database() -> Path:
    """A fresh database: migrations, the bundled catalogue and the demo offer (`motcua setup`)."""
    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / "motcua.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    t0 = time.monotonic()
    done = subprocess.run([str(MOTCUA), "setup"], env=app_env(db), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    if done.returncode:
        raise RuntimeError(f"motcua setup failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    lines = [ln for ln in (done.stdout + done.stderr).splitlines() if ln.strip()]
    print(f"  motcua setup in {time.monotonic() - t0:.1f} s: " + " | ".join(lines[-3:]))
    return db
