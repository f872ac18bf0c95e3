"""The notification worker: takes due deliveries from the outbox, sends them, records every attempt.

One loop, three steps, each bounded:

1. **claim** (one short write transaction): up to ``batch`` deliveries that are due — new ones,
   retries whose time has come, and ones whose worker died mid-send (lease run out) — locked with
   ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers never take the same row; on
   SQLite the write lock serialises claims and a file lock keeps to one worker per database. Each
   claimed delivery becomes ``sending`` with a lease (``locked_until``) and an open attempt row.
2. **send** outside any transaction, concurrently, every call with a timeout.
3. **record** (one write transaction): delivered, a retry later (exponential back-off with jitter,
   at least what ``Retry-After`` asked, capped), or a final failure. After ``max_attempts`` a retryable
   failure becomes ``temporary-failure`` and shows on the admins' failed list.

A worker killed between 1 and 3 leaves its deliveries ``sending`` with a lease; when the lease has
run out the next claim takes them again (its open attempt is closed as ``interrupted``): delivery is
at least once, and receivers de-duplicate by the message id carried in every payload and e-mail.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import msgspec
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from domain.db import Database, tx_state
from domain.errors import Conflict, NotFound
from domain.outbox import enqueue as outbox
from domain.outbox import templates
from domain.outbox.models import (
    CREATED,
    FAILED,
    PENDING,
    SENDING,
    TEMPORARY_FAILURE,
    Attempt,
    Delivery,
    Notification,
    NotificationProfile,
    PushSubscription,
)
from domain.outbox.models import DELIVERED as STATUS_DELIVERED
from domain.settings import NotifySettings
from notifications.channels import DELIVERED, RETRY, TECHNICAL, Result
from notifications.channels import email as email_channel
from notifications.channels import sms as sms_channel
from notifications.channels.webpush import PushMessage, PushSender, topic_for
from notifications.reminders import remind_officers

log = logging.getLogger("motcua.worker")
REDACTED = "••••••"
SMTP_CONCURRENCY = 4
REMINDERS_EVERY = 300.0  # seconds between two looks for dossiers due soon


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Job:
    delivery_id: int
    attempt_id: int
    number: int
    channel: str
    notification_id: int
    event: str
    message_id: str
    subscription_id: int | None = None
    push: PushMessage | None = None
    mail: email_channel.Mail | None = None
    sms: tuple[str, str] | None = None  # (to, text)


@dataclass
class Stats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    interrupted: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def backoff(settings: NotifySettings, attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Seconds until the next try: base × 2^(n-1) with ±20 % jitter, capped; never less than the
    receiver's Retry-After (itself capped)."""
    delay: float = min(settings.backoff_cap_seconds, settings.backoff_seconds * (2 ** max(0, attempt - 1)))
    delay *= rng.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.max_retry_after_seconds))
    return delay


# --- step 1: claim ------------------------------------------------------------------------------
def claim(session: Session, worker: str, settings: NotifySettings, *, limit: int,
          now: datetime | None = None) -> tuple[list[Job], int]:
    """Take up to ``limit`` due deliveries for this worker; returns (jobs, interrupted attempts closed)."""
    now = now or _now()
    rows = list(session.scalars(
        select(Delivery)
        .where(Delivery.status.in_(PENDING), Delivery.next_attempt_at <= now,
               or_(Delivery.locked_until.is_(None), Delivery.locked_until < now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)))
    if not rows:
        return [], 0
    ids = [d.id for d in rows]
    interrupted = 0
    stale = [d.id for d in rows if d.locked_until is not None]
    if stale:  # their worker died mid-send: close the attempt it left open
        for a in session.scalars(select(Attempt).where(Attempt.delivery_id.in_(stale), Attempt.finished_at.is_(None))):
            a.finished_at, a.outcome = now, "interrupted"
            a.detail = "the worker stopped before recording an answer; sending again"
            interrupted += 1
    notes = {n.id: n for n in session.scalars(
        select(Notification).where(Notification.id.in_({d.notification_id for d in rows})))}
    subs = {s.id: s for s in session.scalars(select(PushSubscription).where(
        PushSubscription.id.in_({d.subscription_id for d in rows if d.subscription_id is not None})))}
    users = {n.user_id for n in notes.values()}
    langs = {p.user_id: p.lang for p in session.scalars(
        select(NotificationProfile).where(NotificationProfile.user_id.in_(users)))}
    unread = dict(session.execute(
        select(Notification.user_id, func.count()).where(
            Notification.user_id.in_(users), Notification.inbox.is_(True), Notification.read_at.is_(None))
        .group_by(Notification.user_id)).all())
    jobs: list[Job] = []
    attempts: list[tuple[Job, Attempt]] = []
    for d in rows:
        n = notes[d.notification_id]
        if d.attempts >= settings.max_attempts:
            _finish(d, n, TEMPORARY_FAILURE, f"gave up after {d.attempts} attempts (last one interrupted)", now)
            continue
        try:
            job = _job(d, n, subs, langs, unread, settings)
        except templates.TemplateError as exc:
            _finish(d, n, "technical-failure", f"template: {exc}", now)
            continue
        except _Unsendable as exc:
            _finish(d, n, exc.status, str(exc), now)
            continue
        d.attempts += 1
        d.status, d.locked_until, d.locked_by, d.updated_at = SENDING, now + timedelta(
            seconds=settings.lease_seconds), worker, now
        job.number = d.attempts
        attempt = Attempt(delivery_id=d.id, number=d.attempts, worker=worker, started_at=now, outcome="", detail="")
        session.add(attempt)
        attempts.append((job, attempt))
    session.flush()
    for job, attempt in attempts:
        job.attempt_id = attempt.id
        jobs.append(job)
    log.debug("claimed %d of %d due deliveries", len(jobs), len(ids))
    return jobs, interrupted


class _Unsendable(Exception):
    def __init__(self, status: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def _job(d: Delivery, n: Notification, subs: dict[int, PushSubscription], langs: dict[int, str],
         unread: dict[int, int], settings: NotifySettings) -> Job:
    tpl = templates.get(n.event)
    values = json.loads(n.context or "{}")
    values["link"] = settings.public_url + tpl.url_for(values)
    job = Job(delivery_id=d.id, attempt_id=0, number=0, channel=d.channel, notification_id=n.id, event=n.event,
              message_id=n.message_id, subscription_id=d.subscription_id)
    if d.channel == "webpush":
        sub = subs.get(d.subscription_id) if d.subscription_id is not None else None
        if sub is None:
            raise _Unsendable("permanent-failure", "the device unsubscribed before it could be sent")
        if not settings.push_enabled:
            raise _Unsendable("technical-failure", "Web Push is not configured (MOTCUA_VAPID_PRIVATE_KEY)")
        r = tpl.render(sub.lang, values)
        topic = topic_for(n.dossier_id, n.event)
        payload = {"id": n.message_id, "event": n.event, "title": r.title, "body": r.body, "url": r.url,
                   "open": f"/thong-bao/{n.id}/mo" if n.inbox else r.url, "tag": topic or n.message_id,
                   "lang": r.lang, "badge": unread.get(n.user_id, 0),
                   "ts": int(_utc(n.created_at).timestamp() * 1000) if n.created_at else 0}  # type: ignore[union-attr]
        job.push = PushMessage(endpoint=sub.endpoint, p256dh=sub.p256dh, auth=sub.auth, payload=payload,
                               ttl=tpl.ttl, urgency=tpl.urgency, topic=topic)
    elif d.channel == "email":
        r = tpl.render(langs.get(n.user_id, "vi"), values)
        job.mail = email_channel.Mail(to=d.destination, subject=r.subject, text=r.email,
                                      message_id=f"{n.message_id}.{d.id}", lang=r.lang)
    elif d.channel == "sms":
        r = tpl.render(langs.get(n.user_id, "vi"), values)
        job.sms = (d.destination, r.sms)
    else:
        raise _Unsendable("technical-failure", f"unknown channel {d.channel!r}")
    return job


def _finish(d: Delivery, n: Notification, status: str, detail: str, now: datetime) -> None:
    d.status, d.locked_until, d.last_error, d.updated_at = status, None, detail[:2000], now
    if status == STATUS_DELIVERED:
        d.delivered_at = now
    _redact(n)


def _redact(n: Notification) -> None:
    """One-time codes do not outlive their delivery in the database."""
    try:
        sensitive = templates.get(n.event).sensitive
    except templates.TemplateError:
        return
    if sensitive:
        values = json.loads(n.context or "{}")
        n.context = json.dumps({k: REDACTED for k in values})


# --- step 3: record -----------------------------------------------------------------------------
def record(session: Session, worker: str, settings: NotifySettings, outcomes: list[tuple[Job, Result]],
           *, now: datetime | None = None, rng: random.Random | None = None) -> Stats:
    now = now or _now()
    rng = rng or random.Random()
    stats = Stats()
    if not outcomes:
        return stats
    deliveries = {d.id: d for d in session.scalars(
        select(Delivery).where(Delivery.id.in_([j.delivery_id for j, _ in outcomes])))}
    attempts = {a.id: a for a in session.scalars(
        select(Attempt).where(Attempt.id.in_([j.attempt_id for j, _ in outcomes])))}
    notes = {n.id: n for n in session.scalars(
        select(Notification).where(Notification.id.in_({j.notification_id for j, _ in outcomes})))}
    gone: set[int] = set()
    delivered_subs: set[int] = set()
    for job, res in outcomes:
        attempt = attempts.get(job.attempt_id)
        d = deliveries.get(job.delivery_id)
        outcome = res.outcome
        if d is not None and d.status == SENDING and d.locked_by == worker and d.attempts == job.number:
            if res.outcome == DELIVERED:
                _finish(d, notes[d.notification_id], STATUS_DELIVERED, "", now)
                if job.subscription_id is not None:
                    delivered_subs.add(job.subscription_id)
                stats.delivered += 1
            elif res.outcome == RETRY and d.attempts < settings.max_attempts:
                delay = backoff(settings, d.attempts, res.retry_after, rng)
                d.next_attempt_at, d.locked_until, d.updated_at = now + timedelta(seconds=delay), None, now
                d.last_error = res.detail[:2000]
                stats.retried += 1
            else:
                final = TEMPORARY_FAILURE if res.outcome == RETRY else res.outcome
                detail = res.detail if res.outcome != RETRY else \
                    f"gave up after {d.attempts} attempts; last: {res.detail}"
                _finish(d, notes[d.notification_id], final, detail, now)
                outcome = final
                stats.failed += 1
            if res.remove_subscription and job.subscription_id is not None:
                gone.add(job.subscription_id)
        else:
            outcome = f"{res.outcome} (late)"  # our lease ran out and another worker took it meanwhile
        if attempt is not None:
            attempt.finished_at, attempt.outcome = now, outcome[:24]
            attempt.http_status, attempt.detail = res.http_status, res.detail[:2000]
        stats.outcomes[outcome] = stats.outcomes.get(outcome, 0) + 1
    if delivered_subs:
        for sub in session.scalars(select(PushSubscription).where(PushSubscription.id.in_(delivered_subs))):
            sub.last_success_at = now
    if gone:  # the push service says these devices unsubscribed (404/410): forget them
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        log.info("removed %d push subscription(s) the push service no longer knows", len(gone))
    session.flush()
    return stats


# --- the worker ---------------------------------------------------------------------------------
class Worker:
    def __init__(self, db: Database, settings: NotifySettings, *, name: str | None = None,
                 batch: int = 100, concurrency: int = 64, sms: sms_channel.SmsProvider | None = None,
                 resolve: Any = None, seed: int | None = None) -> None:
        self.db = db
        self.settings = settings  # the notifications section, handed in by the root that builds the worker
        self.name = name or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch = max(1, min(batch, 1000))
        self.concurrency = max(1, min(concurrency, 512))
        self.sms = sms or sms_channel.provider(self.settings)
        self._resolve = resolve
        self._push: PushSender | None = None
        self._push_gate = asyncio.Semaphore(self.concurrency)
        self._smtp_gate = asyncio.Semaphore(SMTP_CONCURRENCY)
        self.rng = random.Random(seed)
        self.total = Stats()

    def _sender(self) -> PushSender:
        if self._push is None:
            kwargs = {"resolve": self._resolve} if self._resolve is not None else {}
            self._push = PushSender(self.settings, concurrency=self.concurrency, **kwargs)
        return self._push

    async def close(self) -> None:
        if self._push is not None:
            await self._push.close()
            self._push = None

    async def _send(self, job: Job) -> Result:
        try:
            if job.push is not None:
                async with self._push_gate:
                    return await asyncio.wait_for(self._sender().send(job.push), self.settings.push_timeout + 5)
            if job.mail is not None:
                async with self._smtp_gate:
                    return await asyncio.wait_for(
                        asyncio.to_thread(email_channel.send_sync, self.settings, job.mail),
                        self.settings.smtp_timeout * 4 + 5)
            if job.sms is not None:
                return await asyncio.wait_for(self.sms.send(job.sms[0], job.sms[1], job.message_id),
                                              self.settings.push_timeout + 5)
        except TimeoutError:
            return Result(RETRY, "the send took too long and was abandoned")
        except Exception as exc:  # one bad message must not stop the others
            log.exception("sending delivery %s failed unexpectedly", job.delivery_id)
            return Result(TECHNICAL, f"unexpected error: {type(exc).__name__}: {exc}")
        return Result(TECHNICAL, "nothing to send")

    async def run_once(self) -> int:
        """Claim one batch, send it, record it; the number of deliveries taken (0: nothing was due)."""
        jobs, interrupted = await self.db.write(claim, self.name, self.settings, limit=self.batch)
        self.total.interrupted += interrupted
        if not jobs:
            return 0
        results = await asyncio.gather(*(self._send(job) for job in jobs))
        stats = await self.db.write(record, self.name, self.settings, list(zip(jobs, results, strict=True)),
                                    rng=self.rng)
        self.total.claimed += len(jobs)
        self.total.delivered += stats.delivered
        self.total.retried += stats.retried
        self.total.failed += stats.failed
        for key, value in stats.outcomes.items():
            self.total.outcomes[key] = self.total.outcomes.get(key, 0) + value
        return len(jobs)

    async def drain(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109 - a deadline across batches
        """Run batches until nothing is due right now (tests, ``motcua worker --once``); bounded in time."""
        deadline = time.monotonic() + timeout
        taken = 0
        while time.monotonic() < deadline:
            n = await self.run_once()
            taken += n
            if n == 0:
                break
        return taken

    async def run(self, stop: asyncio.Event, *, listen: bool = True) -> None:
        """Until ``stop`` is set: batches back to back while there is work; otherwise wait for a commit
        in this process that enqueued something (``listen``) or the poll interval."""
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()

        def waker() -> None:
            loop.call_soon_threadsafe(woken.set)

        if listen:
            outbox.add_waker(waker)
        failures = 0
        next_reminders = 0.0
        log.info("notification worker %s started (batch %d, concurrency %d, poll %.2f s)", self.name, self.batch,
                 self.concurrency, self.settings.poll_seconds)
        try:
            while not stop.is_set():
                woken.clear()
                try:
                    if time.monotonic() >= next_reminders:
                        next_reminders = time.monotonic() + REMINDERS_EVERY
                        written = await self.db.write(remind_officers)
                        if written:
                            log.info("wrote %d due-date reminder(s) for officers", written)
                    taken = await self.run_once()
                    failures = 0
                except Exception:  # the database went away, say: log, wait, try again
                    failures += 1
                    log.exception("notification worker %s: a batch failed", self.name)
                    taken = 0
                    await _wait(stop, None, min(30.0, self.settings.poll_seconds * 2 ** min(failures, 6)))
                    continue
                if taken:
                    await asyncio.sleep(0)
                    continue
                await _wait(stop, woken, self.settings.poll_seconds)
        finally:
            if listen:
                outbox.remove_waker(waker)
            await self.close()
            log.info("notification worker %s stopped", self.name)


async def _wait(stop: asyncio.Event, woken: asyncio.Event | None, timeout: float) -> None:  # noqa: ASYNC109
    waiters = [asyncio.ensure_future(stop.wait())]
    if woken is not None:
        waiters.append(asyncio.ensure_future(woken.wait()))
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


# --- one worker per SQLite database ----------------------------------------------------------------
class WorkerBusy(RuntimeError):
    pass


def sqlite_lock(db: Database) -> IO[str] | None:
    """On SQLite, an exclusive file lock next to the database: one worker per database (the kernel
    releases it when the process dies). None on PostgreSQL, where workers share by SKIP LOCKED."""
    if not db.is_sqlite:
        return None
    path = db.url.split("///", 1)[1] if "///" in db.url else ""
    if not path or path == ":memory:":
        return None
    lock_path = Path(path + ".worker.lock")
    fh = lock_path.open("a+")
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise WorkerBusy(f"another notification worker is running on this SQLite database ({lock_path}); "
                         "SQLite takes one worker (use PostgreSQL for several)") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()}\n")
    fh.flush()
    return fh


@dataclass
class Running:
    task: asyncio.Task[None]
    stop: asyncio.Event
    lock: IO[str] | None

    async def stop_and_wait(self, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        self.stop.set()
        try:
            await asyncio.wait_for(self.task, timeout)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        finally:
            if self.lock is not None:
                self.lock.close()


async def start_embedded(db: Database, settings: NotifySettings) -> Running | None:
    """The worker inside the web process (``make run``): a task on the app's event loop."""
    try:
        lock = sqlite_lock(db)
    except WorkerBusy as exc:
        log.warning("embedded notification worker not started: %s", exc)
        return None
    stop = asyncio.Event()
    worker = Worker(db, settings)
    task = asyncio.create_task(worker.run(stop), name="notification-worker")
    return Running(task=task, stop=stop, lock=lock)


@contextlib.asynccontextmanager
async def embedded(db: Database, settings: NotifySettings) -> AsyncIterator[Running | None]:
    """The embedded worker for the app's lifespan when ``settings.embedded_worker`` (else nothing)."""
    running = await start_embedded(db, settings) if settings.embedded_worker else None
    try:
        yield running
    finally:
        if running is not None:
            await running.stop_and_wait()


# --- admin views --------------------------------------------------------------------------------
class FailedOut(msgspec.Struct, frozen=True):
    # returned as is by the API: its name is the OpenAPI component's, its fields the JSON's
    delivery_id: int
    notification_id: int
    user_id: int
    event: str
    channel: str
    status: str
    attempts: int
    last_error: str
    updated_at: datetime
    dossier_id: int | None


def failed(session: Session, *, limit: int = 100, offset: int = 0) -> tuple[list[FailedOut], int]:
    query = select(Delivery, Notification).join(Notification, Notification.id == Delivery.notification_id) \
        .where(Delivery.status.in_(FAILED))
    total = session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status.in_(FAILED))) or 0
    rows = session.execute(query.order_by(Delivery.updated_at.desc(), Delivery.id.desc())
                           .limit(limit).offset(offset)).all()
    return [FailedOut(delivery_id=d.id, notification_id=n.id, user_id=n.user_id, event=n.event, channel=d.channel,
                      status=d.status, attempts=d.attempts, last_error=d.last_error, updated_at=d.updated_at,
                      dossier_id=n.dossier_id) for d, n in rows], total


def retry_delivery(session: Session, delivery_id: int) -> Delivery:
    """An admin sends a failed delivery again (a new round of attempts)."""
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise NotFound("Không tìm thấy lượt gửi.")
    if d.status not in FAILED:
        raise Conflict("Chỉ gửi lại được lượt gửi đã thất bại.")
    n = session.get(Notification, d.notification_id)
    if n is not None and templates.get(n.event).sensitive:
        raise Conflict("Mã dùng một lần không được gửi lại; người dùng cần yêu cầu mã mới.")
    if d.channel == "webpush" and d.subscription_id is None:
        raise Conflict("Thiết bị đã hủy đăng ký nhận thông báo; không còn nơi để gửi.")
    now = _now()
    d.status, d.attempts, d.next_attempt_at, d.locked_until, d.updated_at = CREATED, 0, now, None, now
    tx_state(session).wake_worker = True  # wake the worker after commit
    return d
