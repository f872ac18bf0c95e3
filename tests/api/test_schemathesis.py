"""schemathesis over the whole OpenAPI document (issue 13): every API operation, with generated input, as a
signed-in citizen and as an officer in a passkey session: no answer is a 5xx, and every answer's status,
content type and body are the ones the document describes (errors: problem details, ``api.web.errors``).

The requests go through the session's test client (the app in this process, its event loop, the test
database); schemathesis generates the cases and checks the answers. Each example gets new sessions (an
example may sign out, or end its session). Bounded so the run takes a few minutes on SQLite:
``MAX_EXAMPLES`` per operation, derandomized (the same cases every run).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from auth.tokens import start_session
from domain.accounts.models import User
from domain.db import Database
from tests import factories
from tests.helpers import auth_cfg

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
# 503 "Push unavailable" is these operations' answer while the server has no VAPID key (the test settings have
# none, so no generated endpoint is ever looked up in DNS); tests/api/test_notifications.py covers them with one
PUSH_OFF = {"GET /api/v1/push/vapid-public-key", "POST /api/v1/push/subscriptions"}


@pytest.fixture(scope="module")
def api_schema(client):  # type: ignore[no-untyped-def]
    document = client.get("/schema/openapi.json").json()
    return schemathesis.openapi.from_dict(document)


@pytest.fixture(scope="module")
def callers(client, catalogue_db: str) -> dict[str, tuple[int, str]]:  # type: ignore[no-untyped-def]
    """The two callers: (user id, the ``amr`` of their sessions). A citizen with a submitted dossier, and an
    officer of that dossier's unit with a passkey (their sessions are passkey sessions)."""
    db = Database(catalogue_db)
    citizen = factories.citizen(db)
    factories.submitted(db, citizen)
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver", "processor", "accountant"), client=client)
    return {"citizen": (citizen.id, "pwd"), "officer": (officer.id, "webauthn")}


def _bearer(db: Database, user_id: int, amr: str) -> dict[str, str]:
    pair = db.run(lambda s: start_session(s, s.get(User, user_id), amr, cfg=auth_cfg()))
    return {"Authorization": f"Bearer {pair.access_token}"}


def _send(client: Any, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://localhost:8000", headers=headers)
    request: dict[str, Any] = {"method": kwargs["method"], "url": kwargs["url"], "headers": kwargs.get("headers"),
                               "params": kwargs.get("params"), "cookies": kwargs.get("cookies"),
                               "follow_redirects": False}
    for name in ("json", "files"):
        if kwargs.get(name) is not None:
            request[name] = kwargs[name]
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    return client.request(**request)


def _examine(operation: Any, client: Any, db: Database, callers: dict[str, tuple[int, str]]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case: Any) -> None:
        for user_id, amr in callers.values():
            client.cookies.clear()
            response = _send(client, case, _bearer(db, user_id, amr))
            push_off = operation.label in PUSH_OFF and response.status_code == 503
            case.validate_response(response, checks=CHECKS[1:] if push_off else CHECKS)

    run()


def test_every_operation(client: Any, api_schema: Any, callers: dict[str, tuple[int, str]],
                         catalogue_db: str) -> None:
    """Every operation of the document (pytest 9 has no node id schemathesis's lazy parametrize can rename, so
    one test walks them all and reports every operation that failed)."""
    db = Database(catalogue_db)
    failures: list[str] = []
    count = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        count += 1
        try:
            _examine(operation, client, db, callers)
        except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis's failures: reported with the others
            failures.append(f"{operation.label}: {str(exc)[:3000]}")
    assert count > 50, "the OpenAPI document lists fewer operations than the app has"
    assert not failures, f"{len(failures)} of {count} operations failed:\n\n" + "\n\n".join(failures)


def test_error_answers_are_documented_as_problem_details(client: Any) -> None:
    """Every API operation's document names problem details for 400 and for any other error status (the
    document described Litestar's own validation body, which the API never sends, and no other error)."""
    spec = client.get("/schema/openapi.json").json()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                for status in ("400", "default"):
                    assert operation["responses"][status]["content"] == problem, f"{method} {path} {status}"
    assert set(spec["components"]["schemas"]["Problem"]["required"]) == {"type", "title", "status", "detail",
                                                                        "instance"}
