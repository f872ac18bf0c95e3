"""Web Push (RFC 8030) with VAPID (RFC 8292) and ``aes128gcm`` payloads (RFC 8291), via pywebpush.

* VAPID keys: one P-256 key pair made once (``motcua vapid-keys``); the private half is the setting
  ``MOTCUA_VAPID_PRIVATE_KEY`` (base64url raw scalar), the public half is what browsers subscribe with
  (``GET /api/v1/push/vapid-public-key``).
* Subscriptions: the browser's ``{endpoint, keys: {p256dh, auth}}``, checked (keys are a real P-256
  point and a 16-byte secret; the endpoint passes :mod:`notifications.ssrf`) and kept per device.
* Sending: pywebpush encrypts the JSON payload for the subscription; we POST it with TTL, Urgency,
  Topic (one per dossier, so a newer status replaces an older one still waiting on the push service)
  and a cached VAPID ``Authorization``, through an aiohttp client whose resolver refuses non-public
  addresses, with timeouts and no redirects. The answer maps to a :class:`~notifications.channels.Result`:
  2xx delivered; 404/410 the subscription is gone (removed); 429 and 5xx retry (honouring
  Retry-After); other 4xx a technical failure (our request is wrong; retrying will not help).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.errors import InvalidInput, NotFound
from domain.outbox.models import PushSubscription
from domain.settings import NotifySettings, vapid_private_key
from notifications import ssrf
from notifications.channels import DELIVERED, PERMANENT, RETRY, TECHNICAL, Result, parse_retry_after

MAX_SUBSCRIPTIONS_PER_USER = 20
MAX_PAYLOAD = 3993  # 4096-byte record limit less the aes128gcm header (86), tag (16) and padding delimiter
VAPID_LIFETIME = 12 * 3600  # exp of the JWT; RFC 8292 allows at most 24 h
VAPID_REUSE = 3600  # a signed token is reused for this long per push service origin
TOPIC_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    text = text.strip()
    if not text or any(c not in TOPIC_CHARS and c != "=" for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


# --- VAPID keys --------------------------------------------------------------------------------
def generate_keys() -> tuple[str, str]:
    """A new P-256 key pair → (private: base64url raw scalar, public: base64url uncompressed point)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return b64url(private), public_key_of(b64url(private))


def _private_key(private: str) -> ec.EllipticCurvePrivateKey:
    return vapid_private_key(private)  # SettingsError when the key is wrong


def check_private_key(private: str) -> None:
    _private_key(private)


def public_key_of(private: str) -> str:
    point = _private_key(private).public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


# --- subscriptions -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SubscriptionIn:
    endpoint: str
    p256dh: str
    auth: str


def check_keys(p256dh: Any, auth: Any) -> tuple[str, str]:
    """The browser's keys: a P-256 public point (65 bytes) and a 16-byte auth secret, base64url."""
    if not isinstance(p256dh, str) or not isinstance(auth, str) or len(p256dh) > 100 or len(auth) > 40:
        raise InvalidInput("Khóa đăng ký nhận thông báo không hợp lệ (keys.p256dh and keys.auth must be "
                           "base64url text).", field="keys")
    try:
        point = b64url_decode(p256dh)
        secret = b64url_decode(auth)
    except (ValueError, binascii.Error):
        raise InvalidInput("Khóa đăng ký nhận thông báo không hợp lệ (keys.p256dh and keys.auth must be "
                           "base64url text).", field="keys") from None
    if len(point) != 65 or point[0] != 4:
        raise InvalidInput("Khóa đăng ký nhận thông báo không hợp lệ (keys.p256dh must be an uncompressed P-256 "
                           "public key, 65 bytes).", field="keys.p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidInput("Khóa đăng ký nhận thông báo không hợp lệ (keys.p256dh is not a point on the P-256 "
                           "curve).", field="keys.p256dh") from None
    if len(secret) != 16:
        raise InvalidInput("Khóa đăng ký nhận thông báo không hợp lệ (keys.auth must be a 16-byte "
                           "secret).", field="keys.auth")
    return b64url(point), b64url(secret)


async def check_subscription(endpoint: Any, p256dh: Any, auth: Any, settings: NotifySettings,
                             resolve: ssrf.Resolver = ssrf.system_resolve) -> SubscriptionIn:
    """Everything about a subscription before it is stored; InvalidInput (400) says what is wrong."""
    if not settings.push_enabled:
        raise PushUnavailable("Web Push is not configured on this server (no VAPID key)")
    key, secret = check_keys(p256dh, auth)
    try:
        await ssrf.check_endpoint(endpoint, allow_http=settings.allow_http_endpoints,
                                  allow_loopback=settings.allow_loopback, resolve=resolve)
    except ssrf.EndpointRefused as exc:
        raise InvalidInput(str(exc), field="endpoint") from None
    return SubscriptionIn(endpoint=endpoint, p256dh=key, auth=secret)


class PushUnavailable(InvalidInput):
    status = 503
    title = "Push unavailable"


def endpoint_hash(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode()).hexdigest()


def save_subscription(session: Session, user_id: int, sub: SubscriptionIn, *, lang: str = "vi",
                      user_agent: str = "") -> PushSubscription:
    """Store (or move to this person) a device's subscription; at most 20 per person, oldest dropped."""
    digest = endpoint_hash(sub.endpoint)
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == digest))
    now = datetime.now(UTC)
    if row is None:
        row = PushSubscription(endpoint=sub.endpoint, endpoint_hash=digest, created_at=now)
        session.add(row)
    row.user_id, row.p256dh, row.auth = user_id, sub.p256dh, sub.auth
    row.lang = lang if lang in ("vi", "en") else "vi"
    row.user_agent = (user_agent or "")[:255]
    session.flush()
    ids = list(session.scalars(select(PushSubscription.id).where(PushSubscription.user_id == user_id)
                               .order_by(PushSubscription.id.desc())))
    if len(ids) > MAX_SUBSCRIPTIONS_PER_USER:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids[MAX_SUBSCRIPTIONS_PER_USER:])))
    return row


def delete_subscription(session: Session, user_id: int, *, sub_id: int | None = None,
                        endpoint: str | None = None) -> None:
    query = select(PushSubscription).where(PushSubscription.user_id == user_id)
    if sub_id is not None:
        query = query.where(PushSubscription.id == sub_id)
    elif endpoint:
        query = query.where(PushSubscription.endpoint_hash == endpoint_hash(endpoint))
    else:
        raise InvalidInput("Hãy cho biết đăng ký nào: mã (id) hoặc địa chỉ (endpoint) của nó.", field="endpoint")
    row = session.scalar(query)
    if row is None:
        raise NotFound("Không tìm thấy đăng ký nhận thông báo đẩy.")
    session.delete(row)


def list_subscriptions(session: Session, user_id: int) -> list[PushSubscription]:
    return list(session.scalars(select(PushSubscription).where(PushSubscription.user_id == user_id)
                                .order_by(PushSubscription.id)))


# --- sending -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PushMessage:
    endpoint: str
    p256dh: str
    auth: str
    payload: dict[str, Any]
    ttl: int
    urgency: str
    topic: str | None


def topic_for(dossier_id: int | None, event: str) -> str | None:
    """RFC 8030 Topic: ≤ 32 base64url characters; one per dossier (a newer status replaces an older)."""
    if dossier_id is None:
        return None
    return (f"officer-{dossier_id}" if event.startswith("officer.") else f"dossier-{dossier_id}")[:32]


def encode_payload(payload: dict[str, Any]) -> bytes:
    """JSON, cut to fit one push record: the body shrinks first, then the title."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    trimmed = dict(payload)
    for name in ("body", "title"):
        while len(data) > MAX_PAYLOAD and trimmed.get(name):
            excess = len(data) - MAX_PAYLOAD
            text = str(trimmed[name])
            keep = max(0, len(text.encode()) - excess - 3)
            trimmed[name] = text.encode()[:keep].decode(errors="ignore").rstrip() + "…"
            if keep == 0:
                trimmed[name] = ""
            data = json.dumps(trimmed, ensure_ascii=False, separators=(",", ":")).encode()
    return data


class PushSender:
    """One per worker: a pooled, SSRF-guarded HTTP client and the VAPID signer."""

    def __init__(self, settings: NotifySettings, *, concurrency: int = 64,
                 resolve: ssrf.Resolver = ssrf.system_resolve) -> None:
        if not settings.push_enabled:
            raise PushUnavailable("Web Push is not configured on this server (no VAPID key)")
        self.settings = settings
        self.vapid = Vapid02.from_raw(settings.vapid_private_key.encode())
        self.public_key = public_key_of(settings.vapid_private_key)
        self._resolve = resolve
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[str, tuple[float, str]] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                resolver=ssrf.GuardedResolver(allow_loopback=self.settings.allow_loopback, resolve=self._resolve),
                limit=self._concurrency, ttl_dns_cache=60, enable_cleanup_closed=True)
            t = self.settings.push_timeout
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=t, connect=min(5.0, t), sock_read=t),
                auto_decompress=False, trust_env=False)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def authorization(self, audience: str) -> str:
        """``vapid t=<JWT>, k=<public key>`` for a push service origin, reused for an hour."""
        now = time.time()
        cached = self._tokens.get(audience)
        if cached is not None and cached[0] > now:
            return cached[1]
        claims = {"aud": audience, "exp": int(now) + VAPID_LIFETIME, "sub": self.settings.vapid_subject}
        header: str = self.vapid.sign(claims)["Authorization"]
        self._tokens[audience] = (now + VAPID_REUSE, header)
        return header

    async def send(self, msg: PushMessage) -> Result:
        try:
            host, port = ssrf.split_endpoint(msg.endpoint, allow_http=self.settings.allow_http_endpoints)
            if ssrf.is_ip_literal(host):  # host names are checked by the resolver, on connection
                ssrf.check_ip(host, allow_loopback=self.settings.allow_loopback)
                ssrf.check_port(port, [host], ports=ssrf.PUSH_PORTS, allow_loopback=self.settings.allow_loopback)
        except ssrf.EndpointRefused as exc:
            return Result(TECHNICAL, f"endpoint refused: {exc}")
        parts = urlsplit(msg.endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        try:
            body = WebPusher({"endpoint": msg.endpoint, "keys": {"p256dh": msg.p256dh, "auth": msg.auth}}) \
                .encode(encode_payload(msg.payload), "aes128gcm")["body"]
        except Exception as exc:  # a subscription whose keys cannot be used
            return Result(PERMANENT, f"cannot encrypt for this subscription: {exc}", remove_subscription=True)
        headers = {"TTL": str(msg.ttl), "Content-Encoding": "aes128gcm", "Content-Type": "application/octet-stream",
                   "Urgency": msg.urgency, "Authorization": self.authorization(audience)}
        if msg.topic:
            headers["Topic"] = msg.topic
        try:
            async with self._client().post(msg.endpoint, data=body, headers=headers, allow_redirects=False) as resp:
                text = (await resp.content.read(1024)).decode(errors="replace")
                return classify(resp.status, resp.headers.get("Retry-After"), text)
        except (TimeoutError, aiohttp.ServerTimeoutError):
            return Result(RETRY, f"the push service did not answer within {self.settings.push_timeout:g} s")
        except aiohttp.ClientConnectorError as exc:
            cause: BaseException | None = exc
            while cause is not None:
                if isinstance(cause, ssrf.EndpointRefused):
                    return Result(TECHNICAL, f"endpoint refused: {cause}")
                cause = cause.__cause__ or cause.__context__
                if cause is exc:
                    break
            return Result(RETRY, f"cannot connect to the push service: {exc}")
        except aiohttp.ClientError as exc:
            return Result(RETRY, f"push service connection failed: {type(exc).__name__}: {exc}")


def classify(status: int, retry_after: str | None, text: str = "") -> Result:
    detail = f"HTTP {status}" + (f": {text.strip()[:300]}" if text.strip() else "")
    if 200 <= status < 300:
        return Result(DELIVERED, detail, http_status=status)
    if status in (404, 410):
        return Result(PERMANENT, detail + " (subscription expired or unsubscribed)", http_status=status,
                      remove_subscription=True)
    if status == 429 or status >= 500:
        return Result(RETRY, detail, http_status=status, retry_after=parse_retry_after(retry_after))
    return Result(TECHNICAL, detail, http_status=status)
