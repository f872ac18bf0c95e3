"""Security review finding 8: two tabs refreshing at once keep the session (both get the same new pair);
a replay after the grace, or once the new token was used, still ends the whole family."""
from __future__ import annotations

from typing import Any

from auth.tokens import rotate
from domain.db import Database
from tests.helpers import age_refresh_tokens, auth_cfg, bearer, signed_in

REFRESH = "/api/v1/auth/refresh"


def test_two_tabs_at_once_get_the_same_new_pair(client: Any) -> None:
    _, first = signed_in(client)
    a = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    b = client.post(REFRESH, json={"refresh_token": first["refresh_token"]})
    assert a.status_code == b.status_code == 200, b.text
    assert a.json() == b.json() and a.json()["refresh_token"] != first["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(b.json())).status_code == 200
    third = client.post(REFRESH, json={"refresh_token": a.json()["refresh_token"]})  # the session goes on
    assert third.status_code == 200


def test_the_core_gives_the_same_pair_twice_within_the_grace(client: Any, database_url: str) -> None:
    db = Database(database_url)
    _, first = signed_in(client)
    pairs = [db.run(rotate, first["refresh_token"], cfg=auth_cfg()) for _ in range(2)]
    assert all(p.__class__.__name__ == "TokenPair" for p in pairs) and pairs[0] == pairs[1]


def test_a_replay_after_the_grace_ends_the_family(client: Any, database_url: str) -> None:
    _, first = signed_in(client)
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    age_refresh_tokens(database_url, first["refresh_token"])
    assert client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401
    assert client.post(REFRESH, json={"refresh_token": second["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(second)).status_code == 401


def test_the_old_token_after_its_successor_was_used_ends_the_family(client: Any) -> None:
    _, first = signed_in(client)
    second = client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).json()
    third = client.post(REFRESH, json={"refresh_token": second["refresh_token"]}).json()
    assert (
        client.post(REFRESH, json={"refresh_token": first["refresh_token"]}).status_code == 401
    )  # in grace, but stale
    assert client.get("/api/v1/me", headers=bearer(third)).status_code == 401
