"""The rules of Decree 118/2025 and Circular 03/2025 over HTTP: the national status (1–10) and the forms issued
in both dossier APIs, stopping and resuming, a fee asked after intake, a second supplement, the apology only
before the deadline, and the withdrawal an officer accepts. A bad input changes nothing (version, state,
history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from domain.db import Database
from domain.dossiers.models import Dossier
from tests.api.backoffice import act, filed
from tests.api.payments_world import gateways_client, pay, sandbox_callback
from tests.helpers import bearer, fill, is_problem


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
    # each links to its PDF (api/v1/forms.py): the holder's, the back office's
    assert receipt["url"].startswith(f"/api/v1/dossiers/{d['id']}/forms/") and receipt["url"].endswith("/form.pdf")
    assert sheet["url"].startswith(f"/api/v1/dossiers/{d['id']}/forms/")
    assert officer["forms"][1]["url"].startswith(f"/api/v1/officer/dossiers/{d['id']}/forms/")
    assert officer["forms"][1]["name"] == "Phiếu kiểm soát quá trình giải quyết hồ sơ"


def _history(client: Any, citizen: dict[str, Any], dossier_id: int) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/dossiers/{dossier_id}/history", headers=bearer(citizen))
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _unchanged(client: Any, s: dict[str, Any], citizen: dict[str, Any], before: dict[str, Any], r: Any,
               status: int, word: str) -> None:
    """A refused action: a clear 4xx in Vietnamese, and the dossier as it was (version, state, history)."""
    is_problem(r, status, word)
    now = client.get(f"/api/v1/officer/dossiers/{before['id']}", headers=bearer(s["receiver"])).json()
    assert (now["version"], now["status"], now["due_date"]) == (before["version"], before["status"],
                                                                before["due_date"])
    assert len(_history(client, citizen, before["id"])) == before["_history"]


def _snap(client: Any, citizen: dict[str, Any], d: dict[str, Any]) -> dict[str, Any]:
    return {**d, "_history": len(_history(client, citizen, d["id"]))}


def test_stop_needs_a_reason_then_resume(client: Any, setting: dict[str, Any]) -> None:
    s = setting
    citizen, d = _processing(client, s)
    _unchanged(client, s, citizen, _snap(client, citizen, d), act(client, s["receiver"], d, "stop"), 400, "lý do")
    _unchanged(client, s, citizen, _snap(client, citizen, d), act(client, s["receiver"], d, "stop", reason="  "),
               400, "lý do")
    d = act(client, s["receiver"], d, "stop", reason="Đang có tranh chấp, chờ kết luận của Tòa án.").json()
    assert d["status"] == "stopped" and d["national_status"] == 8
    assert [f["number"] for f in d["forms"]] == ["01", "06", "05"] and d["forms"][2]["url"].endswith("/form.pdf")
    holder = client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(citizen)).json()
    assert holder["status_name"] == "Dừng giải quyết" and holder["national_status"] == 8
    # nothing else is done on a stopped dossier but resuming it (or a note)
    is_problem(act(client, s["receiver"], d, "propose", decision="approve"), 409)
    is_problem(act(client, s["receiver"], d, "apologize", reason="Chậm", new_due_date="2031-01-06"), 409)
    d = act(client, s["receiver"], d, "resume").json()
    assert d["status"] == "processing" and d["national_status"] == 4
    events = [h["event"] for h in _history(client, citizen, d["id"])]
    assert events[-2:] == ["stop", "resume"]


@pytest.mark.usefixtures("gateways_on")
def test_fee_after_intake_waits_for_the_payment(client: Any, setting: dict[str, Any]) -> None:
    s = setting
    citizen, d = _processing(client, s)
    for body, word in (({"reason": "Lệ phí"}, "amount_vnd"), ({"amount_vnd": 0, "reason": "x"}, "amount_vnd"),
                       ({"amount_vnd": "50000", "reason": "x"}, "amount_vnd"),
                       ({"amount_vnd": 50_000}, "căn cứ")):
        _unchanged(client, s, citizen, _snap(client, citizen, d), act(client, s["receiver"], d, "request_fee", **body),
                   400, word)
    d = act(client, s["receiver"], d, "request_fee", amount_vnd=50_000,
            reason="Lệ phí theo Nghị quyết 12/2025 của HĐND tỉnh").json()
    assert d["status"] == "fee_requested" and d["national_status"] == 6 and d["fee_vnd"] == 50_000
    # the applicant pays the amount asked the usual way; the payment resumes the dossier through the table
    with gateways_client() as c:  # an app built while the sandbox gateway is on, with its test secret
        payment = pay(c, citizen, d["id"], "sandbox")
        assert payment.status_code == 201, payment.text
        assert payment.json()["amount_vnd"] == 50_000
        assert sandbox_callback(c, payment.json()["reference"], amount=50_000).status_code == 200
    d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(s["receiver"])).json()
    assert d["status"] == "processing" and d["national_status"] == 4
    assert [h["event"] for h in _history(client, citizen, d["id"])][-2:] == ["request_fee", "fee_paid"]
    # a second fee cannot be asked while the dossier has its payment
    is_problem(act(client, s["receiver"], d, "request_fee", amount_vnd=1_000, reason="Thêm"), 409)


def test_a_second_supplement_needs_a_reason_and_is_marked(client: Any, setting: dict[str, Any]) -> None:
    s = setting
    citizen, d = _processing(client, s)
    d = act(client, s["receiver"], d, "request_supplement", missing=["Bản sao CCCD", "Giấy xác nhận cư trú"]).json()
    assert d["status"] == "supplement_requested" and d["national_status"] == 5
    assert [f["number"] for f in d["forms"]][-1] == "02"
    form = client.get(f"/api/v1/procedures/{s['code']}/form").json()
    fill(client, citizen, d["id"], form)
    assert client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(citizen)).status_code == 200
    d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(s["receiver"])).json()
    d = act(client, s["receiver"], d, "receive").json()
    d = act(client, s["receiver"], d, "assign", to_user=_me(client, s["receiver"])).json()
    _unchanged(client, s, citizen, _snap(client, citizen, d),
               act(client, s["receiver"], d, "request_supplement", missing=["Bản chính"]), 400, "lần nữa")
    d = act(client, s["receiver"], d, "request_supplement", missing=["Bản chính giấy xác nhận"],
            reason="Bản đã nộp là bản chụp, không đọc được").json()
    assert d["status"] == "supplement_requested"
    history = _history(client, citizen, d["id"])
    supplements = [h for h in history if h["event"] == "request_supplement"]
    assert len(supplements) == 2 and "không đọc được" in supplements[1]["reason"]
    assert [f["number"] for f in d["forms"]].count("02") == 2


def test_apology_only_before_the_deadline(client: Any, setting: dict[str, Any], database_url: str) -> None:
    s = setting
    citizen, d = _processing(client, s)
    later = (datetime.fromisoformat(d["due_date"]) + timedelta(days=14))
    while later.weekday() >= 5:
        later += timedelta(days=1)
    _unchanged(client, s, citizen, _snap(client, citizen, d),
               act(client, s["receiver"], d, "apologize", new_due_date=later.date().isoformat()), 400, "lý do")
    # the deadline has passed: too late for form 04
    Database(database_url).run(lambda x: x.execute(update(Dossier).where(Dossier.id == d["id"]).values(
        due_at=datetime.now(UTC) - timedelta(hours=1))))
    d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(s["receiver"])).json()
    _unchanged(client, s, citizen, _snap(client, citizen, d),
               act(client, s["receiver"], d, "apologize", reason="Cần xác minh",
                   new_due_date=later.date().isoformat()), 409, "trước khi hết hạn")


def test_withdrawal_is_asked_then_accepted(client: Any, setting: dict[str, Any]) -> None:
    s = setting
    # before intake the applicant withdraws at once
    citizen, d = filed(client, s["code"])
    r = client.post(f"/api/v1/dossiers/{d['id']}/withdraw", headers=bearer(citizen), json={"reason": "Nộp nhầm"})
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["national_status"] == 7
    # a received dossier: asked (national status 7), the officer accepts it
    citizen, d = _processing(client, s)
    is_problem(client.post(f"/api/v1/dossiers/{d['id']}/withdraw", headers=bearer(citizen), json={"reason": " "}),
               400, "lý do")
    r = client.post(f"/api/v1/dossiers/{d['id']}/withdraw", headers=bearer(citizen),
                    json={"reason": "Không còn nhu cầu"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawal_requested" and r.json()["national_status"] == 7
    d = client.get(f"/api/v1/officer/dossiers/{d['id']}", headers=bearer(s["receiver"])).json()
    is_problem(act(client, s["stranger"], d, "accept_withdrawal"), 404)
    d = act(client, s["receiver"], d, "accept_withdrawal").json()
    assert d["status"] == "withdrawn" and d["national_status"] == 7
    assert [h["event"] for h in _history(client, citizen, d["id"])][-2:] == ["request_withdrawal",
                                                                             "accept_withdrawal"]


def test_refused_at_intake(client: Any, setting: dict[str, Any]) -> None:
    s = setting
    citizen, d = filed(client, s["code"])
    d = act(client, s["receiver"], d, "refuse_intake", reason="Không thuộc thẩm quyền").json()
    assert d["status"] == "refused_at_intake" and d["national_status"] == 3
    assert [f["number"] for f in d["forms"]] == ["03"]


def test_the_new_actions_are_in_the_openapi_document(client: Any) -> None:
    doc = client.get("/schema/openapi.json").json()
    post = doc["paths"]["/api/v1/officer/dossiers/{dossier_id}/actions/{action}"]["post"]
    bodies = {b["title"]: b for b in post["requestBody"]["content"]["application/json"]["schema"]["anyOf"]}
    for name in ("Stop", "Resume", "RequestFee", "AcceptWithdrawal", "Apologize", "RequestSupplement"):
        assert name in bodies, name
    assert bodies["RequestFee"]["properties"]["amount_vnd"]["minimum"] == 1
    assert "new_due_date" in bodies["Apologize"]["required"]
    schemas = doc["components"]["schemas"]
    assert "national_status" in schemas["DossierOut"]["properties"] and "IssuedFormOut" in schemas
