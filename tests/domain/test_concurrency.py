"""Concurrent writers: two officers on one dossier (one wins), concurrent submissions (unique codes)."""

from __future__ import annotations

import fcntl
import threading
import time
from typing import Any

import pytest
from sqlalchemy import text

from domain.db import Database
from domain.dossiers import backoffice
from domain.dossiers import filing as service
from domain.errors import Conflict
from tests.api.backoffice import filed, officer
from tests.conftest import BACKEND
from tests.helpers import bearer, fill, signed_in


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locking between processes is PostgreSQL's; "
                    "SQLite serialises every writer")
def test_two_officers_one_wins(client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/procedures", params={"online": "true", "level": "commune", "page_size": 50}).json()
    code = next(i["code"] for i in items["items"] if i["code"] not in {"1.001193", "1.004222", "1.004194"}
                and len(client.get(f"/api/v1/procedures/{i['code']}/form").json()["documents"]) <= 3)
    unit = client.get(f"/api/v1/procedures/{code}").json()["offer"]["unit_code"]
    tokens = [officer(client, "officer", unit)[0] for _ in range(2)]
    ids = [client.get("/api/v1/me", headers={"Authorization": f"Bearer {t['access_token']}"}).json()["id"]
           for t in tokens]
    _, d = filed(client, code)
    barrier = threading.Barrier(2)
    outcomes: list[Any] = []

    def receive(user_id: int) -> None:
        db = Database(database_url)
        barrier.wait()
        try:
            outcomes.append(db.run(backoffice.act, user_id, d["id"], "receive", {"version": d["version"]}))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=receive, args=(uid,)) for uid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    wins = [o for o in outcomes if not isinstance(o, Exception)]
    losses = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(wins) == 1 and len(losses) == 1
    assert "phiên bản" in losses[0].detail or "received" in losses[0].detail


def test_concurrent_submissions_get_unique_codes(client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/procedures", params={"online": "true", "level": "commune", "page_size": 50}).json()
    code = next(i["code"] for i in items["items"] if i["code"] not in {"1.001193", "1.004222", "1.004194"}
                and len(client.get(f"/api/v1/procedures/{i['code']}/form").json()["documents"]) <= 3)
    form = client.get(f"/api/v1/procedures/{code}/form").json()
    drafts = []
    for _ in range(8):
        _, tokens = signed_in(client)
        d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": code}).json()
        fill(client, tokens, d["id"], form)
        me = client.get("/api/v1/me", headers=bearer(tokens)).json()["id"]
        drafts.append((me, d["id"]))
    barrier = threading.Barrier(len(drafts))
    codes: list[str | None] = []

    def submit(user_id: int, dossier_id: int) -> None:
        db = Database(database_url)
        barrier.wait()
        codes.append(db.run(lambda s: service.submit(s, user_id, dossier_id).code))

    threads = [threading.Thread(target=submit, args=pair) for pair in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(codes) == len(drafts) and len(set(codes)) == len(codes)


def test_sqlite_writers_of_two_processes_take_turns_on_a_file_lock(tmp_path: Any) -> None:
    """Each ``Database`` opens its own lock file handle, as a second process would: a writer waits on
    the kernel's file lock (woken as soon as the other commits), not in SQLite's busy handler."""
    url = f"sqlite:///{tmp_path / 'writers.db'}"
    first, second = Database(url), Database(url)
    first.write_sync(lambda s: s.execute(text("CREATE TABLE t (x INTEGER)")))
    holding = threading.Event()
    order: list[str] = []

    def slow(session: Any) -> None:
        session.execute(text("INSERT INTO t VALUES (1)"))
        holding.set()
        time.sleep(0.3)
        order.append("first")

    thread = threading.Thread(target=first.write_sync, args=(slow,))
    thread.start()
    holding.wait(5)
    # a third process would wait too
    with open(tmp_path / "writers.db.write.lock", "a") as probe, pytest.raises(BlockingIOError):
        fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    def after(session: Any) -> None:
        order.append("second")
        session.execute(text("INSERT INTO t VALUES (2)"))

    second.write_sync(after)
    thread.join()
    assert order == ["first", "second"]
    assert second.read_sync(lambda s: s.execute(text("SELECT x FROM t ORDER BY x")).scalars().all()) == [1, 2]
