"""Settings of notifications, read once from environment variables (one dataclass for this concern).

Web Push (VAPID, RFC 8292): ``MOTCUA_VAPID_PRIVATE_KEY`` is the application server's P-256 private
key, base64url of the raw 32-byte scalar, made once with ``motcua vapid-keys`` and then kept: a new
key silently invalidates every browser subscription. In dev (only) the key may also come from
``$MOTCUA_VAR_DIR/vapid.env`` (``motcua vapid-keys --save`` writes it), so ``make run`` works out of
the box. Without a key Web Push is off (the API says so with 503) and the other channels still work.

Email: ``MOTCUA_SMTP_HOST`` (empty: no email channel), ``MOTCUA_SMTP_PORT``, ``MOTCUA_SMTP_USER``,
``MOTCUA_SMTP_PASSWORD``, ``MOTCUA_SMTP_STARTTLS`` (1/0), ``MOTCUA_MAIL_FROM``.
SMS: ``MOTCUA_SMS_PROVIDER`` (``log``: written to the log in dev/test; refused in production).

Safety: push endpoints must be https outside dev/test, and never on a private, loopback or otherwise
non-public address; ``MOTCUA_PUSH_ALLOW_LOOPBACK=1`` lets tests use a push service on 127.0.0.1 (it is
refused in production).

Worker: ``MOTCUA_WORKER_POLL_SECONDS``, ``MOTCUA_PUSH_TIMEOUT_SECONDS``, ``MOTCUA_NOTIFY_LEASE_SECONDS``,
``MOTCUA_NOTIFY_MAX_ATTEMPTS``, ``MOTCUA_NOTIFY_BACKOFF_SECONDS`` (first retry delay, doubled each time)
and ``MOTCUA_NOTIFY_BACKOFF_CAP_SECONDS``. ``MOTCUA_EMBEDDED_WORKER=1`` runs the worker inside the web
process (``make run``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from api.settings import SettingsError, get_settings
from domain.outbox.enqueue import Channels, deliver_on


@dataclass(frozen=True)
class NotifySettings:
    env: str
    public_url: str
    vapid_private_key: str  # base64url raw scalar; "" = Web Push off
    vapid_subject: str
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_starttls: bool
    smtp_timeout: float
    mail_from: str
    sms_provider: str
    allow_loopback: bool
    poll_seconds: float
    push_timeout: float
    lease_seconds: float
    max_attempts: int
    backoff_seconds: float
    backoff_cap_seconds: float
    max_retry_after_seconds: float
    embedded_worker: bool

    @property
    def push_enabled(self) -> bool:
        return bool(self.vapid_private_key)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def allow_http_endpoints(self) -> bool:
        """Plain-http push endpoints only in dev and test."""
        return self.env in ("dev", "test")


def _float(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low:g} and {high:g}, not {value:g}")
    return value


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (``#`` comments); what ``motcua vapid-keys --save`` writes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def vapid_file(var_dir: Path) -> Path:
    return var_dir / "vapid.env"


def load_notify_settings() -> NotifySettings:
    base = get_settings()
    env = base.env
    private = os.environ.get("MOTCUA_VAPID_PRIVATE_KEY", "").strip()
    if not private and env == "dev":
        private = read_env_file(vapid_file(base.var_dir)).get("MOTCUA_VAPID_PRIVATE_KEY", "")
    if private:
        from notifications.channels.webpush import check_private_key

        check_private_key(private)  # a clear start-up error rather than failing pushes later
    host = urlparse(base.public_url).hostname or "localhost"
    subject = os.environ.get("MOTCUA_VAPID_SUBJECT", "").strip() or (
        base.public_url if base.public_url.startswith("https://") else f"mailto:thongbao@{host}")
    if not subject.startswith(("mailto:", "https://")):
        raise SettingsError("MOTCUA_VAPID_SUBJECT must be a mailto: address or an https:// URL")
    allow_loopback = _flag("MOTCUA_PUSH_ALLOW_LOOPBACK")
    if allow_loopback and env == "production":
        raise SettingsError("MOTCUA_PUSH_ALLOW_LOOPBACK is for tests; it is refused in production")
    sms = os.environ.get("MOTCUA_SMS_PROVIDER", "").strip() or "log"
    if sms not in ("log",):
        raise SettingsError(f"MOTCUA_SMS_PROVIDER must be one of: log (not {sms!r})")
    push_timeout = _float("MOTCUA_PUSH_TIMEOUT_SECONDS", 10.0, 0.1, 120.0)
    smtp_timeout = _float("MOTCUA_SMTP_TIMEOUT_SECONDS", 15.0, 0.1, 120.0)
    lease = _float("MOTCUA_NOTIFY_LEASE_SECONDS", 120.0, 1.0, 3600.0)
    if lease <= max(push_timeout, smtp_timeout) * 2:
        # a message is taken again only when its lease has run out: the lease must outlast any send
        raise SettingsError("MOTCUA_NOTIFY_LEASE_SECONDS must be more than twice the push and SMTP timeouts")
    return NotifySettings(
        env=env,
        public_url=base.public_url,
        vapid_private_key=private,
        vapid_subject=subject,
        smtp_host=os.environ.get("MOTCUA_SMTP_HOST", "").strip(),
        smtp_port=int(_float("MOTCUA_SMTP_PORT", 25, 1, 65535)),
        smtp_user=os.environ.get("MOTCUA_SMTP_USER", "").strip(),
        smtp_password=os.environ.get("MOTCUA_SMTP_PASSWORD", ""),
        smtp_starttls=_flag("MOTCUA_SMTP_STARTTLS"),
        smtp_timeout=smtp_timeout,
        mail_from=os.environ.get("MOTCUA_MAIL_FROM", "").strip() or f"Dịch vụ công <thongbao@{host}>",
        sms_provider=sms,
        allow_loopback=allow_loopback,
        poll_seconds=_float("MOTCUA_WORKER_POLL_SECONDS", 0.5, 0.01, 60.0),
        push_timeout=push_timeout,
        lease_seconds=lease,
        max_attempts=int(_float("MOTCUA_NOTIFY_MAX_ATTEMPTS", 8, 1, 50)),
        backoff_seconds=_float("MOTCUA_NOTIFY_BACKOFF_SECONDS", 30.0, 0.0, 3600.0),
        backoff_cap_seconds=_float("MOTCUA_NOTIFY_BACKOFF_CAP_SECONDS", 3600.0, 0.0, 86400.0),
        max_retry_after_seconds=_float("MOTCUA_NOTIFY_MAX_RETRY_AFTER_SECONDS", 6 * 3600.0, 0.0, 86400.0),
        embedded_worker=_flag("MOTCUA_EMBEDDED_WORKER"),
    )


@functools.cache
def get_notify_settings() -> NotifySettings:
    settings = load_notify_settings()
    # the outbox writes deliveries only on the channels this deployment can send on
    deliver_on(Channels(webpush=settings.push_enabled, email=settings.email_enabled))
    return settings
