"""Payment gateways behind one interface (see :mod:`domain.payments.gateways.base`)."""

from __future__ import annotations

from domain.errors import InvalidInput, NotFound
from domain.payments.gateways.base import Gateway
from domain.payments.gateways.paygov import PaygovGateway
from domain.payments.gateways.sandbox import SandboxGateway
from domain.payments.gateways.vietqr import VietQRGateway, decode
from domain.payments.gateways.vnpay import VnpayGateway
from domain.settings import GATEWAYS, PaymentSettings

LABELS = {"sandbox": "Cổng thử nghiệm (sandbox)", "vnpay": "VNPAY (thẻ ATM, ví, QR ngân hàng)",
          "vietqr": "Chuyển khoản VietQR", "paygov": "Nền tảng thanh toán quốc gia (Paygov)"}


def make(name: str, settings: PaymentSettings) -> Gateway:
    if name == "sandbox":
        return SandboxGateway(settings.sandbox_secret)
    if name == "vnpay":
        return VnpayGateway(settings.vnpay_tmn_code, settings.vnpay_hash_secret, settings.vnpay_url,
                            settings.vnpay_api_url)
    if name == "vietqr":
        return VietQRGateway(settings.vietqr_bank_bin, settings.vietqr_account, settings.vietqr_account_name)
    if name == "paygov":
        return PaygovGateway(settings.paygov_url, settings.paygov_partner_code, settings.paygov_secret)
    raise NotFound(f"Không có cổng thanh toán {name!r}.")


def enabled(name: str, settings: PaymentSettings) -> Gateway:
    """An enabled gateway by name; 400 for a known but disabled one, 404 for an unknown name."""
    if name not in GATEWAYS:
        raise NotFound(f"Không có cổng thanh toán {name[:20]!r}.")
    if not settings.is_enabled(name):
        raise InvalidInput("Cổng thanh toán này chưa được bật.", field="gateway")
    return make(name, settings)


def enabled_names(settings: PaymentSettings) -> tuple[str, ...]:
    return settings.enabled


def vietqr_fields(payload: str) -> dict[str, str]:
    try:
        return decode(payload)
    except ValueError:
        return {}
