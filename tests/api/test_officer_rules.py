"""The rules of Decree 118/2025 and Circular 03/2025 over HTTP: the national status (1–10) and the forms issued
in both dossier APIs, stopping and resuming, a fee asked after intake, a second supplement, the apology only
before the deadline, and the withdrawal an officer accepts. A bad input changes nothing (version, state,
history)."""

from __future__ import annotations

from typing import Any

from tests.api.backoffice import act, filed
from tests.helpers import bearer


def _me(client: Any, tokens: dict[str, Any]) -> int:
    return int(client.get("/api/v1/me", headers=bearer(tokens)).json()["id"])


def _both(client: Any, s: dict[str, Any], citizen: dict[str, Any], dossier_id: int) -> tuple[dict[str, Any], ...]:
    officer = client.get(f"/api/v1/officer/dossiers/{dossier_id}", headers=bearer(s["receiver"]))
    holder = client.get(f"/api/v1/dossiers/{dossier_id}", headers=bearer(citizen))
    assert officer.status_code == holder.status_code == 200
    return officer.json(), holder.json()


def _processing(client: Any, s: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    citizen, d = filed(client, s["code"])
    d = act(client, s["receiver"], d, "receive").json()
    d = act(client, s["receiver"], d, "assign", to_user=_me(client, s["receiver"]), reason="Xử lý").json()
    assert d["status"] == "processing"
    return citizen, d


def test_national_status_and_forms_in_both_apis(client: Any, setting: dict[str, Any]) -> None:
    s = setting
    citizen, d = filed(client, s["code"])
    officer, holder = _both(client, s, citizen, d["id"])
    assert officer["national_status"] == holder["national_status"] == 1 and officer["forms"] == holder["forms"] == []
    d = act(client, s["receiver"], d, "receive").json()
    assert d["national_status"] == 2 and [f["number"] for f in d["forms"]] == ["01"]
    d = act(client, s["receiver"], d, "assign", to_user=_me(client, s["receiver"]), reason="Xử lý").json()
    d = act(client, s["receiver"], d, "route", to_unit=s["unit"], reason="Chuyển").json()
    officer, holder = _both(client, s, citizen, d["id"])
    assert officer["national_status"] == holder["national_status"] == 4
    # the control sheet (06) is one sheet, listed once from the first hand-off
    assert [f["number"] for f in officer["forms"]] == [f["number"] for f in holder["forms"]] == ["01", "06"]
    receipt, sheet = holder["forms"]
    assert receipt["name"] == "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" and receipt["issued_at"]
    assert receipt["url"] == f"/ho-so/{d['id']}/bien-nhan" and sheet["url"] is None
    assert officer["forms"][1]["url"] == f"/can-bo/ho-so/{d['id']}"
    assert officer["forms"][1]["name"] == "Phiếu kiểm soát quá trình giải quyết hồ sơ"
