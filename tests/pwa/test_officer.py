"""The officers' workspace as a browser without JavaScript uses it: queue tabs and search, the dossier pane,
every action through a plain form (version + CSRF), the stale-version 409 with the fresh state, 403 / 404 /
passkey enrolment, the logbook CSV, and the public verify page of a result. The one action that needs a
script — approving with a passkey — is driven here the way ``/static/officer.js`` does it (JSON + CSRF
header), with a software authenticator."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from api.cli import main as cli
from domain.db import Database
from domain.dossiers.models import Dossier
from tests import factories
from tests.helpers import (
    HANDMADE,
    PASSWORD,
    Person,
    bearer,
    csrf_of,
    fill,
    jpeg,
    meta_csrf,
    new_phone,
    page_client,
    signed_in,
)

OTHER_UNIT = "000.00.13.H56"


@pytest.fixture(scope="module")
def people(client) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    items = client.get("/api/v1/procedures", params={"online": "true", "level": "commune", "page_size": 100}).json()
    code = next(i["code"] for i in items["items"] if i["code"] not in HANDMADE and 1 <= len(
        client.get(f"/api/v1/procedures/{i['code']}/form").json()["documents"]) <= 3)
    unit = client.get(f"/api/v1/procedures/{code}").json()["offer"]["unit_code"]

    def staff(role: str, unit_code: str, name: str, passkey: bool = True) -> Person:
        username = new_phone()
        assert cli(["create-user", "--role", role, "--username", username, "--password", PASSWORD,
                    "--unit", unit_code, "--full-name", name]) == 0
        return Person(client, stack.enter_context(page_client()), username, passkey)

    with contextlib.ExitStack() as stack:
        citizen_name, _ = signed_in(client)
        yield {
            "code": code, "unit": unit,
            "receiver": staff("officer", unit, "Nguyễn Tiếp Nhận"),
            "approver": staff("approver", unit, "Trần Lãnh Đạo"),
            "other": staff("officer", OTHER_UNIT, "Lê Đơn Vị Khác"),
            "no_passkey": staff("officer", unit, "Võ Chưa Có Khoá", passkey=False),
            "citizen": Person(client, stack.enter_context(page_client()), citizen_name, passkey=False),
        }


def file_dossier(client: Any, code: str, *, name: str | None = None) -> dict[str, Any]:
    """A citizen files a dossier through the API: a unique name and CCCD to search for, photos attached."""
    _, tokens = signed_in(client)
    name = name or f"Đặng Văn {secrets.token_hex(3).upper()}"
    cccd = "072" + "".join(secrets.choice("0123456789") for _ in range(9))
    form = client.get(f"/api/v1/procedures/{code}/form").json()
    d = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": code}).json()
    fill(client, tokens, d["id"], form, name=name, cccd=cccd)
    assert client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(tokens)).status_code == 200
    out = client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(tokens)).json()
    return {**out, "name": name, "cccd": cccd, "tokens": tokens}


def version_on(html: str) -> int:
    """The dossier version every action form of the pane carries."""
    found = set(re.findall(r'name="version" value="(\d+)"', html))
    assert len(found) == 1, found
    return int(found.pop())


def act(person: Person, dossier_id: int, action: str, version: int | None = None, **fields: Any) -> Any:
    pane = f"/can-bo/ho-so/{dossier_id}"
    if version is None:
        version = version_on(person.get(pane).text)
    return person.form(f"{pane}/xu-ly/{action}?xem=tat-ca", {"version": version, **fields}, page_url=pane)


def done(r: Any, dossier_id: int, action: str) -> None:
    assert r.status_code == 303, r.text[:2000]
    assert r.headers["location"] == f"/can-bo/ho-so/{dossier_id}?xem=tat-ca&ok={action}"


# --- who may come in -----------------------------------------------------------------------
def test_only_officers_with_a_passkey_and_only_their_units(client, people) -> None:  # type: ignore[no-untyped-def]
    d = file_dossier(client, people["code"])
    anonymous = page_client()
    with anonymous:
        r = anonymous.get("/can-bo", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/dang-nhap?next=")
    citizen = people["citizen"].get("/can-bo", follow_redirects=False)
    assert citizen.status_code == 403 and "cán bộ" in citizen.text
    assert people["citizen"].get(f"/can-bo/ho-so/{d['id']}", follow_redirects=False).status_code == 403
    # an officer without a passkey is sent to enrol one first (sign-in already did, the workspace too)
    lacking = people["no_passkey"]
    r = lacking.get("/can-bo", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/tai-khoan?enrol=1"
    assert lacking.get(f"/can-bo/ho-so/{d['id']}", follow_redirects=False).headers["location"] == "/tai-khoan?enrol=1"
    # another unit's officer: the dossier, its documents and its actions do not exist
    other = people["other"]
    assert f">{d['code']}<" not in other.get("/can-bo?xem=tat-ca").text
    assert other.get(f"/can-bo/ho-so/{d['id']}").status_code == 404
    doc_id = d["documents"][0]["document"]["id"]
    assert other.get(f"/can-bo/ho-so/{d['id']}/tai-lieu/{doc_id}").status_code == 404
    r = other.form(f"/can-bo/ho-so/{d['id']}/xu-ly/receive", {"version": d["version"]})
    assert r.status_code == 404
    assert people["receiver"].get(f"/can-bo/ho-so/{d['id']}").status_code == 200
    # a document of another dossier is not reachable through this one
    d2 = file_dossier(client, people["code"])
    other_doc = d2["documents"][0]["document"]["id"]
    assert people["receiver"].get(f"/can-bo/ho-so/{d['id']}/tai-lieu/{other_doc}").status_code == 404
    # unknown actions
    assert act(people["receiver"], d["id"], "fly", version=d["version"]).status_code == 404
    assert act(people["receiver"], d["id"], "approve", version=d["version"]).status_code == 404


# --- the queue -----------------------------------------------------------------------------
def test_queue_tabs_search_and_due_markers(client, people, database_url: str) -> None:  # type: ignore[no-untyped-def]
    receiver = people["receiver"]
    d = file_dossier(client, people["code"])
    page = receiver.get("/can-bo")
    assert page.status_code == 200
    html = page.text
    for tab in ("Mới", "Bổ sung", "Của tôi", "Sắp đến hạn", "Quá hạn", "Tất cả"):
        assert f">{tab}</a>" in html
    assert re.search(r'href="/can-bo\?xem=moi"[^>]*aria-current="page"', html)
    assert d["code"] in html and d["name"] in html
    assert 'hx-target="#pane"' in html and 'hx-push-url="true"' in html
    assert f'href="/can-bo/ho-so/{d["id"]}?xem=moi"' in html  # a plain link works without JavaScript
    assert d["code"] in receiver.get("/can-bo?xem=tat-ca").text
    assert d["code"] not in receiver.get("/can-bo?xem=cua-toi").text
    assert d["code"] not in receiver.get("/can-bo?xem=bo-sung").text
    assert d["code"] in receiver.get("/can-bo?xem=all").text  # the API's names work too
    # search by code, by name, by CCCD; something else finds nothing
    for term in (d["code"], d["name"], d["cccd"]):
        found = receiver.get("/can-bo", params={"xem": "tat-ca", "q": term}).text
        assert d["code"] in found, term
    nothing = receiver.get("/can-bo", params={"xem": "tat-ca", "q": "không có hồ sơ nào như thế"}).text
    assert d["code"] not in nothing and "0 hồ sơ khớp" in nothing
    # htmx asks for the queue alone
    partial = receiver.get("/can-bo", params={"xem": "tat-ca", "q": d["code"]},
                           headers={"HX-Request": "true", "HX-Target": "queue"})
    assert partial.status_code == 200 and "<html" not in partial.text and d["code"] in partial.text
    # due soon and overdue: received dossiers whose appointment is tomorrow / was yesterday
    soon, late = d, file_dossier(client, people["code"])
    for x in (soon, late):
        done(act(receiver, x["id"], "receive"), x["id"], "receive")
    db = Database(database_url)
    now = datetime.now(UTC)
    db.run(lambda s: s.execute(update(Dossier).where(Dossier.id == soon["id"]).values(due_at=now + timedelta(hours=2))))
    db.run(lambda s: s.execute(update(Dossier).where(Dossier.id == late["id"]).values(due_at=now - timedelta(days=1))))
    due_soon = receiver.get("/can-bo?xem=sap-den-han").text
    overdue = receiver.get("/can-bo?xem=qua-han").text
    assert soon["code"] in due_soon and late["code"] not in due_soon
    assert late["code"] in overdue and soon["code"] not in overdue
    assert re.search(re.escape(late["code"]) + r".*?badge late\">Quá hạn<", overdue, re.S)
    assert re.search(re.escape(soon["code"]) + r".*?badge partial\">Sắp đến hạn<", due_soon, re.S)
    pane = receiver.get(f"/can-bo/ho-so/{late['id']}").text
    assert 'class="badge late">Quá hạn<' in pane


def test_queue_shows_each_dossiers_channel_and_filters_by_it(client, people,  # type: ignore[no-untyped-def]
                                                             database_url: str) -> None:
    receiver = people["receiver"]
    online, counter, post = (file_dossier(client, people["code"]) for _ in range(3))
    db = Database(database_url)
    for d, channel in ((counter, "counter"), (post, "post")):  # what counter and postal intake store
        db.run(lambda s, d=d, channel=channel: s.execute(update(Dossier).where(Dossier.id == d["id"])
                                                         .values(channel=channel)))

    def badge(html: str, d: dict[str, Any]) -> str:
        found = re.search(re.escape(d["code"]) + r'.*?<b class="badge ch-(\w+)">([^<]+)</b>', html, re.S)
        assert found, d["code"]
        return f"{found.group(1)}:{found.group(2)}"

    html = receiver.get("/can-bo?xem=tat-ca").text
    assert [badge(html, d) for d in (online, counter, post)] == [
        "online:Trực tuyến", "counter:Trực tiếp", "post:Bưu chính"]
    assert '<label for="queue-kenh" class="vh">Kênh nộp</label>' in html and ">Mọi kênh nộp</option>" in html
    by_post = receiver.get("/can-bo", params={"xem": "tat-ca", "kenh": "buu-chinh"}).text
    assert post["code"] in by_post and online["code"] not in by_post and counter["code"] not in by_post
    assert '<option value="buu-chinh" selected>' in by_post
    assert f'href="/can-bo/ho-so/{post["id"]}?xem=tat-ca&amp;kenh=buu-chinh"' in by_post  # kept in every link
    at_counter = receiver.get("/can-bo", params={"xem": "tat-ca", "kenh": "truc-tiep", "q": counter["code"]}).text
    assert counter["code"] in at_counter and "1 hồ sơ khớp" in at_counter
    # an unknown channel is no filter at all
    assert online["code"] in receiver.get("/can-bo", params={"xem": "tat-ca", "kenh": "fax"}).text
    try:
        english = receiver.get("/can-bo", params={"xem": "tat-ca", "lang": "en"}).text
        assert [badge(english, d) for d in (online, counter, post)] == [
            "online:Online", "counter:In person", "post:By post"]
        assert ">All channels</option>" in english
    finally:
        receiver.get("/can-bo?lang=vi")


def test_english(people) -> None:  # type: ignore[no-untyped-def]
    try:
        html = people["receiver"].get("/can-bo?lang=en").text
        assert '<html lang="en">' in html
        for tab in ("New", "Supplements", "Mine", "Due soon", "Overdue", "All"):
            assert f">{tab}</a>" in html
        assert "One-stop dossier processing" in html and "Dossier logbook (form 07)" in html
    finally:
        people["receiver"].get("/can-bo?lang=vi")


# --- the dossier pane ------------------------------------------------------------------------
def test_dossier_pane_full_page_and_htmx(client, people) -> None:  # type: ignore[no-untyped-def]
    receiver = people["receiver"]
    d = file_dossier(client, people["code"])
    full = receiver.get(f"/can-bo/ho-so/{d['id']}?xem=tat-ca")
    html = full.text
    assert full.status_code == 200 and 'id="queue"' in html and 'id="pane"' in html  # both panes
    assert full.headers["cache-control"] == "private, no-store" and "HX-Target" in full.headers["vary"]
    assert re.search(rf'href="/can-bo/ho-so/{d["id"]}\?xem=tat-ca"[^>]*aria-current="true"', html)
    # the form with the labels of its schema, the documents, the history, the actions of this state
    for text in ("Họ và tên người nộp", d["name"], "Số CCCD", d["cccd"], "12 Đường 30/4", "Nội dung đề nghị",
                 "Đề nghị giải quyết", "Nộp hồ sơ", "Đã nộp, chờ tiếp nhận"):
        assert text in html, text
    doc_id = d["documents"][0]["document"]["id"]
    assert f'<img src="/can-bo/ho-so/{d["id"]}/tai-lieu/{doc_id}"' in html and "data-zoom=" in html
    image = receiver.get(f"/can-bo/ho-so/{d['id']}/tai-lieu/{doc_id}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["x-content-type-options"] == "nosniff"
    for action in ("receive", "request_supplement", "refuse_intake"):
        assert f"/xu-ly/{action}?" in html, action
    assert "/xu-ly/assign" not in html and "/ky/approve" not in html
    # the approver of the unit sees it, without the receiver's buttons
    approver = people["approver"].get(f"/can-bo/ho-so/{d['id']}").text
    assert d["name"] in approver and "/xu-ly/receive" not in approver
    # htmx asks for the pane alone
    pane = receiver.get(f"/can-bo/ho-so/{d['id']}", headers={"HX-Request": "true", "HX-Target": "pane"})
    assert pane.status_code == 200 and "<html" not in pane.text and 'id="queue"' not in pane.text
    assert d["name"] in pane.text and 'id="d-title"' in pane.text
    # htmx's history restore gets the whole page
    restore = receiver.get(f"/can-bo/ho-so/{d['id']}", headers={"HX-Request": "true",
                                                                "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    assert receiver.get("/can-bo/ho-so/99999999").status_code == 404


# --- the workflow through forms --------------------------------------------------------------
def test_lifecycle_through_forms_with_signed_approval(client, people) -> None:  # type: ignore[no-untyped-def]
    receiver, approver, other = people["receiver"], people["approver"], people["other"]
    d = file_dossier(client, people["code"])
    pane = f"/can-bo/ho-so/{d['id']}"
    r = act(receiver, d["id"], "receive")
    done(r, d["id"], "receive")
    after = receiver.get(r.headers["location"]).text
    assert "Đã thực hiện: Tiếp nhận hồ sơ." in after and "Đã tiếp nhận" in after
    # a stale version: a clear 409, nothing changed, the fresh state shown with its new version
    stale = act(receiver, d["id"], "note", version=d["version"], reason="Ghi chú từ trang cũ")
    assert stale.status_code == 409
    assert "phiên bản" in stale.text and "trạng thái mới nhất" in stale.text and "Đã tiếp nhận" in stale.text
    assert version_on(stale.text) > d["version"] and "Ghi chú từ trang cũ" in stale.text  # the text is kept
    assert "Ghi chú từ trang cũ" not in receiver.get(pane).text.split('id="hist-h"')[1]
    # assign to a processor of the unit (the receiver is one too)
    assert f'<option value="{receiver.id}"' in receiver.get(pane).text
    done(act(receiver, d["id"], "assign", to_user=receiver.id, reason="Xử lý ngay"), d["id"], "assign")
    html = receiver.get(pane).text
    assert "Đang giải quyết" in html and "Nguyễn Tiếp Nhận" in html
    assert d["code"] in receiver.get("/can-bo?xem=cua-toi").text
    # an internal note, marked as such; the citizen never sees it
    done(act(receiver, d["id"], "note", reason="Cần kiểm tra bản gốc"), d["id"], "note")
    assert re.search(r'class="internal".*?Ghi chú nội bộ.*?Nội bộ.*?Cần kiểm tra bản gốc', receiver.get(pane).text,
                     re.S)
    mine = client.get(f"/api/v1/dossiers/{d['id']}/history", headers=bearer(d["tokens"])).json()
    assert "note" not in [h["event"] for h in mine]
    # ask another unit's opinion; that unit now sees the dossier and answers
    done(act(receiver, d["id"], "consult", to_unit=OTHER_UNIT, reason="Xin xác nhận nơi cư trú"), d["id"],
         "consult")
    asked = other.get(pane)
    assert (
        asked.status_code == 200
        and "Xin xác nhận nơi cư trú" in asked.text
        and "/xu-ly/answer_consultation" in asked.text
    )
    done(act(other, d["id"], "answer_consultation", reason="Đúng nơi cư trú"), d["id"], "answer_consultation")
    assert "Đúng nơi cư trú" in receiver.get(pane).text
    # route to another unit with a step deadline: the control sheet (form 06)
    bad = act(receiver, d["id"], "route", to_unit=OTHER_UNIT, reason="Chuyển", step_due_date="31/12/2030")
    assert bad.status_code == 400 and "yyyy-mm-dd" in bad.text and 'id="a-route" open' in bad.text
    done(act(receiver, d["id"], "route", to_unit=OTHER_UNIT, to_user="", reason="Chuyển phòng chuyên môn",
             step_due_date="2030-01-04"), d["id"], "route")
    html = receiver.get(pane).text
    assert "Phiếu kiểm soát quá trình giải quyết hồ sơ (mẫu 06)" in html and "Chuyển phòng chuyên môn" in html
    assert "04/01/2030" in html
    # propose approval without a result: refused with the reason
    refused = act(receiver, d["id"], "propose", decision="approve")
    assert refused.status_code == 409 and "result" in refused.text
    # attach a result file (multipart, streamed; the CSRF token travels in the body) …
    token = csrf_of(receiver.get(pane).text)
    version = version_on(receiver.get(pane).text)
    no_csrf = receiver.page.post(f"{pane}/ket-qua", data={"version": version},
                                 files={"file": ("kq.jpg", jpeg((800, 600)), "image/jpeg")})
    assert no_csrf.status_code == 403
    up = receiver.page.post(f"{pane}/ket-qua?xem=tat-ca&_csrf_token={token}", data={"version": version,
                                                                                  "title": "Giấy xác nhận"},
                            files={"file": ("kq.jpg", jpeg((800, 600)), "image/jpeg")}, follow_redirects=False)
    done(up, d["id"], "result")
    assert "Giấy xác nhận" in receiver.get(pane).text
    stale_upload = receiver.page.post(f"{pane}/ket-qua", params={"_csrf_token": token}, data={"version": version},
                                      files={"file": ("kq.jpg", jpeg((700, 500)), "image/jpeg")})
    assert stale_upload.status_code == 409 and "phiên bản" in stale_upload.text
    # … or generate it from the template (the PDF the QR code is printed on)
    generated = receiver.form(f"{pane}/ket-qua/tao?xem=tat-ca", {"version": version_on(receiver.get(pane).text)},
                              page_url=pane)
    done(generated, d["id"], "result")
    html = receiver.get(pane).text
    verify_match = re.search(r'<a href="(http://localhost:8000/xac-minh/[^"]+)" data-verify-url>', html)
    result_match = re.search(rf'href="({pane}/ket-qua/\d+)"', html)
    assert verify_match is not None and result_match is not None
    verify_url, result_link = verify_match.group(1), result_match.group(1)
    pdf = receiver.get(result_link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content[:4] == b"%PDF"
    done(act(receiver, d["id"], "propose", decision="approve", reason="Đủ điều kiện"), d["id"], "propose")
    html = approver.get(pane).text
    assert "Chờ lãnh đạo phê duyệt" in html and f"{pane}/ky/approve" in html and "data-sign" in html
    assert "/ky/approve" not in receiver.get(pane).text  # only the approver signs
    # without JavaScript the signing form explains itself
    plain = approver.form(f"{pane}/ky/approve", {"version": version_on(html)}, page_url=pane)
    assert plain.status_code == 400 and "JavaScript" in plain.text
    # officer.js: options bound to this dossier → the passkey signs → the decision
    csrf = {"X-CSRFToken": csrf_of(approver.get(pane).text)}
    assert approver.page.post(f"{pane}/ky/approve/options").status_code == 403  # no CSRF header
    assert receiver.page.post(f"{pane}/ky/approve/options", headers={
        "X-CSRFToken": csrf_of(receiver.get(pane).text), "Accept": "application/json"}).status_code == 409
    options = approver.page.post(f"{pane}/ky/approve/options", headers={**csrf, "Accept": "application/json"})
    assert options.status_code == 200, options.text
    version = version_on(approver.get(pane).text)
    wrong = approver.page.post(f"{pane}/ky/reject/options", headers={**csrf, "Accept": "application/json"},
                               json={"reason": "Không đủ"}).json()
    refused = approver.page.post(f"{pane}/ky/approve", headers={**csrf, "Accept": "application/json"}, json={
        "version": version, "assertion": approver.auth.get(wrong)})
    assert refused.status_code == 400  # an assertion made for "reject" does not approve
    options = approver.page.post(f"{pane}/ky/approve/options", headers={**csrf, "Accept": "application/json"})
    signed = approver.page.post(f"{pane}/ky/approve?xem=tat-ca", headers={**csrf, "Accept": "application/json"},
                                json={"version": version, "assertion": approver.auth.get(options.json())})
    assert signed.status_code == 200, signed.text
    assert signed.json() == {"redirect": f"{pane}?xem=tat-ca&ok=approve"}
    html = approver.get(signed.json()["redirect"]).text
    assert "Đã phê duyệt" in html and "Quyết định đã ký" in html and "Trần Lãnh Đạo" in html
    check = client.get(f"/api/v1/dossiers/{d['id']}/decision/verify", headers=bearer(d["tokens"])).json()
    assert check["valid"] is True
    # issue and return: the result lands in the wallet; the QR page verifies it
    assert "chưa được ban hành" in client.get(verify_url.removeprefix("http://localhost:8000")).text
    done(act(receiver, d["id"], "issue_result"), d["id"], "issue_result")
    done(act(receiver, d["id"], "return_result"), d["id"], "return_result")
    html = receiver.get(pane).text
    assert "Đã trả kết quả" in html and ("Đúng hạn" in html or "Trước hạn" in html)
    assert any(w["kind"] == "result" for w in client.get("/api/v1/documents", headers=bearer(d["tokens"])).json())
    verify = client.get(verify_url.removeprefix("http://localhost:8000"))
    assert verify.status_code == 200
    for text in ("Cơ quan ban hành", "Thủ tục", "Ngày ban hành", backoffice_sha(pdf.content)):
        assert text in verify.text
    for private in (d["name"], d["cccd"], d["code"], "0912345678"):
        assert private not in verify.text
    path = verify_url.removeprefix("http://localhost:8000")
    same = client.post(path, files={"file": ("ket-qua.pdf", pdf.content, "application/pdf")})
    assert same.status_code == 200 and "Khớp" in same.text and "Không khớp" not in same.text
    forged = client.post(path, files={"file": ("ket-qua.pdf", pdf.content + b"%", "application/pdf")})
    assert forged.status_code == 200 and "Không khớp" in forged.text
    empty = client.post(path, files={"other": ("x.txt", b"x", "text/plain")})
    assert empty.status_code == 400 and "Chưa chọn tệp" in empty.text
    assert client.get("/xac-minh/khong-co-ma-nay").status_code == 404
    assert client.post("/xac-minh/khong-co-ma-nay", files={"file": ("a.pdf", b"%PDF", "application/pdf")}
                       ).status_code == 404


def backoffice_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_supplement_refusal_and_apology_forms(client, people) -> None:  # type: ignore[no-untyped-def]
    receiver = people["receiver"]
    d = file_dossier(client, people["code"])
    empty = act(receiver, d["id"], "request_supplement", missing="  \n ")
    assert empty.status_code == 400 and "missing" in empty.text and 'id="a-request_supplement" open' in empty.text
    done(act(receiver, d["id"], "request_supplement", missing="Bản sao CCCD rõ nét\n\nẢnh chụp sổ hộ khẩu\n"),
         d["id"], "request_supplement")
    html = receiver.get(f"/can-bo/ho-so/{d['id']}").text
    assert "Cần bổ sung hồ sơ" in html and "Tạm dừng tính hạn" in html  # until the citizen resubmits
    history = client.get(f"/api/v1/dossiers/{d['id']}/history", headers=bearer(d["tokens"])).json()
    assert history[-1]["event"] == "request_supplement"
    assert "Bản sao CCCD rõ nét" in history[-1]["reason"] and "Ảnh chụp sổ hộ khẩu" in history[-1]["reason"]
    assert "/xu-ly/" not in html.split('id="act-h"')[1].split("</section>")[0].replace("/xu-ly/note", "")
    # resubmitted: in the "supplements" tab
    assert client.post(f"/api/v1/dossiers/{d['id']}/submit", headers=bearer(d["tokens"])).status_code == 200
    assert d["code"] in receiver.get("/can-bo?xem=bo-sung").text
    # a second request is offered only with its reason (and counts the dossier late)
    again = receiver.get(f"/can-bo/ho-so/{d['id']}").text
    assert "/xu-ly/request_supplement" in again and 'id="request_supplement-reason"' in again
    assert "hồ sơ bị tính là trễ hạn" in again
    refused = act(receiver, d["id"], "request_supplement", missing="Bản chính")
    assert refused.status_code == 400 and 'id="a-request_supplement" open' in refused.text
    assert "lần nữa phải nêu lý do" in refused.text
    # refusing needs a reason
    d2 = file_dossier(client, people["code"])
    assert act(receiver, d2["id"], "refuse_intake", reason="").status_code == 409
    done(act(receiver, d2["id"], "refuse_intake", reason="Không thuộc thẩm quyền"), d2["id"], "refuse_intake")
    assert "Từ chối tiếp nhận" in receiver.get(f"/can-bo/ho-so/{d2['id']}").text
    # apology (form 04) with a new appointment
    d3 = file_dossier(client, people["code"])
    done(act(receiver, d3["id"], "receive"), d3["id"], "receive")
    past = act(receiver, d3["id"], "apologize", reason="Chậm", new_due_date="2000-01-03")
    assert past.status_code == 400 and 'id="a-apologize" open' in past.text
    done(act(receiver, d3["id"], "apologize", reason="Cần xác minh thêm", new_due_date="2030-01-07"), d3["id"],
         "apologize")
    html = receiver.get(f"/can-bo/ho-so/{d3['id']}").text
    assert "07/01/2030" in html and "hẹn lại" in html and "Cần xác minh thêm" in html


def test_send_back_and_signed_rejection(client, people) -> None:  # type: ignore[no-untyped-def]
    receiver, approver = people["receiver"], people["approver"]
    d = file_dossier(client, people["code"])
    pane = f"/can-bo/ho-so/{d['id']}"
    done(act(receiver, d["id"], "receive"), d["id"], "receive")
    done(act(receiver, d["id"], "assign", to_user=receiver.id), d["id"], "assign")
    done(act(receiver, d["id"], "propose", decision="reject", reason="Không đủ điều kiện"), d["id"], "propose")
    # the leader sends it back with a reason
    assert "/xu-ly/send_back" in approver.get(pane).text
    assert act(approver, d["id"], "send_back", reason="").status_code == 409
    done(act(approver, d["id"], "send_back", reason="Cần xác minh lại"), d["id"], "send_back")
    assert "Đang giải quyết" in receiver.get(pane).text and "Cần xác minh lại" in receiver.get(pane).text
    done(act(receiver, d["id"], "propose", decision="reject", reason="Vẫn không đủ"), d["id"], "propose")
    # a rejection is signed too, and needs a reason; a stale version is a 409 with the current one
    headers = {"X-CSRFToken": meta_csrf(approver.get(pane).text), "Accept": "application/json"}
    version = version_on(approver.get(pane).text)
    options = approver.page.post(f"{pane}/ky/reject/options", headers=headers, json={"reason": "Không đủ"}).json()
    stale = approver.page.post(f"{pane}/ky/reject", headers=headers, json={
        "version": version - 1, "reason": "Không đủ", "assertion": approver.auth.get(options)})
    assert stale.status_code == 409 and f"phiên bản {version}" in stale.json()["detail"]
    # the reason is signed with the decision: asked for with the options, sent unchanged with the decision
    no_reason = approver.page.post(f"{pane}/ky/reject/options", headers=headers)
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    options = approver.page.post(f"{pane}/ky/reject/options", headers=headers, json={"reason": "Không đủ"}).json()
    no_reason = approver.page.post(f"{pane}/ky/reject", headers=headers, json={
        "version": version, "assertion": approver.auth.get(options)})
    assert no_reason.status_code == 400 and no_reason.json()["field"] == "reason"
    options = approver.page.post(f"{pane}/ky/reject/options", headers=headers, json={"reason": "Không đủ"}).json()
    other_reason = approver.page.post(f"{pane}/ky/reject", headers=headers, json={
        "version": version, "reason": "Một lý do khác", "assertion": approver.auth.get(options)})
    assert other_reason.status_code == 400  # the passkey signed another reason
    options = approver.page.post(f"{pane}/ky/reject/options", headers=headers,
                                 json={"reason": "Không đủ điều kiện theo quy định"}).json()
    signed = approver.page.post(f"{pane}/ky/reject", headers=headers, json={
        "version": version, "reason": "Không đủ điều kiện theo quy định", "assertion": approver.auth.get(options)})
    assert signed.status_code == 200, signed.text
    html = approver.get(signed.json()["redirect"]).text
    assert "Đã thực hiện: Không phê duyệt." in html and "Không giải quyết" in html
    assert "Không đủ điều kiện theo quy định" in html


def test_logbook_csv(client, people) -> None:  # type: ignore[no-untyped-def]
    receiver = people["receiver"]
    d = file_dossier(client, people["code"])
    assert 'action="/can-bo/so-theo-doi.csv"' in receiver.get("/can-bo").text
    today = datetime.now(UTC).date()
    r = receiver.get("/can-bo/so-theo-doi.csv", params={"unit": people["unit"], "from": str(today - timedelta(days=1)),
                                                        "to": str(today + timedelta(days=1))})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Mã hồ sơ,") and d["code"] in text
    other = receiver.get("/can-bo/so-theo-doi.csv", params={"unit": OTHER_UNIT, "from": "2026-01-01",
                                                            "to": "2026-12-31"})
    assert other.status_code == 404
    assert receiver.get("/can-bo/so-theo-doi.csv", params={"unit": people["unit"], "from": "hôm qua",
                                                           "to": "2026-12-31"}).status_code == 400
    assert people["citizen"].get("/can-bo/so-theo-doi.csv", params={
        "unit": people["unit"], "from": "2026-01-01", "to": "2026-12-31"}).status_code == 403


def test_the_dossier_pane_of_an_officer_who_is_also_an_accountant(client, catalogue_db: str) -> None:  # type: ignore[no-untyped-def]
    """Regression (authorization matrix): a receiver who also holds the payment role ``accountant`` got a 500
    on the dossier pane, and on the API's result upload, instead of the page."""
    db = Database(catalogue_db)
    dossier_id = factories.submitted(db, factories.citizen(db))
    officer = factories.officer(db, factories.FEE_UNIT, ("receiver", "accountant"), client=client)
    client.cookies.clear()
    page = client.get(f"/can-bo/ho-so/{dossier_id}", headers={"cookie": f"motcua_at={officer.tokens['access_token']}"})
    assert page.status_code == 200, page.text
    result = client.post(f"/api/v1/officer/dossiers/{dossier_id}/result", headers=bearer(officer.tokens))
    assert result.status_code < 500, result.text


def test_stop_resume_fee_and_withdrawal_through_forms(client, people) -> None:  # type: ignore[no-untyped-def]
    """The 2025 actions as plain forms: a stop needs its legal reason (form 05), a fee its amount and basis
    (written as people write money), a withdrawal the applicant asked for is accepted with one button."""
    receiver = people["receiver"]
    d = file_dossier(client, people["code"])
    done(act(receiver, d["id"], "receive"), d["id"], "receive")
    done(act(receiver, d["id"], "assign", to_user=receiver.id), d["id"], "assign")
    pane = receiver.get(f"/can-bo/ho-so/{d['id']}").text
    assert 'id="a-stop"' in pane and 'id="a-request_fee"' in pane and 'name="amount_vnd"' in pane
    bad = act(receiver, d["id"], "stop", reason="")
    assert bad.status_code == 400 and 'id="a-stop" open' in bad.text and "căn cứ pháp lý" in bad.text
    done(act(receiver, d["id"], "stop", reason="Chờ kết quả giám định"), d["id"], "stop")
    html = receiver.get(f"/can-bo/ho-so/{d['id']}").text
    assert "Dừng giải quyết" in html and "/xu-ly/resume" in html and "Tạm dừng tính hạn" in html
    assert 'id="a-request_fee"' not in html
    done(act(receiver, d["id"], "resume"), d["id"], "resume")
    bad = act(receiver, d["id"], "request_fee", amount_vnd="năm mươi", reason="Lệ phí")
    assert bad.status_code == 400 and "amount_vnd" in bad.text and 'id="a-request_fee" open' in bad.text
    done(act(receiver, d["id"], "request_fee", amount_vnd="50.000", reason="Nghị quyết 12/2025 của HĐND tỉnh"),
         d["id"], "request_fee")
    mine = client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(d["tokens"])).json()
    assert (mine["status"], mine["national_status"], mine["fee_vnd"]) == ("fee_requested", 6, 50_000)
    assert "Chờ thực hiện nghĩa vụ tài chính" in receiver.get(f"/can-bo/ho-so/{d['id']}").text
    # the applicant asks to withdraw; the officer sees the reason and accepts
    asked = client.post(f"/api/v1/dossiers/{d['id']}/withdraw", headers=bearer(d["tokens"]),
                        json={"reason": "Đã nộp ở nơi khác"})
    assert asked.status_code == 200 and asked.json()["status"] == "withdrawal_requested"
    html = receiver.get(f"/can-bo/ho-so/{d['id']}").text
    assert "Đã nộp ở nơi khác" in html and "/xu-ly/accept_withdrawal" in html
    done(act(receiver, d["id"], "accept_withdrawal"), d["id"], "accept_withdrawal")
    assert client.get(f"/api/v1/dossiers/{d['id']}", headers=bearer(d["tokens"])).json()["status"] == "withdrawn"


def test_the_applicant_withdraws_on_the_dossier_page(client, people) -> None:  # type: ignore[no-untyped-def]
    """Before intake the page withdraws at once; once received it asks, and the officer's acceptance ends it.
    The page lists the forms the office sent (01 with its receipt link)."""
    citizen, receiver = people["citizen"], people["receiver"]
    form = client.get(f"/api/v1/procedures/{people['code']}/form").json()

    def filed() -> int:
        d = client.post("/api/v1/dossiers", headers=bearer(citizen.tokens), json={"procedure_code": people["code"]})
        fill(client, citizen.tokens, d.json()["id"], form)
        assert client.post(f"/api/v1/dossiers/{d.json()['id']}/submit", headers=bearer(citizen.tokens)).status_code \
            == 200
        return int(d.json()["id"])

    first = filed()
    page = citizen.get(f"/ho-so/{first}").text
    assert f'action="/ho-so/{first}/rut"' in page and "rút ngay" in page
    empty = citizen.form(f"/ho-so/{first}/rut", {"reason": " ", "version": version_on(page)},
                         page_url=f"/ho-so/{first}")
    assert empty.status_code == 400 and "lý do rút hồ sơ" in empty.text and 'id="a-withdraw" open' in empty.text
    r = citizen.form(f"/ho-so/{first}/rut", {"reason": "Nộp nhầm thủ tục", "version": version_on(page)},
                     page_url=f"/ho-so/{first}")
    assert r.status_code == 303
    assert client.get(f"/api/v1/dossiers/{first}", headers=bearer(citizen.tokens)).json()["status"] == "withdrawn"
    assert "/rut" not in citizen.get(f"/ho-so/{first}").text
    second = filed()
    done(act(receiver, second, "receive"), second, "receive")
    page = citizen.get(f"/ho-so/{second}").text
    assert "Mẫu 01" in page and "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in page
    assert "cán bộ xem và chấp nhận" in page
    r = citizen.form(f"/ho-so/{second}/rut", {"reason": "Không còn nhu cầu", "version": version_on(page)},
                     page_url=f"/ho-so/{second}")
    assert r.status_code == 303
    assert "Chờ chấp nhận rút hồ sơ" in citizen.get(f"/ho-so/{second}").text
    done(act(receiver, second, "accept_withdrawal"), second, "accept_withdrawal")
    assert client.get(f"/api/v1/dossiers/{second}", headers=bearer(citizen.tokens)).json()["status"] == "withdrawn"
