"""Vietnamese identifiers and the password policy."""

from __future__ import annotations

import pytest

from auth.passwords import check_policy, hash_password, verify_password
from domain.accounts.identifiers import normalise_phone, normalise_username, validate_cccd, validate_tax_code
from domain.errors import InvalidInput


@pytest.mark.parametrize(("raw", "expected"), [
    ("0912345678", "+84912345678"), ("+84912345678", "+84912345678"), ("091 234 5678", "+84912345678"),
    ("0312345678", "+84312345678"), ("0862.123.456", "+84862123456"),
])
def test_phones(raw: str, expected: str) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["0212345678", "091234567", "09123456789", "+8491234567", "abc", "", "0612345678"])
def test_not_mobile_phones(raw: str) -> None:
    assert normalise_phone(raw) is None


def test_username_email_or_phone() -> None:
    assert normalise_username("An.Nguyen@Example.VN") == ("an.nguyen@example.vn", "email")
    assert normalise_username("0987654321") == ("+84987654321", "phone")
    with pytest.raises(InvalidInput):
        normalise_username("not a username")


@pytest.mark.parametrize("cccd", ["001099012345", "079203000123", "096185000001"])
def test_valid_cccd(cccd: str) -> None:
    assert validate_cccd(cccd) == cccd


@pytest.mark.parametrize("cccd", ["00109901234", "0010990123456", "000099012345", "097099012345", "A01099012345"])
def test_invalid_cccd(cccd: str) -> None:
    with pytest.raises(InvalidInput):
        validate_cccd(cccd)


@pytest.mark.parametrize("code", ["0100109106", "0101243150", "0100109106-001", "0100109106001"])
def test_valid_tax_codes(code: str) -> None:
    assert validate_tax_code(code).startswith("0100109106") or validate_tax_code(code) == code


@pytest.mark.parametrize("code", ["0100109107", "010010910", "0100109106-000", "01001091061", "abcdefghij"])
def test_invalid_tax_codes(code: str) -> None:
    with pytest.raises(InvalidInput):
        validate_tax_code(code)


def test_branch_normalised() -> None:
    assert validate_tax_code("0100109106001") == "0100109106-001"


@pytest.mark.parametrize("password", ["short", "1234567", "password", "12345678", "iloveyou", "matkhau123",
                                      "x" * 129])
def test_refused_passwords(password: str) -> None:
    with pytest.raises(InvalidInput):
        check_policy(password)


@pytest.mark.parametrize("password", ["một câu mật khẩu dài", "correct horse battery", "a" * 64 + "b" * 64,
                                      "đăngkýkhaisinh2026"])
def test_accepted_passwords(password: str) -> None:
    check_policy(password)  # no composition rules; 64+ characters accepted


def test_password_equal_to_username_refused() -> None:
    with pytest.raises(InvalidInput):
        check_policy("+84912345678", username="+84912345678")


def test_argon2id_roundtrip() -> None:
    h = hash_password("một câu mật khẩu dài", env="test")
    assert h.startswith("$argon2id$")
    assert verify_password(h, "một câu mật khẩu dài", env="test")
    assert not verify_password(h, "một câu mật khẩu dà", env="test")
    assert not verify_password(None, "anything", env="test")
