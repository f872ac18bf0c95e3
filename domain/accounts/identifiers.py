"""Vietnamese identifiers: phone numbers, CCCD (citizen ID), tax codes; and e-mail addresses."""

from __future__ import annotations

import re

from domain.errors import InvalidInput

PHONE = re.compile(r"^(0|\+84)(3|5|7|8|9)\d{8}$")  # mobile numbers, as the issue defines them
EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
CCCD = re.compile(r"^\d{12}$")
TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def normalise_phone(value: str) -> str | None:
    """'0912 345 678' / '+84912345678' → '+84912345678'; None when it is not a mobile number."""
    compact = re.sub(r"[\s.\-()]", "", value or "")
    if not PHONE.match(compact):
        return None
    return "+84" + compact[1:] if compact.startswith("0") else compact


def normalise_email(value: str) -> str | None:
    value = (value or "").strip()
    if len(value) > 254 or not EMAIL.match(value):
        return None
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}".lower()


def normalise_username(value: str) -> tuple[str, str]:
    """A username is a phone number or an e-mail address: returns (normalised, 'phone' | 'email')."""
    phone = normalise_phone(value)
    if phone:
        return phone, "phone"
    email = normalise_email(value)
    if email:
        return email, "email"
    raise InvalidInput("Tên đăng nhập phải là số điện thoại di động (ví dụ 0912345678) hoặc địa chỉ email.",
                       field="username")


def validate_cccd(value: str) -> str:
    """12 digits: province code 001–096, then the century/gender digit (0–9), no check digit."""
    value = (value or "").strip()
    if not CCCD.match(value):
        raise InvalidInput("Số CCCD gồm đúng 12 chữ số.", field="cccd")
    if not 1 <= int(value[:3]) <= 96:
        raise InvalidInput("Ba chữ số đầu của CCCD là mã tỉnh nơi đăng ký khai sinh (001–096).", field="cccd")
    return value


def validate_tax_code(value: str) -> str:
    """10 digits with the official check digit, or 13 as ``0123456789-001`` (a branch)."""
    value = (value or "").strip().replace(" ", "")
    match = re.fullmatch(r"(\d{10})(?:-?(\d{3}))?", value)
    if not match:
        raise InvalidInput("Mã số thuế gồm 10 chữ số, hoặc 13 chữ số dạng 0123456789-001 cho chi nhánh.",
                           field="tax_code")
    main, branch = match.group(1), match.group(2)
    if 10 - sum(int(d) * w for d, w in zip(main[:9], TAX_WEIGHTS, strict=True)) % 11 != int(main[9]):
        raise InvalidInput("Mã số thuế không đúng (sai chữ số kiểm tra).", field="tax_code")
    if branch is not None and branch == "000":
        raise InvalidInput("Mã chi nhánh (3 số cuối) phải từ 001 đến 999.", field="tax_code")
    return f"{main}-{branch}" if branch else main
