"""Passwords: argon2id hashes and the ASVS L2 policy (length, not composition; no common passwords)."""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128  # at least 64 must be accepted (ASVS 2.1.2); we accept 128
COMMON = Path(__file__).resolve().parent / "data" / "common-passwords.txt"



@functools.cache
def _hasher_for(env: str) -> tuple[PasswordHasher, str]:
    """argon2id, RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes); a cheap one in tests.

    The second value is a hash to spend the same time on when an account does not exist (no user
    enumeration by timing).
    """
    if env == "test":
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    else:
        hasher = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4)
    return hasher, hasher.hash("motcua-timing-equaliser")


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _normalise(password: str) -> str:
    return unicodedata.normalize("NFC", password)


def check_policy(password: str, *, username: str = "", full_name: str = "") -> None:
    password = _normalise(password or "")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự.", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"Mật khẩu dài tối đa {MAX_LENGTH} ký tự.", field="password")
    lowered = password.lower()
    if lowered in common_passwords():
        raise InvalidInput("Mật khẩu này quá phổ biến và dễ bị đoán. Hãy chọn mật khẩu khác, ví dụ một câu ngắn.",
                           field="password")
    if username and lowered in {username.lower(), username.lower().lstrip("+"), "0" + username[3:]}:
        raise InvalidInput("Mật khẩu không được trùng tên đăng nhập.", field="password")


def hash_password(password: str, *, env: str) -> str:
    """The argon2id hash; ``env`` (``AuthSettings.env``) picks the cost: cheap in tests only."""
    return _hasher_for(env)[0].hash(_normalise(password))


def verify_password(stored_hash: str | None, password: str, *, env: str) -> bool:
    """Constant-ish time whether or not there is a hash to check (unknown accounts cost the same)."""
    hasher, dummy = _hasher_for(env)
    try:
        return hasher.verify(stored_hash or dummy, _normalise(password)) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, *, env: str) -> bool:
    return _hasher_for(env)[0].check_needs_rehash(stored_hash)
