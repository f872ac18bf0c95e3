"""A local push service for the tests (and the benchmark): RFC 8030 on 127.0.0.1, and the browser too.

It hands out subscriptions like a browser would (a P-256 key pair and a 16-byte auth secret per
subscription, the private half kept here) and accepts push messages on ``POST /push/<token>``:

* the request must carry ``TTL`` (RFC 8030 §5.2), ``Content-Encoding: aes128gcm``, a valid ``Urgency``
  and ``Topic`` if present, and ``Authorization: vapid t=<JWT>, k=<key>`` (RFC 8292): an ES256 JWT
  signed by ``k`` whose ``aud`` is this service's origin, ``exp`` in the future and at most 24 h
  away, and ``sub`` a mailto: or https: URI; a subscription made with an application server key only
  takes messages signed by that key (403 otherwise);
* the body (≤ 4096 bytes) is decrypted with the subscription's private key — RFC 8291 + RFC 8188,
  implemented here on its own with ``cryptography`` (:func:`decrypt`), so the sender's encryption is
  checked by an independent implementation — and kept as a :class:`Received` message;
* answers 201 Created with a ``Location``; an unknown subscription gets 404, a removed one 410.

Tests script failures per subscription: a status code (with headers, e.g. ``Retry-After``) for the
next N requests, or a hang (the request is held open) to exercise timeouts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import json as _json
import multiprocessing
import os
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from domain.accounts.models import User
from domain.catalog.models import Procedure, Unit
from domain.dossiers.filing import ensure_form
from domain.dossiers.models import Dossier, FormRevision
from domain.settings import SettingsError
from notifications.channels.webpush import SubscriptionIn, generate_keys, save_subscription
from tests.helpers import settings_from_env

URGENCIES = ("very-low", "low", "normal", "high")
B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64d(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        text = text.decode()
    text = text.strip().rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


class DecryptError(ValueError):
    pass


def decrypt(body: bytes, ua_private: ec.EllipticCurvePrivateKey, auth_secret: bytes) -> bytes:
    """RFC 8291 (Web Push message encryption) over RFC 8188 ``aes128gcm``: the user agent's side."""
    if len(body) < 21:
        raise DecryptError("too short for an aes128gcm header")
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    keyid = body[21:21 + idlen]
    ciphertext = body[21 + idlen:]
    if rs < 18:
        raise DecryptError(f"record size {rs} too small")
    if idlen != 65 or keyid[:1] != b"\x04":
        raise DecryptError("keyid must be the application server's 65-byte public key")
    try:
        as_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)
    except ValueError:
        raise DecryptError("keyid is not a P-256 point") from None
    ua_public = ua_private.public_key().public_bytes(serialization.Encoding.X962,
                                                     serialization.PublicFormat.UncompressedPoint)
    ecdh_secret = ua_private.exchange(ec.ECDH(), as_public)
    prk_key = _hmac(auth_secret, ecdh_secret)
    ikm = _hmac(prk_key, b"WebPush: info\x00" + ua_public + keyid + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    aes = AESGCM(cek)
    out = b""
    records = [ciphertext[i:i + rs] for i in range(0, len(ciphertext), rs)] or [b""]
    for seq, record in enumerate(records):
        iv = (int.from_bytes(nonce, "big") ^ seq).to_bytes(12, "big")
        try:
            plain = aes.decrypt(iv, record, None)
        except Exception:  # cryptography's InvalidTag
            raise DecryptError(f"record {seq} does not decrypt (wrong key or corrupted)") from None
        last = seq == len(records) - 1
        stripped = plain.rstrip(b"\x00")
        if not stripped or stripped[-1:] != (b"\x02" if last else b"\x01"):
            raise DecryptError("bad padding delimiter")
        out += stripped[:-1]
    return out


@dataclass
class Subscription:
    token: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str
    app_server_key: str | None = None  # base64url, when the subscription is restricted (RFC 8292 §4.1)

    @property
    def p256dh(self) -> str:
        return b64e(self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                               serialization.PublicFormat.UncompressedPoint))

    def as_json(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives a page."""
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": self.p256dh, "auth": b64e(self.auth)}}


@dataclass
class Received:
    token: str
    message_id: str  # the service's own id (Location)
    plaintext: bytes
    headers: dict[str, str]
    claims: dict[str, Any]
    at: float  # time.monotonic()

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.plaintext))


@dataclass
class Rejected:
    token: str
    status: int
    reason: str


@dataclass
class Script:
    """What to answer the next requests for one subscription."""

    steps: deque[tuple[str, Any]] = field(default_factory=deque)  # ("status", (code, headers)) | ("hang", s)


class PushService:
    """Run with ``with PushService() as ps:`` (a thread with its own event loop, on 127.0.0.1)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, check_jwt: bool = True) -> None:
        self.host, self.port = host, port
        self.check_jwt = check_jwt
        self.subscriptions: dict[str, Subscription] = {}
        self.removed: set[str] = set()
        self.scripts: dict[str, Script] = {}
        self.received: list[Received] = []
        self.rejected: list[Rejected] = []
        self.requests = 0
        self.in_flight = 0
        self.holding: set[str] = set()
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self._hang_release: asyncio.Event | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> PushService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="pushservice", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the local push service did not start")

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._hang_release = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/push/{token}", self._push)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        loop.run_until_complete(site.start())
        server = getattr(site, "_server", None)
        if self.port == 0 and server is not None:
            self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def stop(self) -> None:
        if self._loop is None:
            return
        self.release_hangs()
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    # --- what tests use ---------------------------------------------------------------------------
    def subscribe(self, app_server_key: str | None = None) -> Subscription:
        token = secrets.token_urlsafe(16)
        sub = Subscription(token=token, private_key=ec.generate_private_key(ec.SECP256R1()),
                           auth=secrets.token_bytes(16), endpoint=f"{self.origin}/push/{token}",
                           app_server_key=app_server_key)
        with self._cond:
            self.subscriptions[token] = sub
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """The browser unsubscribed: further messages get 410 Gone."""
        with self._cond:
            self.subscriptions.pop(sub.token, None)
            self.removed.add(sub.token)

    def script(self, sub: Subscription, *steps: tuple[str, Any]) -> None:
        """E.g. ``script(sub, ("status", (429, {"Retry-After": "1"})), ("hang", 30))``."""
        with self._cond:
            self.scripts.setdefault(sub.token, Script()).steps.extend(steps)

    def release_hangs(self) -> None:
        """Let every held request go (later hangs hold again)."""
        def release() -> None:
            if self._hang_release is not None:
                self._hang_release.set()
            self._hang_release = asyncio.Event()

        if self._loop is not None:
            self._loop.call_soon_threadsafe(release)

    def messages(self, sub: Subscription | None = None) -> list[Received]:
        with self._cond:
            return [r for r in self.received if sub is None or r.token == sub.token]

    def wait_for(self, count: int, timeout: float = 10.0, sub: Subscription | None = None) -> bool:
        """Until at least ``count`` messages were received (for ``sub``, if given); bounded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([r for r in self.received if sub is None or r.token == sub.token]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def wait_in_flight(self, sub: Subscription, timeout: float = 10.0) -> bool:
        """Until a request for ``sub`` is being held open (a scripted hang); bounded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sub.token not in self.holding:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    # --- the RFC 8030 endpoint ----------------------------------------------------------------------
    def _reject(self, token: str, status: int, reason: str) -> web.Response:
        with self._cond:
            self.rejected.append(Rejected(token, status, reason))
            self._cond.notify_all()
        return web.json_response({"code": status, "reason": reason}, status=status)

    def _vapid(self, header: str, sub: Subscription) -> tuple[int, str, dict[str, Any]]:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            return 401, "Authorization must use the vapid scheme (RFC 8292)", {}
        parts = dict(p.strip().split("=", 1) for p in params.split(",") if "=" in p)
        token, key = parts.get("t", ""), parts.get("k", "")
        try:
            point = b64d(key)
            public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
        except (ValueError, TypeError):
            return 401, "k is not a P-256 public key", {}
        if sub.app_server_key is not None and b64d(sub.app_server_key) != point:
            return 403, "the message is not signed by the subscription's application server key", {}
        try:
            claims = jwt.decode(token, public, algorithms=["ES256"], audience=self.origin,
                                options={"require": ["aud", "exp", "sub"]})
        except jwt.InvalidAudienceError:
            return 401, "JWT aud is not this push service's origin", {}
        except jwt.ExpiredSignatureError:
            return 401, "JWT expired", {}
        except jwt.PyJWTError as exc:
            return 401, f"invalid JWT: {exc}", {}
        if int(claims["exp"]) > time.time() + 24 * 3600:
            return 401, "JWT exp is more than 24 hours away", {}
        if not str(claims["sub"]).startswith(("mailto:", "https:")):
            return 401, "JWT sub must be a mailto: or https: URI", {}
        return 0, "", claims

    async def _push(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        with self._cond:
            self.requests += 1
            sub = self.subscriptions.get(token)
            gone = token in self.removed
        if sub is None:
            return self._reject(token, 410 if gone else 404, "no such subscription")
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            return self._reject(token, 400, "TTL header is required (RFC 8030 §5.2)")
        if request.headers.get("Content-Encoding", "").lower() != "aes128gcm":
            return self._reject(token, 400, "Content-Encoding must be aes128gcm")
        urgency = request.headers.get("Urgency", "normal")
        if urgency not in URGENCIES:
            return self._reject(token, 400, f"bad Urgency {urgency!r}")
        topic = request.headers.get("Topic")
        if topic is not None and (not topic or len(topic) > 32 or set(topic) - B64URL):
            return self._reject(token, 400, "Topic must be at most 32 base64url characters")
        claims: dict[str, Any] = {}
        if self.check_jwt:
            status, reason, claims = self._vapid(request.headers.get("Authorization", ""), sub)
            if status:
                return self._reject(token, status, reason)
        body = await request.read()
        if len(body) > 4096:
            return self._reject(token, 413, "payload larger than 4096 bytes")
        try:
            plaintext = decrypt(body, sub.private_key, sub.auth)
        except DecryptError as exc:
            return self._reject(token, 400, f"cannot decrypt: {exc}")
        with self._cond:
            script = self.scripts.get(token)
            step = script.steps.popleft() if script and script.steps else None
        if step is not None and step[0] == "hang":
            with self._cond:
                self.in_flight += 1
                self.holding.add(token)
                self._cond.notify_all()
            try:
                assert self._hang_release is not None
                with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                    await asyncio.wait_for(self._hang_release.wait(), float(step[1]))
            finally:
                with self._cond:
                    self.in_flight -= 1
                    self.holding.discard(token)
            return self._reject(token, 503, "was hanging")
        if step is not None and step[0] == "status":
            code, headers = step[1]
            with self._cond:
                self.rejected.append(Rejected(token, code, "scripted"))
                self._cond.notify_all()
            return web.Response(status=code, headers=headers, text="scripted answer")
        message_id = uuid.uuid4().hex
        with self._cond:
            self.received.append(Received(token=token, message_id=message_id, plaintext=plaintext,
                                          headers=dict(request.headers), claims=claims, at=time.monotonic()))
            self._cond.notify_all()
        return web.Response(status=201, headers={"Location": f"{self.origin}/m/{message_id}", "TTL": ttl})


# --- helpers shared by the notification tests and bench/push_bench.py ------------------------------
NOTIFY_ENV_KEYS = ("MOTCUA_VAPID_PRIVATE_KEY", "MOTCUA_PUSH_ALLOW_LOOPBACK", "MOTCUA_NOTIFY_BACKOFF_SECONDS",
                   "MOTCUA_NOTIFY_BACKOFF_CAP_SECONDS", "MOTCUA_NOTIFY_MAX_ATTEMPTS", "MOTCUA_PUSH_TIMEOUT_SECONDS",
                   "MOTCUA_NOTIFY_LEASE_SECONDS", "MOTCUA_WORKER_POLL_SECONDS", "MOTCUA_SMTP_HOST", "MOTCUA_SMTP_PORT",
                   "MOTCUA_SMTP_TIMEOUT_SECONDS", "MOTCUA_MAIL_FROM", "MOTCUA_NOTIFY_MAX_RETRY_AFTER_SECONDS")


@contextlib.contextmanager
def notify_env(**values: str) -> Any:
    """Set notification settings (environment variables) for a block; the settings are read and
    installed again on the way in and out. Defaults: a fresh VAPID key, loopback push services allowed, fast retries."""
    defaults = {"MOTCUA_VAPID_PRIVATE_KEY": generate_keys()[0], "MOTCUA_PUSH_ALLOW_LOOPBACK": "1",
                "MOTCUA_NOTIFY_BACKOFF_SECONDS": "0.05", "MOTCUA_NOTIFY_BACKOFF_CAP_SECONDS": "0.2",
                "MOTCUA_PUSH_TIMEOUT_SECONDS": "2", "MOTCUA_NOTIFY_LEASE_SECONDS": "40",
                "MOTCUA_WORKER_POLL_SECONDS": "0.05"}
    wanted = {**defaults, **values}
    try:
        with mock.patch.dict(os.environ):  # the environment as it was, on the way out
            for key in set(NOTIFY_ENV_KEYS) | set(wanted):
                os.environ.pop(key, None)
            os.environ.update({k: v for k, v in wanted.items() if v != ""})
            yield settings_from_env().notifications
    finally:
        # read again, as a restarted process would: the outbox's channels follow the restored settings
        with contextlib.suppress(SettingsError):
            settings_from_env()


def make_user(session: Any, *, email: str | None = None, verified_email: bool = False, phone: str | None = None,
              verified_phone: bool = False, kind: str = "citizen") -> int:
    """A person straight in the database (no password: these tests do not sign in)."""
    now = datetime.now(UTC)
    user = User(username=email or phone or f"u{uuid.uuid4().hex[:12]}@example.org", full_name="Nguyễn Thị Bình",
                email=email, phone=phone, kind=kind, identity_level=1, created_at=now,
                email_verified_at=now if verified_email else None, phone_verified_at=now if verified_phone else None)
    session.add(user)
    session.flush()
    return int(user.id)


BENCH_PROCEDURE = "9.990001"
BENCH_UNIT = "000.00.99.H56"
TEST_PROCEDURE = "1.001193"  # birth registration, in the bundled catalogue


def make_draft(session: Any, owner_id: int) -> int:
    """A draft dossier ready for ``fire(..., "submit")``: of the catalogue's birth registration when the
    catalogue is loaded (tests), else of a small stand-in procedure made once (the benchmark's fresh
    database) — tests never add a procedure or a unit to the shared catalogue."""
    now = datetime.now(UTC)
    code = session.scalar(select(Procedure.code).where(Procedure.code == TEST_PROCEDURE)) or \
        session.scalar(select(Procedure.code).where(Procedure.code == BENCH_PROCEDURE))
    if code is None and session.scalar(select(Procedure.code).limit(1)) is not None:
        raise RuntimeError(f"the catalogue is loaded but has no {TEST_PROCEDURE}")
    if code is None:
        session.add(Procedure(code=BENCH_PROCEDURE, name="Đăng ký khai sinh (thử nghiệm)", field="Hộ tịch",
                              field_slug="ho-tich", levels="commune", audiences="citizen", level_commune=True,
                              for_citizen=True, name_folded="dang ky khai sinh thu nghiem", field_folded="ho tich",
                              body_folded="", revision=1, data="{}", updated_at=now))
        session.add(FormRevision(procedure_code=BENCH_PROCEDURE, revision=1, procedure_revision=1,
                                 schema=_json.dumps({"fields": [], "documents": []}), source="default",
                                 created_at=now))
        session.flush()
        code = BENCH_PROCEDURE
    unit = session.scalar(select(Unit.code).order_by(Unit.code).limit(1))
    if unit is None:
        session.add(Unit(code=BENCH_UNIT, name="Trung tâm Phục vụ hành chính công (thử nghiệm)", level="province",
                         active=True))
        session.flush()
        unit = BENCH_UNIT
    form = ensure_form(session, code) if code != BENCH_PROCEDURE else session.scalar(
        select(FormRevision).where(FormRevision.procedure_code == code))
    d = Dossier(procedure_code=code, procedure_revision=form.procedure_revision, form_revision_id=form.id,
                owner_id=owner_id, unit_code=unit, status="draft", version=1, data="{}", created_at=now,
                updated_at=now)
    session.add(d)
    session.flush()
    return int(d.id)


def procedure_name(session: Any, dossier_id: int) -> str:
    d = session.get(Dossier, dossier_id)
    return str(session.scalar(select(Procedure.name).where(Procedure.code == d.procedure_code)))


def subscribed_people(session: Any, subs: Any) -> list[int]:
    """One person (:func:`make_user`) per push subscription in ``subs``, subscribed with it; their ids."""
    ids = []
    for sub in subs:
        uid = make_user(session)
        subscribe_user(session, uid, sub)
        ids.append(uid)
    return ids


def subscribe_user(session: Any, user_id: int, sub: Any, lang: str = "vi") -> int:
    row = save_subscription(session, user_id, SubscriptionIn(endpoint=sub.endpoint, p256dh=sub.p256dh,
                                                             auth=b64e(sub.auth)), lang=lang)
    return int(row.id)


# --- the push service in a process of its own (the benchmark: no shared interpreter with the worker) ---
@dataclass(frozen=True)
class RemoteSubscription:
    token: str
    endpoint: str
    p256dh: str
    auth: bytes


def _child(conn: Any) -> None:
    with PushService() as ps:
        conn.send(ps.origin)
        subs: dict[str, Subscription] = {}
        while True:
            if not conn.poll(60):
                continue
            cmd, *args = conn.recv()
            if cmd == "stop":
                conn.send(None)
                return
            if cmd == "subscribe":
                sub = ps.subscribe()
                subs[sub.token] = sub
                conn.send((sub.token, sub.endpoint, sub.p256dh, sub.auth))
            elif cmd == "count":
                conn.send(len(ps.messages(subs.get(args[0]) if args[0] else None)))
            elif cmd == "wait_for":
                count, timeout, token = args
                conn.send(ps.wait_for(count, timeout, subs.get(token) if token else None))
            elif cmd == "times":
                conn.send([(r.at, r.payload.get("id")) for r in ps.messages(subs[args[0]])])
            elif cmd == "rejected":
                conn.send(len(ps.rejected))


class PushServiceProcess:
    """:class:`PushService` run in a child process (``with PushServiceProcess() as ps``); receipt
    times are ``time.monotonic()`` there, which on Linux is the same clock in every process."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child,), name="pushservice", daemon=True)
        self.origin = ""

    def _ask(self, *cmd: Any, timeout: float = 60.0) -> Any:
        self._conn.send(cmd)
        if not self._conn.poll(timeout):
            raise TimeoutError(f"the push service process did not answer {cmd[0]!r}")
        return self._conn.recv()

    def __enter__(self) -> PushServiceProcess:
        self._proc.start()
        if not self._conn.poll(30):
            raise RuntimeError("the push service process did not start")
        self.origin = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(TimeoutError, OSError, EOFError):
            self._ask("stop", timeout=10)
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)

    def subscribe(self) -> RemoteSubscription:
        return RemoteSubscription(*self._ask("subscribe"))

    def count(self, sub: RemoteSubscription | None = None) -> int:
        return int(self._ask("count", sub.token if sub else None))

    def wait_for(self, count: int, timeout: float = 10.0, sub: RemoteSubscription | None = None) -> bool:
        return bool(self._ask("wait_for", count, timeout, sub.token if sub else None, timeout=timeout + 10))

    def times(self, sub: RemoteSubscription) -> list[tuple[float, str]]:
        return list(self._ask("times", sub.token))

    def rejected(self) -> int:
        return int(self._ask("rejected"))
