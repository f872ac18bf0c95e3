"""The outbox and the worker against real components: the local RFC 8030 push service on 127.0.0.1
(VAPID checked, payload decrypted), an aiosmtpd SMTP server, the logging SMS provider, and the real
database (SQLite or PostgreSQL) built by the migrations."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, select

from domain.db import Database
from domain.dossiers.lifecycle import fire
from domain.dossiers.models import Dossier
from domain.outbox import preferences, templates
from domain.outbox.enqueue import enqueue, payment_event
from domain.outbox.models import Attempt, Delivery, Notification, PushSubscription
from domain.settings import SettingsError
from domain.workflow import Actor
from notifications import ssrf
from notifications.channels.inbox import item
from notifications.codes import deliver_code
from notifications.reminders import remind_officers
from notifications.worker import Worker, WorkerBusy, claim, failed, retry_delivery, sqlite_lock
from tests.helpers import settings_from_env
from tests.pushservice import (
    PushService,
    Subscription,
    b64e,
    make_draft,
    make_user,
    notify_env,
    procedure_name,
    subscribe_user,
    subscribed_people,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(catalogue_db: str) -> Iterator[Any]:
    with notify_env() as s:
        yield s


@pytest.fixture
async def db(catalogue_db: str) -> AsyncIterator[Database]:
    """The session's database with the catalogue (dossiers are of a real procedure; none is added)."""
    database = Database(catalogue_db)
    yield database
    await database.dispose()


@pytest.fixture(scope="module")
def push() -> Iterator[PushService]:
    with PushService() as ps:
        yield ps


async def citizen_with_device(db: Database, push: PushService, **kw: Any) -> tuple[int, Subscription, int]:
    sub = push.subscribe()

    def run(session: Any) -> tuple[int, int]:
        uid = make_user(session, **kw)
        return uid, subscribe_user(session, uid, sub)

    uid, sub_id = await db.write(run)
    return uid, sub, sub_id


async def submit_draft(db: Database, uid: int, code: str | None = None, dossier_id: int | None = None) -> int:
    """A real workflow transition (fire "submit"), then the code given after it, as filing does."""
    if dossier_id is None:
        dossier_id = await db.write(make_draft, uid)

    def run(session: Any) -> None:
        d = session.get(Dossier, dossier_id)
        fire(session, d, "submit", actor_id=uid, actors={Actor.APPLICANT})
        d.code = code or f"000.00.99.H56-260217-{dossier_id:04d}"
        d.due_at = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)

    await db.write(run)
    return dossier_id


async def deliveries_of(db: Database, dossier_id: int) -> list[Delivery]:
    return await db.read(lambda s: list(s.scalars(
        select(Delivery).join(Notification, Notification.id == Delivery.notification_id)
        .where(Notification.dossier_id == dossier_id).order_by(Delivery.id))))


async def drained(db: Database, settings: Any, timeout: float) -> int:  # noqa: ASYNC109
    """A worker started, drained until nothing is left (or ``timeout``), and closed; what it handled."""
    worker = Worker(db, settings)
    try:
        return await worker.drain(timeout=timeout)
    finally:
        await worker.close()


async def drain_until(worker: Worker, done: Any, timeout: float = 15.0) -> None:  # noqa: ASYNC109
    """Run the worker until ``await done()`` is true; bounded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await worker.run_once()
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not done within {timeout} s")


# --- the outbox ------------------------------------------------------------------------------------
async def test_outbox_rows_live_and_die_with_the_event(db: Database, settings: Any, push: PushService) -> None:
    uid, _sub, _ = await citizen_with_device(db, push, email="an@example.org", verified_email=True,
                                             phone="+84912000001", verified_phone=True)
    dossier_id = await db.write(make_draft, uid)

    def fail_after_firing(session: Any) -> None:
        fire(session, session.get(Dossier, dossier_id), "submit", actor_id=uid, actors={Actor.APPLICANT})
        raise RuntimeError("the filing failed after the transition")

    with pytest.raises(RuntimeError):
        await db.write(fail_after_firing)
    count = await db.read(lambda s: s.scalar(select(func.count()).select_from(Notification)
                                             .where(Notification.dossier_id == dossier_id)))
    assert count == 0  # rolled back with the event: nothing to send

    # a code submit_draft's default ("…-260217-<id>") never gives: the code column is unique, and a fixed
    # "…-260217-0042" clashed with whichever test submitted dossier 42 (the flake, in isolation or reordered)
    await submit_draft(db, uid, code="000.00.99.H56-260218-0042", dossier_id=dossier_id)
    notes = await db.read(lambda s: list(s.scalars(select(Notification).where(Notification.dossier_id == dossier_id))))
    assert [n.event for n in notes] == ["dossier.submitted"]
    context = json.loads(notes[0].context)
    # the code is given after fire() in the same transaction: the outbox row shows it (read at commit)
    assert context["dossier_code"] == "000.00.99.H56-260218-0042" and context["due_date"] == "20/02/2026"
    assert context["procedure_name"] == await db.read(procedure_name, dossier_id)
    channels = sorted(d.channel for d in await deliveries_of(db, dossier_id))
    assert channels == ["webpush"]  # no SMTP server configured here; SMS is off unless asked for


async def test_preferences_and_verified_addresses_choose_channels(db: Database, database_url: str,
                                                                  push: PushService) -> None:
    with notify_env(MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT="2"):
        uid, _sub, _ = await citizen_with_device(db, push, email="binh@example.org", verified_email=True,
                                                 phone="+84912000002", verified_phone=True)
        unverified, _s2, _ = await citizen_with_device(db, push, email="chua@example.org", verified_email=False)

        def prefs(session: Any) -> None:
            preferences.update(
                session, uid, {("dossier.received", "sms"): True, ("dossier.received", "webpush"): False}
            )

        await db.write(prefs)

        def send(session: Any) -> tuple[int, int]:
            a = enqueue(session, uid, "dossier.received", {"dossier_code": "A", "procedure_name": "P", "due_date": "x"})
            b = enqueue(session, unverified, "dossier.received",
                        {"dossier_code": "B", "procedure_name": "P", "due_date": "x"})
            assert a is not None and b is not None
            return a.id, b.id

        a_id, b_id = await db.write(send)
        rows = await db.read(
            lambda s: list(s.scalars(select(Delivery).where(Delivery.notification_id.in_((a_id, b_id)))))
        )
        by = {(d.notification_id, d.channel) for d in rows}
        assert by == {(a_id, "email"), (a_id, "sms"), (b_id, "webpush")}


# --- Web Push end to end ------------------------------------------------------------------------------
async def test_status_change_reaches_the_device(db: Database, settings: Any, push: PushService) -> None:
    uid, sub, sub_id = await citizen_with_device(db, push)
    dossier_id = await submit_draft(db, uid)
    worker = Worker(db, settings)
    try:
        assert await worker.drain(timeout=15) >= 1
    finally:
        await worker.close()
    assert push.wait_for(1, timeout=5, sub=sub)
    msg = push.messages(sub)[-1]
    payload = msg.payload
    note = await db.read(lambda s: s.scalar(select(Notification).where(Notification.dossier_id == dossier_id)))
    assert payload["id"] == note.message_id and payload["url"] == f"/ho-so/{dossier_id}"
    assert payload["open"] == f"/thong-bao/{note.id}/mo" and payload["badge"] >= 1 and payload["lang"] == "vi"
    assert payload["title"].startswith("Đã nộp hồ sơ 000.00.99.H56-260217-")
    assert msg.headers["TTL"] == "345600" and msg.headers["Urgency"] == "normal"
    assert msg.headers["Topic"] == f"dossier-{dossier_id}" == payload["tag"]
    assert msg.claims["aud"] == push.origin and msg.claims["sub"].startswith("mailto:")
    [d] = await deliveries_of(db, dossier_id)
    assert (d.status, d.attempts, d.locked_until) == ("delivered", 1, None)
    attempts = await db.read(lambda s: list(s.scalars(select(Attempt).where(Attempt.delivery_id == d.id))))
    assert [(a.outcome, a.http_status) for a in attempts] == [("delivered", 201)]
    last = await db.read(lambda s: s.get(PushSubscription, sub_id).last_success_at)
    assert last is not None


async def test_english_device_gets_english(db: Database, settings: Any, push: PushService) -> None:
    sub = push.subscribe()
    uid = await db.write(make_user)
    await db.write(subscribe_user, uid, sub, "en")
    await submit_draft(db, uid)
    await drained(db, settings, timeout=15)
    assert push.wait_for(1, timeout=5, sub=sub)
    payload = push.messages(sub)[-1].payload
    assert payload["lang"] == "en" and payload["title"].startswith("Dossier ") and "filed" in payload["title"]


async def test_429_and_500_are_retried_honouring_retry_after(db: Database, settings: Any, push: PushService) -> None:
    uid, sub, _ = await citizen_with_device(db, push)
    push.script(sub, ("status", (429, {"Retry-After": "1"})), ("status", (500, {})))
    dossier_id = await submit_draft(db, uid)
    worker = Worker(db, settings, seed=1)
    try:
        started = time.monotonic()
        before = datetime.now(UTC)
        assert await worker.run_once() == 1
        after = datetime.now(UTC)
        [d] = await deliveries_of(db, dossier_id)
        assert d.status == "sending" and d.locked_until is None and "429" in d.last_error
        retry_at = d.next_attempt_at.replace(tzinfo=d.next_attempt_at.tzinfo or UTC)
        # Retry-After: 1 (more than the 0.05 s back-off), counted from the answer, whatever the machine's load
        assert before.timestamp() + 0.95 <= retry_at.timestamp() <= after.timestamp() + 1.1, (before, retry_at, after)

        async def delivered() -> bool:
            return (await deliveries_of(db, dossier_id))[0].status == "delivered"

        await drain_until(worker, delivered)
        assert time.monotonic() - started >= 0.9
    finally:
        await worker.close()
    [d] = await deliveries_of(db, dossier_id)
    attempts = await db.read(lambda s: list(s.scalars(select(Attempt).where(Attempt.delivery_id == d.id)
                                                      .order_by(Attempt.number))))
    assert [(a.outcome, a.http_status) for a in attempts] == [("retry", 429), ("retry", 500), ("delivered", 201)]
    assert push.wait_for(1, timeout=2, sub=sub)


async def test_gone_subscription_is_removed(db: Database, settings: Any, push: PushService) -> None:
    uid, sub, sub_id = await citizen_with_device(db, push)
    push.unsubscribe(sub)  # the browser unsubscribed: 410 Gone
    dossier_id = await submit_draft(db, uid)
    await drained(db, settings, timeout=10)
    [d] = await deliveries_of(db, dossier_id)
    assert d.status == "permanent-failure" and "410" in d.last_error and d.subscription_id is None
    assert await db.read(lambda s: s.get(PushSubscription, sub_id)) is None
    second = await submit_draft(db, uid)
    assert await deliveries_of(db, second) == []  # nothing left to push to


async def test_hanging_push_service_times_out_then_fails_after_the_cap(db: Database, database_url: str,
                                                                        push: PushService) -> None:
    with notify_env(MOTCUA_PUSH_TIMEOUT_SECONDS="0.5", MOTCUA_NOTIFY_MAX_ATTEMPTS="2") as s:
        uid, sub, _ = await citizen_with_device(db, push)
        push.script(sub, ("hang", 30), ("hang", 30))
        dossier_id = await submit_draft(db, uid)
        worker = Worker(db, s)
        started = time.monotonic()
        try:
            async def final() -> bool:
                return (await deliveries_of(db, dossier_id))[0].status != "sending"

            await drain_until(worker, final, timeout=10)
        finally:
            await worker.close()
            push.release_hangs()
        assert time.monotonic() - started < 8  # two 0.5 s timeouts and a short back-off, never stuck
    [d] = await deliveries_of(db, dossier_id)
    assert d.status == "temporary-failure" and d.attempts == 2 and "did not answer" in d.last_error
    attempts = await db.read(lambda s_: [a.outcome for a in s_.scalars(
        select(Attempt).where(Attempt.delivery_id == d.id).order_by(Attempt.number))])
    assert attempts == ["retry", "temporary-failure"]
    rows, _total = await db.read(failed, limit=500)
    assert d.id in {r.delivery_id for r in rows}  # the admins see it
    await db.write(retry_delivery, d.id)  # and may send it again
    assert (await deliveries_of(db, dossier_id))[0].status == "created"


async def test_private_endpoints_are_refused_before_connecting(db: Database, database_url: str,
                                                               push: PushService) -> None:
    with notify_env(MOTCUA_PUSH_ALLOW_LOOPBACK="") as s:
        assert not s.allow_loopback
        uid = await db.write(make_user)
        sub = push.subscribe()

        def sneak_in(session: Any) -> None:  # rows written past the API's checks (or DNS changed since)
            for endpoint in (sub.endpoint, "https://10.1.2.3/push/x", "https://[::ffff:192.168.0.1]/push/y",
                             f"https://localhost:{push.port}/push/{sub.token}"):
                session.add(
                    PushSubscription(
                        user_id=uid,
                        endpoint=endpoint,
                        endpoint_hash=endpoint[-64:].rjust(64, "0"),
                        p256dh=sub.p256dh,
                        auth=b64e(sub.auth),
                        lang="vi",
                        user_agent="",
                        created_at=datetime.now(UTC),
                    )
                )

        await db.write(sneak_in)
        before = push.requests
        dossier_id = await submit_draft(db, uid)
        worker = Worker(db, s)
        try:
            await worker.drain(timeout=10)
        finally:
            await worker.close()
        rows = await deliveries_of(db, dossier_id)
        assert len(rows) == 4
        assert {d.status for d in rows} == {"technical-failure"}
        assert all("private" in d.last_error or "local" in d.last_error for d in rows), [d.last_error for d in rows]
        assert push.requests == before  # not one connection reached the push service


async def test_ssrf_checks_with_a_resolver() -> None:
    answers = {"push.example": ["93.184.216.34"], "evil.example": ["93.184.216.34", "10.0.0.7"],
               "meta.example": ["169.254.169.254"], "v6.example": ["fd00::1"], "nat64.example": ["64:ff9b::a00:1"]}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    ok = await ssrf.check_endpoint("https://push.example/x", allow_http=False, allow_loopback=False, resolve=resolve)
    assert ok == ["93.184.216.34"]
    for url in ("https://evil.example/x", "https://meta.example/x", "https://v6.example/", "https://nat64.example/",
                "https://127.0.0.1/x", "https://0.0.0.0/", "https://100.64.1.1/", "https://[::1]/",
                "https://224.0.0.1/", "http://push.example/x", "https://user:pw@push.example/",
                "ftp://push.example/", "https:///nohost", "https://push.example/x#frag", "https://push.example/\n"):
        with pytest.raises(ssrf.EndpointRefused):
            await ssrf.check_endpoint(url, allow_http=False, allow_loopback=False, resolve=resolve)
    assert await ssrf.check_endpoint("http://127.0.0.1:9/x", allow_http=True, allow_loopback=True) == ["127.0.0.1"]
    with pytest.raises(ssrf.EndpointRefused):  # loopback allowed does not open private ranges
        await ssrf.check_endpoint("http://10.0.0.1/x", allow_http=True, allow_loopback=True)


# --- crash safety and several workers ----------------------------------------------------------------
async def test_a_delivery_sent_twice_carries_one_message_id(db: Database, settings: Any, push: PushService) -> None:
    """At least once: a worker that sent but died before recording is retried; the receiver sees the
    same message id twice and keeps one."""
    uid, sub, _ = await citizen_with_device(db, push)
    dossier_id = await submit_draft(db, uid)
    short = dataclasses.replace(settings, lease_seconds=0.3)
    jobs, _ = await db.write(claim, "doomed-worker", short, limit=10)
    mine = [j for j in jobs if j.subscription_id is not None and j.push is not None
            and j.push.endpoint == sub.endpoint]
    assert len(mine) == 1
    doomed = Worker(db, short)
    try:
        await doomed._send(mine[0])  # sent... and the worker "dies" before recording it
    finally:
        await doomed.close()
    await asyncio.sleep(0.4)  # the lease runs out
    await drained(db, settings, timeout=10)
    assert push.wait_for(2, timeout=5, sub=sub)
    ids = [m.payload["id"] for m in push.messages(sub)]
    assert len(ids) == 2 and len(set(ids)) == 1
    [d] = await deliveries_of(db, dossier_id)
    outcomes = await db.read(lambda s: [a.outcome for a in s.scalars(
        select(Attempt).where(Attempt.delivery_id == d.id).order_by(Attempt.number))])
    assert d.status == "delivered" and outcomes == ["interrupted", "delivered"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_worker_process_killed_mid_send_loses_nothing(db: Database, database_url: str,
                                                            push: PushService) -> None:
    values = {"MOTCUA_PUSH_TIMEOUT_SECONDS": "3", "MOTCUA_NOTIFY_LEASE_SECONDS": "7",
              "MOTCUA_SMTP_TIMEOUT_SECONDS": "1"}
    with notify_env(**values) as s:
        uid, sub, _ = await citizen_with_device(db, push)
        push.script(sub, ("hang", 60))
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "worker"], cwd=ROOT,  # noqa: ASYNC220
                                env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            dossier_id = await submit_draft(db, uid)
            assert await asyncio.to_thread(push.wait_in_flight, sub, 20), "the worker process never sent"
            proc.send_signal(signal.SIGKILL)  # mid-send: the push service holds the request open
            await asyncio.to_thread(proc.wait, 10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            push.release_hangs()
        [d] = await deliveries_of(db, dossier_id)
        assert d.status == "sending" and d.locked_until is not None  # taken, and its taker is dead
        worker = Worker(db, s)
        try:
            async def delivered() -> bool:
                return (await deliveries_of(db, dossier_id))[0].status == "delivered"

            await drain_until(worker, delivered, timeout=20)  # once the 7 s lease has run out
        finally:
            await worker.close()
    assert push.wait_for(1, timeout=5, sub=sub)
    [d] = await deliveries_of(db, dossier_id)
    outcomes = await db.read(lambda s_: [a.outcome for a in s_.scalars(
        select(Attempt).where(Attempt.delivery_id == d.id).order_by(Attempt.number))])
    assert outcomes == ["interrupted", "delivered"]


async def test_several_workers_never_send_twice(db: Database, database_url: str, settings: Any,
                                                push: PushService) -> None:
    if not database_url.startswith("postgresql"):
        lock = sqlite_lock(db)
        try:
            with pytest.raises(WorkerBusy):
                sqlite_lock(Database(database_url))
        finally:
            assert lock is not None
            lock.close()
        pytest.skip("SQLite runs one worker (checked above); several workers are for PostgreSQL")
    subs = [push.subscribe() for _ in range(10)]

    def setup(session: Any) -> list[int]:
        ids = subscribed_people(session, subs)
        for uid in ids:
            for i in range(30):
                enqueue(session, uid, "dossier.received", {"dossier_code": f"C-{i}", "procedure_name": "P",
                                                           "due_date": "x"})
        return ids

    await db.write(setup)
    workers = [Worker(Database(database_url), settings, batch=25, concurrency=8, name=f"w{i}") for i in range(3)]
    try:
        await asyncio.gather(*(w.drain(timeout=60) for w in workers))
    finally:
        for w in workers:
            await w.close()
            await w.db.dispose()
    assert push.wait_for(300, timeout=10)
    tokens = {s.token for s in subs}
    got = [m.payload["id"] for m in push.messages() if m.token in tokens]
    assert len(got) == 300 and len(set(got)) == 300  # each exactly once
    assert sum(1 for w in workers if w.total.delivered) >= 2  # the work was shared


# --- e-mail over SMTP and SMS --------------------------------------------------------------------------
class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.answer: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
        if self.answer:
            return self.answer
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    handler, port = Inbox(), _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


async def test_email_over_smtp(db: Database, database_url: str, smtp: tuple[Inbox, int]) -> None:
    handler, port = smtp
    with notify_env(
        MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT=str(port), MOTCUA_MAIL_FROM="Dịch vụ công <tb@example.org>"
    ) as s:
        uid = await db.write(lambda session: make_user(session, email="dung@example.org", verified_email=True))
        dossier_id = await submit_draft(db, uid)
        worker = Worker(db, s)
        try:
            await worker.drain(timeout=15)
            [d] = await deliveries_of(db, dossier_id)
            assert d.status == "delivered" and d.channel == "email"
            [(rcpt, msg)] = handler.messages
            note = await db.read(
                lambda s_: s_.scalar(select(Notification).where(Notification.dossier_id == dossier_id))
            )
            assert rcpt == ["dung@example.org"] and msg["Subject"].startswith("Đã nộp hồ sơ 000.00.99.H56")
            assert msg["Message-ID"] == f"<{note.message_id}.{d.id}@example.org>" and msg["Content-Language"] == "vi"
            body = msg.get_payload(decode=True).decode()
            assert f"http://localhost:8000/ho-so/{dossier_id}" in body and "20/02/2026" in body

            handler.answer = "451 4.3.0 try later"
            second = await submit_draft(db, uid)
            await worker.run_once()
            [d2] = await deliveries_of(db, second)
            assert d2.status == "sending" and "451" in d2.last_error  # to be retried
            handler.answer = "550 5.1.1 no such mailbox"

            async def final() -> bool:
                return (await deliveries_of(db, second))[0].status != "sending"

            await drain_until(worker, final)
            [d2] = await deliveries_of(db, second)
            assert d2.status == "permanent-failure" and "550" in d2.last_error
        finally:
            await worker.close()


async def test_email_server_down_is_retried(db: Database, database_url: str) -> None:
    with notify_env(
        MOTCUA_SMTP_HOST="127.0.0.1", MOTCUA_SMTP_PORT=str(_free_port()), MOTCUA_NOTIFY_MAX_ATTEMPTS="2"
    ) as s:
        uid = await db.write(lambda session: make_user(session, email="e@example.org", verified_email=True))
        dossier_id = await submit_draft(db, uid)
        worker = Worker(db, s)
        try:
            async def final() -> bool:
                return (await deliveries_of(db, dossier_id))[0].status != "sending"

            await drain_until(worker, final)
        finally:
            await worker.close()
        [d] = await deliveries_of(db, dossier_id)
        assert d.status == "temporary-failure" and d.attempts == 2 and "SMTP connection failed" in d.last_error


async def test_phone_code_goes_by_sms_and_does_not_stay(db: Database, settings: Any,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    uid = await db.write(lambda session: make_user(session, phone="+84912000003"))

    class App:
        class state:  # mimics app.state
            pass

    App.state.db = db  # type: ignore[attr-defined]
    App.state.settings = settings_from_env()  # type: ignore[attr-defined]  # what the app was built with
    row = type("Row", (), {"user_id": uid, "channel": "phone", "destination": "+84912000003"})()
    with caplog.at_level(logging.INFO):
        await deliver_code(App, row, "246810")
        worker = Worker(db, settings)
        try:
            await worker.drain(timeout=10)
        finally:
            await worker.close()
    assert any("SMS to +84912000003" in r.getMessage() and "246810" in r.getMessage() for r in caplog.records)
    note = await db.read(lambda s: s.scalar(select(Notification).where(Notification.user_id == uid)))
    assert note.event == "code.phone" and not note.inbox
    assert "246810" not in note.context  # blanked once delivered
    d = await db.read(lambda s: s.scalar(select(Delivery).where(Delivery.notification_id == note.id)))
    assert (d.channel, d.status) == ("sms", "delivered")


async def test_worker_loop_wakes_on_commit_and_stops(db: Database, settings: Any, push: PushService) -> None:
    slow_poll = dataclasses.replace(settings, poll_seconds=30.0)  # only the commit hook can wake it in time
    uid, sub, _ = await citizen_with_device(db, push)
    stop = asyncio.Event()
    worker = Worker(db, slow_poll)
    task = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.3)  # idle now, waiting
        started = time.monotonic()
        await submit_draft(db, uid)
        assert await asyncio.to_thread(push.wait_for, 1, 5, sub)
        assert time.monotonic() - started < 2
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture(autouse=True)
def _clean_subscriptions(database_url: str) -> Iterator[None]:
    """Subscriptions made by one test must not receive another's pushes."""
    yield
    db = Database(database_url)
    db.run(lambda s: s.execute(delete(PushSubscription)))
    settings_from_env()


def test_lease_longer_than_timeouts_is_required(database_url: str) -> None:
    with pytest.raises(SettingsError, match="LEASE"), notify_env(MOTCUA_NOTIFY_LEASE_SECONDS="3",
                                                                 MOTCUA_PUSH_TIMEOUT_SECONDS="2"):
        pass



async def test_officers_get_one_due_date_reminder_a_day(db: Database, settings: Any) -> None:
    def setup(session: Any) -> tuple[int, int, int]:
        citizen = make_user(session)
        officer = make_user(session, kind="officer")
        soon, later = make_draft(session, citizen), make_draft(session, citizen)
        now = datetime.now(UTC)
        for dossier_id, due in ((soon, now + timedelta(hours=6)), (later, now + timedelta(days=5))):
            d = session.get(Dossier, dossier_id)
            d.status, d.assignee_id, d.due_at, d.code = "processing", officer, due, f"R-{dossier_id}"
        return officer, soon, later

    officer, soon, later = await db.write(setup)
    assert await db.write(remind_officers) >= 1
    notes = await db.read(lambda s: list(s.scalars(select(Notification).where(Notification.user_id == officer))))
    assert [(n.event, n.dossier_id) for n in notes] == [("officer.reminder", soon)]
    assert json.loads(notes[0].context)["dossier_code"] == f"R-{soon}"
    assert await db.write(remind_officers) == 0  # once a day, however often the worker looks
    assert templates.get("officer.reminder").url_for({"dossier_id": soon}) == f"/can-bo/ho-so/{soon}"


async def test_payment_events_for_the_payments_state_machine(db: Database, settings: Any) -> None:
    def run(session: Any) -> tuple[int, list[str]]:
        uid = make_user(session)
        dossier_id = make_draft(session, uid)
        session.get(Dossier, dossier_id).code = f"P-{dossier_id}"
        made = [payment_event(session, dossier_id, 1250000, status) for status in ("started", "success", "failed")]
        return dossier_id, [n.event for n in made if n is not None]

    dossier_id, events = await db.write(run)
    assert events == ["payment.succeeded", "payment.failed"]
    notes = await db.read(lambda s: list(s.scalars(select(Notification).where(Notification.dossier_id == dossier_id)
                                                   .order_by(Notification.id))))
    first = item(notes[0], "vi")
    assert first.title == "Đã thanh toán 1.250.000\u00a0₫" and f"P-{dossier_id}" in first.body
