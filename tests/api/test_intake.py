"""Counter and postal intake over the JSON API (issue 14): a receiving officer enters a dossier for a person
without an account, an existing account (found by CCCD: linked, no duplicate) or an organisation, attaches
pages through the usual document endpoints, receives it at once; postal intake with its waybill; cross-area
receiving; and the refusals of the issue's "Bad input" list that are the core's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from auth import accounts
from domain.accounts.models import Membership, Organisation, User
from domain.catalog.models import Offering, OfferingReceiver, Unit
from domain.db import Database
from domain.dossiers.models import DigitisationRecord, Dossier, Handoff, PostalItem, WalletDocument
from domain.outbox.models import Delivery, Notification
from tests import factories
from tests.factories import Person
from tests.helpers import ADDRESS, audit, bearer, is_problem, jpeg, signed_in, tax_code, user_id_of

COMMUNE = "000.77.01.H56"  # this module's own receiving point: it receives the procedure for its deciding unit
ELSEWHERE = "000.77.02.H56"  # another commune: may not receive it
FIELDS = {"applicant_cccd": "072090001234", "applicant_phone": "0912345678", "applicant_address": ADDRESS,
          "request": "Đề nghị giải quyết"}


@pytest.fixture(scope="module")
def world(client: Any, db: Database, procedure: str) -> dict[str, Any]:
    def run(s: Any) -> str:
        accounts.create_unit(s, COMMUNE, "UBND Xã Thử Tiếp Nhận", "commune")
        accounts.create_unit(s, ELSEWHERE, "UBND Xã Thử Khác", "commune")
        offering = s.get(Offering, procedure)
        if s.get(OfferingReceiver, (procedure, COMMUNE)) is None:
            s.add(OfferingReceiver(procedure_code=procedure, unit_code=COMMUNE))
        return str(offering.unit_code)

    deciding = db.run(run)
    form = client.get(f"/api/v1/procedures/{procedure}/form").json()
    return {"code": procedure, "deciding": deciding, "form": form,
            "here": factories.receiver(db, deciding, ("receiver", "processor")),
            "commune": factories.receiver(db, COMMUNE), "other": factories.receiver(db, ELSEWHERE)}


def h(p: Person) -> dict[str, str]:
    return p.headers


def start(client: Any, officer: Person, code: str, **body: Any) -> Any:
    return client.post("/api/v1/officer/intake", headers=h(officer), json={"procedure_code": code, **body})


def upload(client: Any, officer: Person | dict[str, Any], dossier_id: int, slot: str) -> Any:
    headers = h(officer) if isinstance(officer, Person) else bearer(officer)
    return client.post(f"/api/v1/dossiers/{dossier_id}/documents", headers=headers, data={"slot": slot},
                       files={"file": ("trang 1.jpg", jpeg((800, 600)), "image/jpeg")})


def fill_and_receive(client: Any, officer: Person, dossier: dict[str, Any], form: dict[str, Any]) -> Any:
    r = client.patch(f"/api/v1/officer/intake/{dossier['id']}", headers=h(officer), json={"data": FIELDS})
    assert r.status_code == 200, r.text
    for slot in form["documents"]:
        if slot["required"]:
            assert upload(client, officer, dossier["id"], slot["slot"]).status_code == 201
    return client.post(f"/api/v1/officer/intake/{dossier['id']}/receive", headers=h(officer))


def count(db: Database, model: Any) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(model))))


def test_a_person_without_an_account_is_received_at_the_counter(client: Any, db: Database,
                                                                 world: dict[str, Any]) -> None:
    officer = world["here"]
    r = start(client, officer, world["code"], applicant={
        "full_name": "Đặng Văn Mười", "cccd": "079201000111", "birth_date": "2001-02-03", "sex": "nam",
        "phone": "0987 111 222", "address": "Ấp 3, xã Tân Ninh"})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["data"]["applicant_name"] == "Đặng Văn Mười"
    person = db.run(lambda s: s.scalar(select(User).where(User.cccd == "079201000111")))
    assert person.kind == "person" and person.password_hash is None and person.contact_phone == "+84987111222"
    assert person.created_by == officer.id
    received = fill_and_receive(client, officer, draft, world["form"])
    assert received.status_code == 200, received.text
    out = received.json()
    assert out["status"] == "received" and out["code"].startswith(world["deciding"] + "-")
    assert out["receipt_url"] == f"/api/v1/officer/intake/{draft['id']}/receipt.pdf" and out["due_date"]
    d = db.run(lambda s: s.get(Dossier, draft["id"]))
    assert (d.channel, d.owner_id, d.intake_by, d.received_at is not None) == ("counter", person.id, officer.id, True)
    # in the deciding unit's queue at once, as received (never "submitted, waiting")
    queue = client.get("/api/v1/officer/queue", headers=h(officer), params={"view": "all", "q": out["code"]}).json()
    assert [i["id"] for i in queue["items"]] == [draft["id"]] and queue["items"][0]["status"] == "received"
    # the applicant hears of it by SMS, at the phone given at the counter
    sms = db.run(lambda s: list(s.scalars(select(Delivery.destination).join(
        Notification, Notification.id == Delivery.notification_id).where(
        Notification.dossier_id == draft["id"], Notification.event == "dossier.received",
        Delivery.channel == "sms"))))
    assert sms == ["+84987111222"]
    pdf = client.get(out["receipt_url"], headers=h(officer))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["cache-control"] == "no-store"


def test_an_account_found_by_cccd_owns_the_dossier_and_sees_it_once_received(client: Any, db: Database,
                                                                             world: dict[str, Any]) -> None:
    _, citizen = signed_in(client)
    citizen_id = user_id_of(citizen)
    db.run(lambda s: setattr(s.get(User, citizen_id), "cccd", "079199000222"))
    users = count(db, User)
    officer = world["here"]
    found = client.get("/api/v1/officer/persons", headers=h(officer), params={"cccd": "079199000222"})
    assert found.status_code == 200 and [(p["id"], p["kind"]) for p in found.json()] == [(citizen_id, "account")]
    assert audit(db, "intake.person_lookup", officer.id)
    r = start(client, officer, world["code"], applicant={"full_name": "Tên Khác Ở Quầy", "cccd": "079199000222"})
    assert r.status_code == 201, r.text
    draft = r.json()
    assert count(db, User) == users  # linked, not duplicated
    assert db.run(lambda s: s.get(Dossier, draft["id"]).owner_id) == citizen_id
    # an intake draft is the officer's: its owner neither sees it nor edits it until it is received
    assert client.get(f"/api/v1/dossiers/{draft['id']}", headers=bearer(citizen)).status_code == 404
    assert draft["id"] not in [d["id"] for d in client.get("/api/v1/dossiers", headers=bearer(citizen)).json()]
    assert upload(client, citizen, draft["id"], world["form"]["documents"][0]["slot"]).status_code == 404
    assert fill_and_receive(client, officer, draft, world["form"]).status_code == 200
    mine = client.get("/api/v1/dossiers", headers=bearer(citizen)).json()
    assert draft["id"] in [d["id"] for d in mine]
    assert client.get(f"/api/v1/dossiers/{draft['id']}", headers=bearer(citizen)).json()["status"] == "received"


def test_an_organisation_found_by_tax_code(client: Any, db: Database, world: dict[str, Any]) -> None:
    owner = factories.citizen(db, "Chủ Doanh Nghiệp")
    code = tax_code()

    def run(s: Any) -> int:
        org = Organisation(name="Công ty TNHH Thử Quầy", tax_code=code, created_at=datetime.now(UTC))
        s.add(org)
        s.flush()
        s.add(Membership(organisation_id=org.id, user_id=owner.id, role="owner", created_at=datetime.now(UTC)))
        return int(org.id)

    org_id = db.run(run)
    officer = world["here"]
    assert [p["id"] for p in client.get("/api/v1/officer/persons", headers=h(officer),
                                        params={"tax_code": code}).json()] == [org_id]
    r = start(client, officer, world["code"], organisation_tax_code=code)
    assert r.status_code == 201, r.text
    assert r.json()["organisation_id"] == org_id
    assert db.run(lambda s: s.get(Dossier, r.json()["id"]).owner_id) == owner.id
    is_problem(start(client, officer, world["code"], organisation_tax_code=tax_code()), 400, "mã số thuế")


def test_postal_intake_records_the_waybill_once(client: Any, db: Database, world: dict[str, Any]) -> None:
    officer = world["here"]
    arrived = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    body: dict[str, Any] = {"channel": "postal", "applicant": {"full_name": "Người Gửi Thư", "phone": "0912000333"},
            "return_method": "post", "return_address": "Số 5 đường 30/4, Tây Ninh",
            "postal": {"waybill": "EV123456789VN", "received_at": arrived, "sender": "Người Gửi Thư"}}
    r = start(client, officer, world["code"], **body)
    assert r.status_code == 201, r.text
    item = db.run(lambda s: s.scalar(select(PostalItem).where(PostalItem.dossier_id == r.json()["id"])))
    assert (item.direction, item.waybill, item.recorded_by) == ("in", "EV123456789VN", officer.id)
    d = db.run(lambda s: s.get(Dossier, r.json()["id"]))
    assert (d.channel, d.return_method, d.return_address) == ("post", "post", "Số 5 đường 30/4, Tây Ninh")
    before = (count(db, Dossier), count(db, User), count(db, PostalItem))
    is_problem(start(client, officer, world["code"], **body), 409, "vận đơn")
    assert (count(db, Dossier), count(db, User), count(db, PostalItem)) == before  # nothing stored half-way
    is_problem(start(client, officer, world["code"], **{**body, "postal": None}), 400, "vận đơn")
    is_problem(start(client, officer, world["code"], **{**body, "return_address": None,
                                                          "postal": {**body["postal"], "waybill": "EV2"}}),
               400, "địa chỉ")


def test_cross_area_received_at_a_commune_decided_by_its_unit(client: Any, db: Database,
                                                              world: dict[str, Any]) -> None:
    commune = world["commune"]
    listed = client.get("/api/v1/officer/intake/procedures", headers=h(commune),
                        params={"q": world["code"]}).json()
    assert [(p["code"], p["cross_area"]) for p in listed] == [(world["code"], True)]
    r = start(client, commune, world["code"], applicant={"full_name": "Lý Thị Mai"})
    assert r.status_code == 201, r.text
    out = fill_and_receive(client, commune, r.json(), world["form"]).json()
    assert out["code"].startswith(COMMUNE + "-")  # the receiving unit's code
    d = db.run(lambda s: s.get(Dossier, r.json()["id"]))
    assert (d.unit_code, d.receiving_unit) == (world["deciding"], COMMUNE)
    queue = client.get("/api/v1/officer/queue", headers=h(world["here"]),
                       params={"view": "all", "q": out["code"]}).json()
    assert [i["id"] for i in queue["items"]] == [d.id]  # in the deciding unit's queue at once
    route = db.run(lambda s: s.scalar(select(Handoff).where(Handoff.dossier_id == d.id)))
    assert (route.kind, route.from_unit, route.to_unit) == ("route", COMMUNE, world["deciding"])
    # another commune may not receive it
    is_problem(start(client, world["other"], world["code"], applicant={"full_name": "Lý Thị Mai"}), 400,
               "không tiếp nhận tại đơn vị của bạn")


def test_only_the_receivers_of_the_receiving_unit_hold_an_intake_draft(client: Any, db: Database,
                                                                       world: dict[str, Any]) -> None:
    draft = start(client, world["here"], world["code"], applicant={"full_name": "Phan Văn Tư"}).json()
    slot = world["form"]["documents"][0]["slot"]
    other = world["other"]
    assert client.get(f"/api/v1/officer/intake/{draft['id']}", headers=h(other)).status_code == 404
    assert upload(client, other, draft["id"], slot).status_code == 404
    assert client.post(f"/api/v1/officer/intake/{draft['id']}/receive", headers=h(other)).status_code == 404
    _, citizen = signed_in(client)
    assert start(client, Person(0, "", citizen), world["code"], applicant={"full_name": "A B"}).status_code == 403
    assert client.get(f"/api/v1/officer/intake/{draft['id']}", headers=h(world["here"])).status_code == 200


def test_bad_input_is_refused_in_vietnamese_and_nothing_is_stored(client: Any, db: Database,
                                                                 world: dict[str, Any]) -> None:
    officer = world["here"]
    before = (count(db, Dossier), count(db, User))
    is_problem(start(client, officer, world["code"]), 400, "người nộp")
    is_problem(start(client, officer, world["code"], applicant={"full_name": "A B"}, person_id=1), 400, "người nộp")
    is_problem(start(client, officer, world["code"], applicant={"full_name": "Ai Đó", "cccd": "12345"}), 400, "CCCD")
    is_problem(start(client, officer, world["code"], applicant={"full_name": "Ai Đó", "phone": "123"}), 400,
               "điện thoại")
    is_problem(start(client, officer, world["code"], applicant={"full_name": "Ai Đó"}, return_method="post"), 400,
               "địa chỉ")
    is_problem(start(client, officer, "9.999999", applicant={"full_name": "Ai Đó"}), 400, "thủ tục")
    assert (count(db, Dossier), count(db, User)) == before
    draft = start(client, officer, world["code"], applicant={"full_name": "Ai Đó"}).json()
    receive = client.post(f"/api/v1/officer/intake/{draft['id']}/receive", headers=h(officer))
    assert receive.status_code == 400 and db.run(lambda s: s.get(Dossier, draft["id"]).code) is None
    slot = world["form"]["documents"][0]["slot"]
    is_problem(client.post(f"/api/v1/officer/intake/{draft['id']}/documents/{slot}/not-kept", headers=h(officer)),
               400, "bản sao")
    for name, content, kind in (("a.txt", b"not an image at all", "text/plain"),
                                ("trang.jpg", b"MZ\x90\x00 a program called a photo", "image/jpeg")):
        bad = client.post(f"/api/v1/dossiers/{draft['id']}/documents", headers=h(officer), data={"slot": slot},
                          files={"file": (name, content, kind)})
        assert bad.status_code in (400, 415, 422), bad.text
        assert "Chỉ nhận ảnh (JPEG, PNG, WebP, HEIC) hoặc PDF" in bad.json()["detail"]
    assert client.get(f"/api/v1/officer/intake/{draft['id']}", headers=h(officer)).json()["documents"] == []
    assert client.get(f"/api/v1/officer/intake/{draft['id']}/digitisation", headers=h(officer)).json() == []
    # a cross-area dossier of a procedure this commune may not receive: refused, nothing stored
    before = (count(db, Dossier), count(db, User))
    is_problem(start(client, world["other"], world["code"], applicant={"full_name": "Người Ở Xã Khác",
                                                                       "cccd": "079201000999"}), 400,
               "không tiếp nhận tại đơn vị của bạn")
    assert (count(db, Dossier), count(db, User)) == before


def test_factories_build_a_received_intake(db: Database, world: dict[str, Any]) -> None:
    dossier_id = factories.received_intake(db, world["commune"], world["code"])
    d = db.run(lambda s: s.get(Dossier, dossier_id))
    assert (d.status, d.channel, d.receiving_unit) == ("received", "counter", COMMUNE)
    kinds = db.run(lambda s: set(s.scalars(select(DigitisationRecord.kind).where(
        DigitisationRecord.dossier_id == dossier_id))))
    assert kinds == {"digitised"}
    assert db.run(lambda s: s.get(Unit, COMMUNE).name) == "UBND Xã Thử Tiếp Nhận"


def others(form: dict[str, Any], slot: str) -> dict[str, Any]:
    """The form without ``slot`` (a test fills that one itself)."""
    return {"documents": [d for d in form["documents"] if d["slot"] != slot]}


def test_two_pages_of_one_slot_become_one_pdf_of_two_pages_at_receipt(client: Any, db: Database,
                                                                      world: dict[str, Any]) -> None:
    from pypdf import PdfReader  # noqa: PLC0415  (only this test reads a PDF's pages)

    officer = world["here"]
    draft = start(client, officer, world["code"], applicant={"full_name": "Trịnh Văn Hai Trang"}).json()
    slot = world["form"]["documents"][0]["slot"]
    for k, size in enumerate(((800, 600), (600, 800))):  # a landscape and a portrait page
        r = client.post(f"/api/v1/dossiers/{draft['id']}/documents", headers=h(officer), data={"slot": slot},
                        files={"file": (f"trang {k + 1}.jpg", jpeg(size), "image/jpeg")})
        assert r.status_code == 201, r.text
    pages = client.get(f"/api/v1/officer/intake/{draft['id']}", headers=h(officer)).json()["documents"]
    assert [(a["slot"], a["document"]["content_type"]) for a in pages] == [(slot, "image/jpeg")] * 2
    received = fill_and_receive(client, officer, draft, others(world["form"], slot))
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "received"
    one = client.get(f"/api/v1/officer/dossiers/{draft['id']}", headers=h(officer)).json()
    docs = [a["document"] for a in one["documents"] if a["slot"] == slot]
    assert [(d["content_type"], d["pages"]) for d in docs] == [("application/pdf", 2)]
    rec = db.run(lambda s: s.scalar(select(DigitisationRecord).where(DigitisationRecord.dossier_id == draft["id"],
                                                                     DigitisationRecord.slot == slot)))
    assert (rec.kind, rec.pages, rec.document_id, rec.by_user) == ("digitised", 2, docs[0]["id"], officer.id)
    assert rec.unit_code == world["deciding"]
    key = db.run(lambda s: s.get(WalletDocument, docs[0]["id"]).storage_key)
    with client.app.state.storage.open(key) as fh:
        assert len(PdfReader(fh).pages) == 2
    receipt = client.get(received.json()["receipt_url"], headers=h(officer))
    assert receipt.status_code == 200 and receipt.headers["content-type"] == "application/pdf"
    assert receipt.content.startswith(b"%PDF")


def test_a_document_of_the_applicants_wallet_is_reused_from_the_wallet(client: Any, db: Database,
                                                                       world: dict[str, Any]) -> None:
    _, citizen = signed_in(client)
    drafted = client.post("/api/v1/dossiers", headers=bearer(citizen), json={"procedure_code": world["code"]})
    slot = world["form"]["documents"][0]["slot"]
    assert upload(client, citizen, drafted.json()["id"], slot).status_code == 201
    wallet = client.get("/api/v1/documents", headers=bearer(citizen)).json()
    officer = world["here"]
    draft = start(client, officer, world["code"], person_id=user_id_of(citizen)).json()
    # the officer sees what the applicant's wallet holds; nobody else does; a person record has no wallet
    listed = client.get(f"/api/v1/officer/intake/{draft['id']}/wallet", headers=h(officer))
    assert listed.status_code == 200 and listed.headers["cache-control"] == "no-store"
    assert [d["id"] for d in listed.json()] == [d["id"] for d in wallet]
    assert client.get(f"/api/v1/officer/intake/{draft['id']}/wallet", headers=h(world["other"])).status_code == 404
    r = client.post(f"/api/v1/dossiers/{draft['id']}/documents/from-wallet", headers=h(officer),
                    json={"slot": slot, "document_id": wallet[0]["id"]})
    assert r.status_code == 201, r.text
    assert fill_and_receive(client, officer, draft, others(world["form"], slot)).status_code == 200
    rec = db.run(lambda s: s.scalar(select(DigitisationRecord).where(DigitisationRecord.dossier_id == draft["id"],
                                                                     DigitisationRecord.slot == slot)))
    # the citizen's own draft held it first: reused from that dossier's documents, linked to it
    assert (rec.kind, rec.origin_dossier_id, rec.document_id, rec.pages) == ("dossier", drafted.json()["id"],
                                                                            wallet[0]["id"], 1)
    # somebody else's wallet is not the officer's to reuse
    other = start(client, officer, world["code"], applicant={"full_name": "Người Khác"}).json()
    assert client.get(f"/api/v1/officer/intake/{other['id']}/wallet", headers=h(officer)).json() == []
    is_problem(client.post(f"/api/v1/dossiers/{other['id']}/documents/from-wallet", headers=h(officer),
                           json={"slot": slot, "document_id": wallet[0]["id"]}), 404)


def test_openapi_shows_the_intake_request_bodies(client: Any) -> None:
    spec = client.get("/schema/openapi.json").json()
    paths = spec["paths"]

    def body(path: str, method: str) -> dict[str, Any]:
        content = paths[path][method]["requestBody"]["content"]
        return next(iter(content.values()))["schema"]  # type: ignore[no-any-return]

    def fields(schema: dict[str, Any]) -> set[str]:
        ref = schema.get("$ref") or next(s["$ref"] for s in schema.get("oneOf", []) if "$ref" in s)
        return set(spec["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"])

    assert {"channel", "applicant", "person_id", "organisation_tax_code", "procedure_code", "data", "return_method",
            "return_address", "postal"} <= fields(body("/api/v1/officer/intake", "post"))
    assert {"data", "version"} <= fields(body("/api/v1/officer/intake/{dossier_id}", "patch"))
    actions = body("/api/v1/officer/dossiers/{dossier_id}/actions/{action}", "post")["anyOf"]
    by_title = {a["title"]: set(a["properties"]) for a in actions}
    assert {"version", "waybill"} <= by_title["SendByPost"] and "version" in by_title["ConfirmDelivery"]
    receive = paths["/api/v1/officer/intake/{dossier_id}/receive"]["post"]["responses"]["200"]
    out = next(iter(receive["content"].values()))["schema"]
    assert {"code", "status", "due_date", "receipt_url"} <= fields(out)
    assert "/api/v1/officer/persons" in paths and "/api/v1/dossiers/{dossier_id}/documents/from-wallet" in paths


def test_the_digitisation_records_and_a_papers_validity_date_over_the_api(client: Any, db: Database,
                                                                          world: dict[str, Any]) -> None:
    officer = world["here"]
    draft = start(client, officer, world["code"], applicant={"full_name": "Đoàn Thị Hiệu Lực"}).json()
    slot = world["form"]["documents"][0]["slot"]
    url = f"/api/v1/officer/intake/{draft['id']}/documents/{slot}/validity"
    until = (datetime.now(UTC) + timedelta(days=200)).date().isoformat()
    is_problem(client.put(url, headers=h(officer), json={"valid_until": until}), 400, "chưa có giấy tờ")
    assert upload(client, officer, draft["id"], slot).status_code == 201
    expired = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    is_problem(client.put(url, headers=h(officer), json={"valid_until": expired}), 400, "hết hiệu lực")
    assert client.put(url, headers=h(world["other"]), json={"valid_until": until}).status_code == 404
    r = client.put(url, headers=h(officer), json={"valid_until": until})
    assert r.status_code == 200, r.text
    assert [(x["slot"], x["kind"], x["pages"], x["valid_until"]) for x in r.json()] == [(slot, "digitised", 1, until)]
    assert audit(db, "intake.validity", officer.id)
    assert fill_and_receive(client, officer, draft, others(world["form"], slot)).status_code == 200
    records = client.get(f"/api/v1/officer/intake/{draft['id']}/digitisation", headers=h(officer))
    assert records.status_code == 200 and records.headers["cache-control"] == "no-store"
    mine = next(x for x in records.json() if x["slot"] == slot)
    assert (mine["kind"], mine["valid_until"], mine["by_user"], mine["unit_code"]) == ("digitised", until, officer.id,
                                                                                      world["deciding"])
    assert client.get(f"/api/v1/officer/intake/{draft['id']}/digitisation",
                      headers=h(world["other"])).status_code == 404
    # once received, it is no longer a draft: its papers' validity is what was read at the counter
    assert client.put(url, headers=h(officer), json={"valid_until": until}).status_code == 404
