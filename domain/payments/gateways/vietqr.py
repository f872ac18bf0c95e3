"""VietQR: a NAPAS bank-transfer QR (EMVCo merchant-presented format) carrying the amount and the
dossier code in the purpose of the transfer. Our own encoder (no package needed): tag-length-value
fields, ending with a CRC-16/CCITT-FALSE over everything before it, "6304" included.

The bank sends us nothing: a payment is confirmed by an officer who sees the transfer, or by
importing the bank statement (CSV), matched by dossier code and amount (``domain.payments.operations``).
"""

from __future__ import annotations

import re
import unicodedata

from domain.payments.gateways.base import Gateway, PaymentInfo, RefundResult, StartResult

NAPAS_GUID = "A000000727"
TO_ACCOUNT = "QRIBFTTA"
TO_CARD = "QRIBFTTC"


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"EMVCo field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def plain(text: str) -> str:
    """Purpose text as banks take it: ASCII letters, digits, spaces and . - (accents removed)."""
    folded = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", re.sub(r"[^A-Za-z0-9 .\-]", " ", folded)).strip()


def encode(bank_bin: str, account: str, amount_vnd: int | None = None, purpose: str = "", *,
           service: str = TO_ACCOUNT) -> str:
    """The VietQR text for a transfer to ``account`` at the bank ``bank_bin`` (6-digit NAPAS BIN)."""
    if not (bank_bin.isdigit() and len(bank_bin) == 6):
        raise ValueError("the bank BIN has 6 digits")
    if not account or len(account) > 19 or not account.isalnum():
        raise ValueError("the account number has 1 to 19 letters or digits")
    if amount_vnd is not None and not 0 < amount_vnd < 10**13:
        raise ValueError("the amount must be positive")
    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", service)
    text = tlv("00", "01") + tlv("01", "12" if amount_vnd else "11") + tlv("38", merchant) + tlv("53", "704")
    if amount_vnd:
        text += tlv("54", str(amount_vnd))
    text += tlv("58", "VN")
    purpose = plain(purpose)[:25]
    if purpose:
        text += tlv("62", tlv("08", purpose))
    text += "6304"
    return text + f"{crc16_ccitt_false(text.encode()):04X}"


def decode(payload: str) -> dict[str, str]:
    """Top-level and nested fields of a VietQR text as ``{"38.01.00": "970415", ...}``; checks the CRC."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise ValueError("no CRC field at the end")
    if f"{crc16_ccitt_false(payload[:-4].encode()):04X}" != payload[-4:].upper():
        raise ValueError("the CRC does not match")
    out: dict[str, str] = {}

    def walk(text: str, prefix: str) -> None:
        i = 0
        while i < len(text):
            tag, size = text[i:i + 2], text[i + 2:i + 4]
            if not size.isdigit() or i + 4 + int(size) > len(text):
                raise ValueError(f"bad field at {prefix}{tag}")
            value = text[i + 4:i + 4 + int(size)]
            key = prefix + tag
            out[key] = value
            if key in ("38", "38.01", "62"):
                walk(value, key + ".")
            i += 4 + int(size)

    walk(payload, "")
    return out


class VietQRGateway(Gateway):
    name = "vietqr"
    redirects = False
    has_callbacks = False

    def __init__(self, bank_bin: str, account: str, account_name: str = "") -> None:
        self.bank_bin, self.account, self.account_name = bank_bin, account, account_name

    def start(self, info: PaymentInfo) -> StartResult:
        return StartResult(qr_payload=encode(self.bank_bin, self.account, info.amount_vnd, info.dossier_code))

    def refund(self, info: PaymentInfo, amount_vnd: int, refund_id: str, by: str) -> RefundResult:
        return RefundResult(None)  # an officer transfers the money back and records it
