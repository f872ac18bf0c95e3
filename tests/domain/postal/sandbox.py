"""The postal operator's sandbox as a separate process on 127.0.0.1 (``motcua postal-sandbox``), for the
tests of the HTTP adapter and of ``motcua postal-sync``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MOTCUA = Path(sys.executable).parent / "motcua"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def sandbox_process(fee_vnd: int = 27_000) -> Iterator[str]:
    """Start ``motcua postal-sandbox`` on a free port; yields its base URL; stops it at the end."""
    port = free_port()
    proc = subprocess.Popen([str(MOTCUA), "postal-sandbox", "--host", "127.0.0.1", "--port", str(port),
                             "--fee", str(fee_vnd)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                    raise RuntimeError(f"postal sandbox exited: {err}") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def deliver(url: str, waybill: str, delivered_at: str | None = None) -> None:
    """What the postman's scan does at the sandbox: the item is delivered."""
    body = json.dumps({"delivered_at": delivered_at} if delivered_at else {}).encode()
    req = urllib.request.Request(f"{url}/sandbox/shipments/{waybill}/deliver", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200
