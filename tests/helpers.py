"""Small helpers shared by HTTP tests."""

from __future__ import annotations

import secrets
from typing import Any

PASSWORD = "một câu mật khẩu dài"


def new_phone() -> str:
    return "09" + "".join(secrets.choice("0123456789") for _ in range(8))


def register(client: Any, username: str | None = None, password: str = PASSWORD,
             full_name: str = "Nguyễn Văn An") -> str:
    username = username or new_phone()
    r = client.post("/api/v1/auth/register", json={"full_name": full_name, "username": username,
                                                   "password": password})
    assert r.status_code == 201, r.text
    return username


def login(client: Any, username: str, password: str = PASSWORD) -> dict[str, Any]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def signed_in(client: Any) -> tuple[str, dict[str, Any]]:
    username = register(client)
    return username, login(client, username)
