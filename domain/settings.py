"""Settings: one frozen value with a section per concern, read once from the environment.

:func:`load_settings` is the only code that reads environment variables; the composition roots
(``api.app.create_app``, ``api.cli``, the worker entry point) call it once and hand the value (or the
section, or the plain values) to everything else. The core never reads the environment itself.

Sections and their variables (README's settings table lists them all):

- ``web``: ``MOTCUA_ENV`` (dev/test/production), ``PORT``, ``PUBLIC_URL``, ``SECRET_KEY`` (and
  ``SECRET_KEY_PREVIOUS`` while rotating), ``MOTCUA_PROVINCE_CONFIG``, ``MOTCUA_VAR_DIR``.
- ``database``: ``DATABASE_URL``.
- ``storage``: ``MOTCUA_STORAGE`` (local/s3), ``MOTCUA_STORAGE_DIR``, ``MOTCUA_S3_BUCKET``,
  ``MOTCUA_S3_ENDPOINT``, ``MOTCUA_S3_REGION``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``.
- ``notifications``: Web Push (VAPID, RFC 8292): ``MOTCUA_VAPID_PRIVATE_KEY`` is the application
  server's P-256 private key, base64url of the raw 32-byte scalar, made once with ``motcua vapid-keys``
  and then kept: a new key silently invalidates every browser subscription. In dev (only) the key may
  also come from ``$MOTCUA_VAR_DIR/vapid.env`` (``motcua vapid-keys --save`` writes it), so ``make run``
  works out of the box. Without a key Web Push is off (the API says so with 503) and the other channels
  still work. Email: ``MOTCUA_SMTP_HOST`` (empty: no email channel), ``MOTCUA_SMTP_PORT``,
  ``MOTCUA_SMTP_USER``, ``MOTCUA_SMTP_PASSWORD``, ``MOTCUA_SMTP_STARTTLS`` (1/0),
  ``MOTCUA_SMTP_TIMEOUT_SECONDS``, ``MOTCUA_MAIL_FROM``. SMS: ``MOTCUA_SMS_PROVIDER`` (``log``: written
  to the log in dev/test). Safety: push endpoints must be https outside dev/test, and never on a
  private, loopback or otherwise non-public address; ``MOTCUA_PUSH_ALLOW_LOOPBACK=1`` lets tests use a
  push service on 127.0.0.1 (it is refused in production). Worker: ``MOTCUA_WORKER_POLL_SECONDS``,
  ``MOTCUA_PUSH_TIMEOUT_SECONDS``, ``MOTCUA_NOTIFY_LEASE_SECONDS``, ``MOTCUA_NOTIFY_MAX_ATTEMPTS``,
  ``MOTCUA_NOTIFY_BACKOFF_SECONDS`` (first retry delay, doubled each time),
  ``MOTCUA_NOTIFY_BACKOFF_CAP_SECONDS``, ``MOTCUA_NOTIFY_MAX_RETRY_AFTER_SECONDS``.
  ``MOTCUA_EMBEDDED_WORKER=1`` runs the worker inside the web process (``make run``).
- ``payments`` (see ``domain/payments/README.md``): ``PAYMENT_GATEWAYS`` and each gateway's secrets.
  Only the ``sandbox`` gateway has development defaults. In production an enabled gateway without its
  secrets stops start-up, and the sandbox cannot be enabled at all: it would mark dossiers paid without
  moving money. In dev a gateway without its secrets is left out (``problems`` says why).
- ``limits``: ``MOTCUA_CLIENT_LIMIT_FACTOR`` (multiplies per-client-address limits: CGNAT, tests).
- ``audit``: ``MOTCUA_AUDIT_KEY``, the HMAC key of the audit chain (``domain.audit``). Kept outside the
  database, so whoever can write the database cannot recompute the chain. Required in production (at
  least 32 bytes, not ``SECRET_KEY``); in dev and test derived from ``SECRET_KEY`` with HMAC.
- ``sessions``: officers' and admins' sessions end after ``MOTCUA_STAFF_IDLE_MINUTES`` (30) without a
  request and ``MOTCUA_STAFF_MAX_HOURS`` (12) after sign-in; citizens keep 14 days idle, 30 days at most.
- ``postal``: ``MOTCUA_POSTAL_URL`` (the postal operator's service, ``domain.postal.operator``; empty: the
  in-process sandbox), ``MOTCUA_POSTAL_FEE_VND`` (the fee of a result sent by post when no operator quotes
  it), ``MOTCUA_POSTAL_TIMEOUT_SECONDS``.
- ``uploads``: ``MOTCUA_UPLOAD_QUOTA_MB`` (bytes a day one account may upload, 200 MB),
  ``MOTCUA_VERIFY_MAX_MB`` (the largest file the public verification page takes, 10 MB).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from cryptography.hazmat.primitives.asymmetric import ec

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "motcua-dev-only-secret-not-for-production"  # fixed, so every dev process agrees
ENVIRONMENTS = ("dev", "test", "production")


class SettingsError(RuntimeError):
    """A setting is missing or wrong; start-up must stop with this message."""


class StorageConfigError(SettingsError):
    """The storage settings are missing or wrong; start-up must stop with this message."""


# --- the sections ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebSettings:
    env: str
    port: int
    public_url: str
    secret_key: str
    province_config: Path
    var_dir: Path
    previous_secret_key: str = ""  # SECRET_KEY_PREVIOUS: still accepted while keys rotate
    trusted_proxies: tuple[str, ...] = ()  # MOTCUA_TRUSTED_PROXIES: who may say who the client is

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.env == "production" or self.public_url.startswith("https://")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str


@dataclass(frozen=True)
class StorageSettings:
    kind: str = "local"  # local | s3
    local_dir: Path = ROOT / "var" / "files"
    s3_bucket: str = ""
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None


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


GATEWAYS = ("sandbox", "vnpay", "vietqr", "paygov")
DEV_SANDBOX_SECRET = "motcua-dev-only-sandbox-payment-secret"
PAYMENT_EXPIRY = timedelta(minutes=90)  # GOV.UK Pay: a payment not finished in 90 minutes expires
VNPAY_SANDBOX_URL = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
VNPAY_SANDBOX_API = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"
GATEWAY_SECRETS: dict[str, tuple[str, ...]] = {
    "sandbox": ("PAYMENT_SANDBOX_SECRET",),
    "vnpay": ("VNPAY_TMN_CODE", "VNPAY_HASH_SECRET"),
    "vietqr": ("VIETQR_BANK_BIN", "VIETQR_ACCOUNT"),
    "paygov": ("PAYGOV_URL", "PAYGOV_PARTNER_CODE", "PAYGOV_SECRET"),
}


@dataclass(frozen=True)
class PaymentSettings:
    env: str
    enabled: tuple[str, ...]
    sandbox_secret: str = DEV_SANDBOX_SECRET
    sandbox_callbacks: str = "http"  # http: POST signed callbacks to the app like a real gateway; off: none
    vnpay_tmn_code: str = ""
    vnpay_hash_secret: str = ""
    vnpay_url: str = VNPAY_SANDBOX_URL
    vnpay_api_url: str = VNPAY_SANDBOX_API
    vietqr_bank_bin: str = ""
    vietqr_account: str = ""
    vietqr_account_name: str = ""
    paygov_url: str = ""
    paygov_partner_code: str = ""
    paygov_secret: str = ""
    max_amount_vnd: int = 100_000_000  # larger amounts are refused as absurd for a public-service fee
    # a transfer confirmed by hand above this amount needs a second officer (four eyes)
    second_confirm_vnd: int = 2_000_000
    problems: tuple[str, ...] = field(default=())  # enabled gateways left out (dev only) and why

    def is_enabled(self, gateway: str) -> bool:
        return gateway in self.enabled


@dataclass(frozen=True)
class LimitSettings:
    client_limit_factor: int = 1  # multiplies per-client-address limits (CGNAT, tests)


@dataclass(frozen=True)
class AuditSettings:
    key: bytes = field(repr=False)  # MOTCUA_AUDIT_KEY: the audit chain's HMAC key (never in the database)


AUDIT_KEY_MIN = 32  # bytes


@dataclass(frozen=True)
class SessionSettings:
    """Staff (officer, admin) session lifetimes; citizens' are fixed in ``auth.tokens``."""

    staff_idle: timedelta = timedelta(minutes=30)  # MOTCUA_STAFF_IDLE_MINUTES
    staff_max: timedelta = timedelta(hours=12)  # MOTCUA_STAFF_MAX_HOURS


MB = 1024 * 1024


@dataclass(frozen=True)
class UploadSettings:
    daily_quota_bytes: int = 200 * MB  # MOTCUA_UPLOAD_QUOTA_MB: per account, any 24 hours
    verify_max_bytes: int = 10 * MB  # MOTCUA_VERIFY_MAX_MB: the public /xac-minh/{id} upload


@dataclass(frozen=True)
class PostalSettings:
    url: str = ""  # MOTCUA_POSTAL_URL: the postal operator's service; empty: the in-process sandbox
    fee_vnd: int = 22_000  # MOTCUA_POSTAL_FEE_VND: the fee of a result sent by post when no operator quotes it
    timeout_seconds: float = 5.0  # MOTCUA_POSTAL_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Settings:
    web: WebSettings
    database: DatabaseSettings
    storage: StorageSettings
    notifications: NotifySettings
    payments: PaymentSettings
    audit: AuditSettings = field(repr=False)
    limits: LimitSettings = LimitSettings()
    sessions: SessionSettings = SessionSettings()
    uploads: UploadSettings = UploadSettings()
    postal: PostalSettings = PostalSettings()

    # the values nearly everyone needs, without spelling the section
    @property
    def env(self) -> str:
        return self.web.env

    @property
    def public_url(self) -> str:
        return self.web.public_url

    @property
    def is_production(self) -> bool:
        return self.web.is_production

    @property
    def secure_cookies(self) -> bool:
        return self.web.secure_cookies


# --- the parsers: one per kind of value --------------------------------------------------------------
N = TypeVar("N", int, float)


def _text(environ: Mapping[str, str], name: str) -> str:
    return (environ.get(name) or "").strip()


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (environ.get(name) or "").strip()  # read here (not via _text): README's test finds the names
    return _bounded(name, raw, default, low, high, int, "a whole number")


def _number(environ: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = (environ.get(name) or "").strip()  # read here (not via _text): README's test finds the names
    return _bounded(name, raw, default, low, high, float, "a number")


def _bounded(name: str, raw: str, default: N, low: N, high: N, parse: Callable[[str], N], kind: str) -> N:
    """``raw`` parsed (``default`` when empty) and checked to lie within ``low``..``high``."""
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {kind}, not {raw!r}") from None
    if not low <= value <= high:
        show = str if parse is int else "{:g}".format
        raise SettingsError(f"{name} must be between {show(low)} and {show(high)}, not {show(value)}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), not {raw!r}")


# --- the sections, read ------------------------------------------------------------------------------
def normalise_database_url(url: str) -> str:
    """Accept the usual spellings and return the one driver per database we use.

    SQLite is served by the standard ``sqlite3`` driver (reads inline, writes on a thread); PostgreSQL
    by asyncpg.
    """
    if url.startswith(("sqlite+aiosqlite://", "sqlite+pysqlite://")):
        return "sqlite://" + url.split("://", 1)[1]
    if url.startswith(("postgres://", "postgresql://", "postgresql+psycopg://", "postgresql+psycopg2://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith(("sqlite://", "postgresql+asyncpg://")):
        return url
    raise SettingsError(
        "DATABASE_URL must be sqlite:///path/to/file.db or postgresql+asyncpg://user@host/db"
    )


def _web(environ: Mapping[str, str]) -> WebSettings:
    env = _text(environ, "MOTCUA_ENV") or "dev"
    if env not in ENVIRONMENTS:
        raise SettingsError(f"MOTCUA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    port = _integer(environ, "PORT", 8000, 1, 65535)
    secret = _text(environ, "SECRET_KEY")
    if env == "production":
        if not secret:
            raise SettingsError(
                "SECRET_KEY is not set. In production (MOTCUA_ENV=production) motcua refuses to start "
                "without it: generate one with `python -c 'import secrets; print(secrets.token_urlsafe(48))'` "
                "and set it for every process."
            )
        if len(secret) < 32:
            raise SettingsError("SECRET_KEY must be at least 32 characters long in production")
        if not _text(environ, "PUBLIC_URL"):
            raise SettingsError("PUBLIC_URL is not set: passkeys and links need the public address, e.g. "
                                "https://dichvucong.example.gov.vn")
        if not _text(environ, "PUBLIC_URL").lower().startswith("https://"):
            raise SettingsError("PUBLIC_URL must be an https:// address in production (cookies are Secure, "
                                "passkeys need a secure origin)")
        previous = environ.get("SECRET_KEY_PREVIOUS", "")
        if previous and len(previous) < 32:
            raise SettingsError("SECRET_KEY_PREVIOUS must be at least 32 characters long in production "
                                "(a short old key still signs tokens while keys rotate)")
    return WebSettings(
        env=env,
        port=port,
        public_url=(_text(environ, "PUBLIC_URL") or f"http://localhost:{port}").rstrip("/"),
        secret_key=secret or DEV_SECRET,
        previous_secret_key=environ.get("SECRET_KEY_PREVIOUS", ""),
        trusted_proxies=_networks(environ, "MOTCUA_TRUSTED_PROXIES"),
        province_config=Path(_text(environ, "MOTCUA_PROVINCE_CONFIG") or ROOT / "config" / "province.toml"),
        var_dir=_var_dir(environ),
    )


def derive_audit_key(secret_key: str) -> bytes:
    """The dev/test audit key: HMAC of SECRET_KEY, like the other derived keys (auth/tokens.py)."""
    return hmac.new(secret_key.encode(), b"motcua audit chain v1", hashlib.sha256).digest()


def _audit(environ: Mapping[str, str], web: WebSettings) -> AuditSettings:
    raw = environ.get("MOTCUA_AUDIT_KEY") or ""
    if web.is_production:
        if not raw:
            raise SettingsError(
                "MOTCUA_AUDIT_KEY is not set. In production motcua refuses to start without the audit chain's "
                "key (kept outside the database): generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`, keep it for ever, and set it for every process.")
        if len(raw.encode()) < AUDIT_KEY_MIN:
            raise SettingsError(f"MOTCUA_AUDIT_KEY must be at least {AUDIT_KEY_MIN} bytes long in production")
        if raw in (web.secret_key, web.previous_secret_key):
            raise SettingsError("MOTCUA_AUDIT_KEY must not be SECRET_KEY: the audit key outlives the signing keys")
    return AuditSettings(key=raw.encode() if raw else derive_audit_key(web.secret_key))


def _networks(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (``10.0.0.5,10.1.0.0/16,::1``), checked."""
    out = []
    for part in (environ.get(name) or "").split(","):
        text = part.strip()
        if text:
            try:
                out.append(str(ipaddress.ip_network(text, strict=False)))
            except ValueError:
                raise SettingsError(f"{name}: {text!r} is not an IP address or network") from None
    return tuple(out)


def _var_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("MOTCUA_VAR_DIR") or ROOT / "var").resolve()


def _storage(environ: Mapping[str, str]) -> StorageSettings:
    """``MOTCUA_STORAGE=local`` (default): files under ``MOTCUA_STORAGE_DIR`` or ``<var>/files``.
    ``MOTCUA_STORAGE=s3``: bucket ``MOTCUA_S3_BUCKET`` (required), ``MOTCUA_S3_ENDPOINT`` (for non-AWS
    servers), ``MOTCUA_S3_REGION`` (default us-east-1), credentials ``AWS_ACCESS_KEY_ID`` /
    ``AWS_SECRET_ACCESS_KEY`` (else boto3's usual chain)."""
    local_dir = Path(environ.get("MOTCUA_STORAGE_DIR") or _var_dir(environ) / "files").resolve()
    kind = _text(environ, "MOTCUA_STORAGE").lower() or "local"
    if kind == "local":
        return StorageSettings(kind="local", local_dir=local_dir)
    if kind != "s3":
        raise StorageConfigError(f"MOTCUA_STORAGE must be local or s3, not {kind!r}")
    bucket = _text(environ, "MOTCUA_S3_BUCKET")
    if not bucket:
        raise StorageConfigError(
            "MOTCUA_STORAGE=s3 needs MOTCUA_S3_BUCKET (the bucket name); set MOTCUA_S3_ENDPOINT too "
            "for a server other than AWS, e.g. https://s3.example.gov.vn")
    endpoint = _text(environ, "MOTCUA_S3_ENDPOINT") or None
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise StorageConfigError(f"MOTCUA_S3_ENDPOINT must start with http:// or https://, not {endpoint!r}")
    return StorageSettings(kind="s3", local_dir=local_dir, s3_bucket=bucket, s3_endpoint=endpoint,
                           s3_region=_text(environ, "MOTCUA_S3_REGION") or None,
                           s3_access_key=environ.get("AWS_ACCESS_KEY_ID") or None,
                           s3_secret_key=environ.get("AWS_SECRET_ACCESS_KEY") or None)


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


def vapid_private_key(private: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 key of a ``MOTCUA_VAPID_PRIVATE_KEY`` value, or a SettingsError saying what is wrong."""
    try:
        raw = base64.urlsafe_b64decode(private + "=" * (-len(private) % 4))
    except (ValueError, binascii.Error):
        raise SettingsError("MOTCUA_VAPID_PRIVATE_KEY is not base64url text; make one with `motcua vapid-keys`") \
            from None
    if len(raw) != 32:
        raise SettingsError("MOTCUA_VAPID_PRIVATE_KEY must be a 32-byte P-256 private key (base64url); "
                            "make one with `motcua vapid-keys`")
    try:
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    except ValueError:
        raise SettingsError("MOTCUA_VAPID_PRIVATE_KEY is not a valid P-256 private key") from None


def _notifications(environ: Mapping[str, str], web: WebSettings) -> NotifySettings:
    env = web.env
    private = _text(environ, "MOTCUA_VAPID_PRIVATE_KEY")
    if not private and env == "dev":
        private = read_env_file(vapid_file(web.var_dir)).get("MOTCUA_VAPID_PRIVATE_KEY", "")
    if private:
        vapid_private_key(private)  # a clear start-up error rather than failing pushes later
    host = urlparse(web.public_url).hostname or "localhost"
    subject = _text(environ, "MOTCUA_VAPID_SUBJECT") or (
        web.public_url if web.public_url.startswith("https://") else f"mailto:thongbao@{host}")
    if not subject.startswith(("mailto:", "https://")):
        raise SettingsError("MOTCUA_VAPID_SUBJECT must be a mailto: address or an https:// URL")
    allow_loopback = _flag(environ, "MOTCUA_PUSH_ALLOW_LOOPBACK")
    if allow_loopback and env == "production":
        raise SettingsError("MOTCUA_PUSH_ALLOW_LOOPBACK is for tests; it is refused in production")
    sms = _text(environ, "MOTCUA_SMS_PROVIDER") or "log"
    if sms not in ("log",):
        raise SettingsError(f"MOTCUA_SMS_PROVIDER must be one of: log (not {sms!r})")
    push_timeout = _number(environ, "MOTCUA_PUSH_TIMEOUT_SECONDS", 10.0, 0.1, 120.0)
    smtp_timeout = _number(environ, "MOTCUA_SMTP_TIMEOUT_SECONDS", 15.0, 0.1, 120.0)
    lease = _number(environ, "MOTCUA_NOTIFY_LEASE_SECONDS", 120.0, 1.0, 3600.0)
    if lease <= max(push_timeout, smtp_timeout) * 2:
        # a message is taken again only when its lease has run out: the lease must outlast any send
        raise SettingsError("MOTCUA_NOTIFY_LEASE_SECONDS must be more than twice the push and SMTP timeouts")
    return NotifySettings(
        env=env,
        public_url=web.public_url,
        vapid_private_key=private,
        vapid_subject=subject,
        smtp_host=_text(environ, "MOTCUA_SMTP_HOST"),
        smtp_port=_integer(environ, "MOTCUA_SMTP_PORT", 25, 1, 65535),
        smtp_user=_text(environ, "MOTCUA_SMTP_USER"),
        smtp_password=environ.get("MOTCUA_SMTP_PASSWORD", ""),
        smtp_starttls=_flag(environ, "MOTCUA_SMTP_STARTTLS"),
        smtp_timeout=smtp_timeout,
        mail_from=_text(environ, "MOTCUA_MAIL_FROM") or f"Dịch vụ công <thongbao@{host}>",
        sms_provider=sms,
        allow_loopback=allow_loopback,
        poll_seconds=_number(environ, "MOTCUA_WORKER_POLL_SECONDS", 0.5, 0.01, 60.0),
        push_timeout=push_timeout,
        lease_seconds=lease,
        max_attempts=_integer(environ, "MOTCUA_NOTIFY_MAX_ATTEMPTS", 8, 1, 50),
        backoff_seconds=_number(environ, "MOTCUA_NOTIFY_BACKOFF_SECONDS", 30.0, 0.0, 3600.0),
        backoff_cap_seconds=_number(environ, "MOTCUA_NOTIFY_BACKOFF_CAP_SECONDS", 3600.0, 0.0, 86400.0),
        max_retry_after_seconds=_number(environ, "MOTCUA_NOTIFY_MAX_RETRY_AFTER_SECONDS", 6 * 3600.0, 0.0, 86400.0),
        embedded_worker=_flag(environ, "MOTCUA_EMBEDDED_WORKER"),
    )


def load_payment_settings(environ: Mapping[str, str]) -> PaymentSettings:
    """The payments section alone. Raises :class:`SettingsError` in production for a missing secret."""
    mode = _text(environ, "MOTCUA_ENV") or "dev"
    production = mode == "production"
    raw = _text(environ, "PAYMENT_GATEWAYS")
    wanted = [g.strip().lower() for g in raw.split(",") if g.strip()] if raw else ([] if production else ["sandbox"])
    unknown = [g for g in wanted if g not in GATEWAYS]
    if unknown:
        raise SettingsError(f"PAYMENT_GATEWAYS: unknown gateway(s) {', '.join(unknown)}; "
                            f"choose among {', '.join(GATEWAYS)}")
    if production and "sandbox" in wanted:
        raise SettingsError("PAYMENT_GATEWAYS: the sandbox gateway must not be enabled in production "
                            "(it marks fees paid without moving money)")
    enabled: list[str] = []
    problems: list[str] = []
    for gateway in dict.fromkeys(wanted):
        missing = [name for name in GATEWAY_SECRETS[gateway] if not _text(environ, name)
                   and not (gateway == "sandbox" and not production)]
        if missing:
            message = f"payment gateway {gateway!r} is enabled but {', '.join(missing)} is not set"
            if production:
                raise SettingsError(message + " (MOTCUA_ENV=production refuses to start without it)")
            problems.append(message)
            continue
        enabled.append(gateway)
    bin_ = _text(environ, "VIETQR_BANK_BIN")
    if "vietqr" in enabled and not (bin_.isdigit() and len(bin_) == 6):
        raise SettingsError("VIETQR_BANK_BIN must be the 6-digit NAPAS BIN of the bank, e.g. 970415")
    callbacks = _text(environ, "PAYMENT_SANDBOX_CALLBACKS") or "http"
    if callbacks not in ("http", "off"):
        raise SettingsError("PAYMENT_SANDBOX_CALLBACKS must be http or off")
    return PaymentSettings(
        env=mode, enabled=tuple(enabled), sandbox_secret=_text(environ, "PAYMENT_SANDBOX_SECRET") or DEV_SANDBOX_SECRET,
        sandbox_callbacks=callbacks,
        vnpay_tmn_code=_text(environ, "VNPAY_TMN_CODE"), vnpay_hash_secret=_text(environ, "VNPAY_HASH_SECRET"),
        vnpay_url=_text(environ, "VNPAY_URL") or VNPAY_SANDBOX_URL,
        vnpay_api_url=_text(environ, "VNPAY_API_URL") or VNPAY_SANDBOX_API,
        vietqr_bank_bin=bin_, vietqr_account=_text(environ, "VIETQR_ACCOUNT"),
        vietqr_account_name=_text(environ, "VIETQR_ACCOUNT_NAME"),
        paygov_url=_text(environ, "PAYGOV_URL").rstrip("/"), paygov_partner_code=_text(environ, "PAYGOV_PARTNER_CODE"),
        paygov_secret=_text(environ, "PAYGOV_SECRET"), problems=tuple(problems),
        second_confirm_vnd=_integer(environ, "MOTCUA_PAYMENT_SECOND_CONFIRM_VND", 2_000_000, 0, 10**15),
    )


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Read and check every setting; raises :class:`SettingsError` naming the variable that is wrong."""
    web = _web(environ)
    database_url = normalise_database_url(_text(environ, "DATABASE_URL") or f"sqlite:///{web.var_dir / 'motcua.db'}")
    return Settings(
        web=web,
        database=DatabaseSettings(url=database_url),
        storage=_storage(environ),
        notifications=_notifications(environ, web),
        payments=load_payment_settings(environ),
        limits=LimitSettings(client_limit_factor=_integer(environ, "MOTCUA_CLIENT_LIMIT_FACTOR", 1, 1, 100_000)),
        audit=_audit(environ, web),
        sessions=SessionSettings(
            staff_idle=timedelta(minutes=_integer(environ, "MOTCUA_STAFF_IDLE_MINUTES", 30, 1, 24 * 60)),
            staff_max=timedelta(hours=_integer(environ, "MOTCUA_STAFF_MAX_HOURS", 12, 1, 7 * 24)),
        ),
        uploads=UploadSettings(
            # at most 2000 MB: what an account sent is counted in bytes in a 32-bit column
            daily_quota_bytes=_integer(environ, "MOTCUA_UPLOAD_QUOTA_MB", 200, 1, 2000) * MB,
            verify_max_bytes=_integer(environ, "MOTCUA_VERIFY_MAX_MB", 10, 1, 20) * MB,
        ),
        postal=_postal(environ),
    )


def _postal(environ: Mapping[str, str]) -> PostalSettings:
    url = _text(environ, "MOTCUA_POSTAL_URL")
    if url and (urlparse(url).scheme not in ("http", "https") or not urlparse(url).hostname):
        raise SettingsError("MOTCUA_POSTAL_URL must be an http(s) URL")
    return PostalSettings(url=url.rstrip("/"),
                          fee_vnd=_integer(environ, "MOTCUA_POSTAL_FEE_VND", 22_000, 0, 10_000_000),
                          timeout_seconds=_number(environ, "MOTCUA_POSTAL_TIMEOUT_SECONDS", 5.0, 0.5, 60.0))


def configure_core(settings: Settings) -> Settings:
    """Hand the core's two process-wide parts what they need, once at start-up: the audit chain's key for
    sessions opened without one (``domain.audit``) and the channels the outbox writes deliveries for.
    Only the composition roots call this (``api.app.create_app``, ``api.cli``, the test fixtures), with
    the value they read once through :func:`load_settings`; no settings value is kept here (everything
    else takes its settings as a parameter, docs/adr/0008-settings-handed-in.md)."""
    # imported here, not at the top: settings stay a leaf that everything (the outbox too) can import
    from domain.audit import use_key  # noqa: PLC0415
    from domain.outbox.enqueue import Channels, deliver_on  # noqa: PLC0415

    use_key(settings.audit.key)  # the audit chain's key, for sessions not opened with one (domain.audit)
    deliver_on(Channels(webpush=settings.notifications.push_enabled, email=settings.notifications.email_enabled))
    return settings
