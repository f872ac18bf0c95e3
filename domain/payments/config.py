"""Payment settings, read from environment variables (see ``domain/payments/README.md``).

Only the ``sandbox`` gateway has development defaults. In production (``MOTCUA_ENV=production``) an
enabled gateway without its secrets stops start-up (:func:`check_payment_settings`), and the sandbox
cannot be enabled at all: it would mark dossiers paid without moving money.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from api.settings import SettingsError

GATEWAYS = ("sandbox", "vnpay", "vietqr", "paygov")
DEV_SANDBOX_SECRET = "motcua-dev-only-sandbox-payment-secret"
EXPIRY = timedelta(minutes=90)  # GOV.UK Pay: a payment not finished in 90 minutes expires
VNPAY_SANDBOX_URL = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
VNPAY_SANDBOX_API = "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction"
REQUIRED: dict[str, tuple[str, ...]] = {
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


def _get(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def load_payment_settings(env: Mapping[str, str] | None = None) -> PaymentSettings:
    """Read and check the settings. Raises :class:`SettingsError` in production for a missing secret."""
    env = os.environ if env is None else env
    mode = _get(env, "MOTCUA_ENV") or "dev"
    production = mode == "production"
    raw = _get(env, "PAYMENT_GATEWAYS")
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
        missing = [name for name in REQUIRED[gateway] if not _get(env, name)
                   and not (gateway == "sandbox" and not production)]
        if missing:
            message = f"payment gateway {gateway!r} is enabled but {', '.join(missing)} is not set"
            if production:
                raise SettingsError(message + " (MOTCUA_ENV=production refuses to start without it)")
            problems.append(message)
            continue
        enabled.append(gateway)
    bin_ = _get(env, "VIETQR_BANK_BIN")
    if "vietqr" in enabled and not (bin_.isdigit() and len(bin_) == 6):
        raise SettingsError("VIETQR_BANK_BIN must be the 6-digit NAPAS BIN of the bank, e.g. 970415")
    secret = _get(env, "PAYMENT_SANDBOX_SECRET") or DEV_SANDBOX_SECRET
    callbacks = _get(env, "PAYMENT_SANDBOX_CALLBACKS") or "http"
    if callbacks not in ("http", "off"):
        raise SettingsError("PAYMENT_SANDBOX_CALLBACKS must be http or off")
    return PaymentSettings(
        env=mode, enabled=tuple(enabled), sandbox_secret=secret, sandbox_callbacks=callbacks,
        vnpay_tmn_code=_get(env, "VNPAY_TMN_CODE"), vnpay_hash_secret=_get(env, "VNPAY_HASH_SECRET"),
        vnpay_url=_get(env, "VNPAY_URL") or VNPAY_SANDBOX_URL,
        vnpay_api_url=_get(env, "VNPAY_API_URL") or VNPAY_SANDBOX_API,
        vietqr_bank_bin=bin_, vietqr_account=_get(env, "VIETQR_ACCOUNT"),
        vietqr_account_name=_get(env, "VIETQR_ACCOUNT_NAME"),
        paygov_url=_get(env, "PAYGOV_URL").rstrip("/"), paygov_partner_code=_get(env, "PAYGOV_PARTNER_CODE"),
        paygov_secret=_get(env, "PAYGOV_SECRET"), problems=tuple(problems),
        second_confirm_vnd=_amount(env, "MOTCUA_PAYMENT_SECOND_CONFIRM_VND", 2_000_000),
    )


def _amount(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SettingsError(f"{name} must be a whole number of đồng (got {raw!r})")
    return int(raw)


_cached: PaymentSettings | None = None


def payment_settings() -> PaymentSettings:
    """The process's payment settings (read once; tests call :func:`reset`)."""
    global _cached
    if _cached is None:
        _cached = load_payment_settings()
    return _cached


def reset() -> None:
    global _cached
    _cached = None


def check_payment_settings() -> PaymentSettings:
    """Call at start-up: raises SettingsError (production) or logs what is left out (dev)."""
    import logging

    reset()
    settings = payment_settings()
    for problem in settings.problems:
        logging.getLogger("motcua").warning("payments: %s; the gateway is left out", problem)
    return settings
