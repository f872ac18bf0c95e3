"""The counter intake pages ("Tiếp nhận trực tiếp", /can-bo/tiep-nhan) as a browser without JavaScript uses them:
find or record the applicant (the chip card's QR read from a photo), pick the procedure, fill the form, scan pages
(add, reorder, retake, delete), receive (the pages of a slot merged into one PDF) and print the receipt; postal
intake with its waybill; and the bad inputs: a QR that is not a CCCD's, a file that is not an image, a CCCD of an
existing account (linked, never a duplicate), another unit's officer (404 on the draft)."""

from __future__ import annotations

import contextlib
import io
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import segno
from PIL import Image
from sqlalchemy import func, select

from api.cli import main as cli
from domain.accounts.models import Membership, Organisation, User
from domain.db import Database
from domain.dossiers.models import DigitisationRecord, Dossier, DossierDocument, WalletDocument
from tests import factories
from tests.helpers import (
    PASSWORD,
    Person,
    bearer,
    jpeg,
    meta_csrf,
    new_phone,
    page_client,
    signed_in,
    tax_code,
    user_id_of,
)

CODE = "1.001193"  # đăng ký khai sinh: any receiving point of the province takes it
OTHER_UNIT = "000.00.13.H56"
BASE = "/can-bo/tiep-nhan"


@pytest.fixture(scope="module")
def db(database_url: str) -> Database:
    return Database(database_url)


@pytest.fixture(scope="module")
def people(client: Any) -> Iterator[dict[str, Any]]:
    unit = client.get(f"/api/v1/procedures/{CODE}").json()["offer"]["unit_code"]

    def staff(unit_code: str, name: str) -> Person:
        username = new_phone()
        assert cli(["create-user", "--role", "officer", "--username", username, "--password", PASSWORD,
                    "--unit", unit_code, "--full-name", name]) == 0
        return Person(client, stack.enter_context(page_client()), username, True)

    with contextlib.ExitStack() as stack:
        yield {"unit": unit, "receiver": staff(unit, "Nguyễn Thị Quầy"), "other": staff(OTHER_UNIT, "Lê Văn Khác")}


def new_cccd() -> str:
    return "079" + "".join(secrets.choice("0123456789") for _ in range(9))


def card_text(cccd: str, name: str = "Trần Thị Hoa") -> str:
    return f"{cccd}|271234567|{name}|15081990|Nữ|Ấp 3, xã Tân Ninh, tỉnh Tây Ninh|01052021"


def qr_photo(text: str) -> bytes:
    """A phone photo of a card's QR: the code drawn on a light card, JPEG."""
    buf = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buf, kind="png", scale=8, border=4)
    code = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    photo = Image.new("RGB", (code.width + 200, code.height + 160), (236, 232, 220))
    photo.paste(code, (100, 80))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92)
    return out.getvalue()


def token(p: Person) -> str:
    return meta_csrf(p.get(BASE).text)


def post(p: Person, url: str, data: dict[str, Any], **kw: Any) -> Any:
    return p.page.post(url, data={"_csrf_token": token(p), **data}, follow_redirects=False, **kw)


def upload(p: Person, dossier_id: int, slot: str, files: list[tuple[str, bytes, str]], *, field: str = "file",
           url: str | None = None) -> Any:
    csrf = token(p)
    return p.page.post(f"{url or f'{BASE}/{dossier_id}/giay-to'}?_csrf_token={csrf}", data={"slot": slot},
                       files=[(field, f) for f in files], follow_redirects=False)


def read_qr(p: Person, photo: bytes, name: str = "the.jpg", kind: str = "image/jpeg") -> Any:
    return p.page.post(f"{BASE}/doc-qr?_csrf_token={token(p)}", files={"file": (name, photo, kind)},
                       follow_redirects=False)


def begin(p: Person, who: dict[str, str], **extra: str) -> int:
    picker = post(p, f"{BASE}/thu-tuc", {**who, "q": CODE})
    assert picker.status_code == 200, picker.text
    assert CODE in picker.text and picker.headers["cache-control"] == "private, no-store"
    r = post(p, f"{BASE}/bat-dau", {**who, "procedure_code": CODE, **extra})
    assert r.status_code == 303, r.text
    match = re.fullmatch(rf"{BASE}/(\d+)", r.headers["location"])
    assert match
    return int(match.group(1))


def person_fields(cccd: str, name: str = "Trần Thị Hoa") -> dict[str, str]:
    return {"a_full_name": name, "a_cccd": cccd, "a_birth_date": "1990-08-15", "a_sex": "nu",
            "a_phone": "0987 654 321", "a_address": "Ấp 3, xã Tân Ninh"}


def form_fields(cccd: str) -> dict[str, str]:
    return {"applicant_name": "Trần Thị Hoa", "applicant_cccd": cccd, "applicant_phone": "0987654321",
            "applicant_address.province": "80", "applicant_address.ward": "25459",
            "applicant_address.street": "12 Đường 30/4", "relationship": "me", "child_name": "Nguyễn Minh An",
            "child_birth_date": "2026-11-20", "child_gender": "nam", "child_ethnicity": "kinh",
            "child_nationality": "viet_nam", "birth_place": "Bệnh viện Đa khoa tỉnh", "hometown": "Tây Ninh",
            "commitment": "true", "return_method": "counter"}


def pages_of(db: Database, dossier_id: int) -> list[tuple[str, int, int]]:
    return db.run(lambda s: [(r.slot, r.position, r.id) for r in s.scalars(
        select(DossierDocument).where(DossierDocument.dossier_id == dossier_id)
        .order_by(DossierDocument.position, DossierDocument.id))])


def test_a_walk_in_is_received_from_the_card_qr_and_two_scanned_pages(people: dict[str, Any], db: Database) -> None:
    officer = people["receiver"]
    start = officer.get(BASE)
    assert start.status_code == 200 and start.headers["cache-control"] == "private, no-store"
    assert 'capture="environment"' in start.text and "Đọc mã QR trên CCCD" in start.text
    assert 'href="/can-bo/tiep-nhan"' in officer.get("/can-bo").text  # the officers' nav link
    cccd = new_cccd()
    filled = read_qr(officer, qr_photo(card_text(cccd)))
    assert filled.status_code == 200, filled.text
    assert f'value="{cccd}"' in filled.text and 'value="Trần Thị Hoa"' in filled.text
    assert 'value="1990-08-15"' in filled.text and "Đã điền thông tin từ mã QR" in filled.text
    users = db.run(lambda s: s.scalar(select(func.count()).select_from(User)))
    dossier_id = begin(officer, person_fields(cccd))
    person = db.run(lambda s: s.scalar(select(User).where(User.cccd == cccd)))
    assert person.kind == "person" and db.run(lambda s: s.scalar(select(func.count()).select_from(User))) == users + 1
    page = officer.get(f"{BASE}/{dossier_id}")
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    assert 'capture="environment" multiple' in page.text and 'class="intake"' in page.text
    # three pages through the camera input, then the third deleted, the second moved up, the first retaken
    r = upload(officer, dossier_id, "giay_chung_sinh", [("p1.jpg", jpeg((900, 1200)), "image/jpeg"),
                                                        ("p2.jpg", jpeg((901, 1200)), "image/jpeg"),
                                                        ("p3.jpg", jpeg((902, 1200)), "image/jpeg")])
    assert r.status_code == 303 and r.headers["location"].endswith("#slot-giay_chung_sinh"), r.text
    (_, _, first), (_, _, second), (_, _, third) = pages_of(db, dossier_id)
    assert post(officer, f"{BASE}/{dossier_id}/trang/{third}/bo", {}).status_code == 303
    assert post(officer, f"{BASE}/{dossier_id}/trang/{second}/len", {}).status_code == 303
    assert [i for _, _, i in pages_of(db, dossier_id)] == [second, first]
    retaken = upload(officer, dossier_id, "giay_chung_sinh", [("p1b.jpg", jpeg((903, 1200)), "image/jpeg")],
                     url=f"{BASE}/{dossier_id}/trang/{first}/chup-lai")
    assert retaken.status_code == 303, retaken.text
    order = [i for _, _, i in pages_of(db, dossier_id)]
    assert len(order) == 2 and order[0] == second and first not in order
    preview = officer.get(f"{BASE}/{dossier_id}/trang/{second}")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    # the form autosaves as it is typed (htmx): a scan afterwards loses nothing
    saved = officer.page.post(f"{BASE}/{dossier_id}/luu", data={"_csrf_token": token(officer), "child_name": "An"},
                              headers={"HX-Request": "true"})
    assert saved.status_code == 200 and "Đã lưu nháp" in saved.text and "<html" not in saved.text
    # a required field missing: refused with the field's own message, nothing received
    missing = post(officer, f"{BASE}/{dossier_id}/tiep-nhan", {**form_fields(cccd), "child_name": ""},
                   )
    assert missing.status_code == 400 and "field-error" in missing.text and 'id="intake-error"' in missing.text
    assert db.run(lambda s: s.get(Dossier, dossier_id).status) == "draft"
    received = post(officer, f"{BASE}/{dossier_id}/tiep-nhan", form_fields(cccd))
    assert received.status_code == 303, received.text
    assert received.headers["location"] == f"{BASE}/{dossier_id}/bien-nhan"
    d = db.run(lambda s: s.get(Dossier, dossier_id))
    assert (d.status, d.channel, d.owner_id, d.intake_by) == ("received", "counter", person.id, officer.id)
    assert d.code and d.due_at is not None
    # the slot's two pages became one PDF of two pages
    merged = db.run(lambda s: [tuple(r) for r in s.execute(
        select(WalletDocument.content_type, WalletDocument.pages).join(
        DossierDocument, DossierDocument.document_id == WalletDocument.id).where(
        DossierDocument.dossier_id == dossier_id))])
    assert merged == [("application/pdf", 2)]
    assert db.run(lambda s: s.scalar(select(DigitisationRecord.pages).where(
        DigitisationRecord.dossier_id == dossier_id, DigitisationRecord.slot == "giay_chung_sinh"))) == 2
    receipt = officer.get(f"{BASE}/{dossier_id}/bien-nhan")
    assert receipt.status_code == 200 and d.code in receipt.text
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in receipt.text
    assert "<svg" in receipt.text and "/tra-cuu?ma=" in receipt.text and "2 trang" in receipt.text
    assert receipt.headers["cache-control"] == "private, no-store" and "data-print" in receipt.text
    pdf = officer.get(f"{BASE}/{dossier_id}/bien-nhan.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and pdf.headers["cache-control"] == "private, no-store"
    # received: no longer a draft to edit (its page and a second tap on "Tiếp nhận hồ sơ" lead to the receipt)
    back = officer.get(f"{BASE}/{dossier_id}", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"{BASE}/{dossier_id}/bien-nhan"
    again = post(officer, f"{BASE}/{dossier_id}/tiep-nhan", form_fields(cccd))
    assert again.status_code == 303 and again.headers["location"] == f"{BASE}/{dossier_id}/bien-nhan"
    assert db.run(lambda s: s.get(Dossier, dossier_id).code) == d.code  # received once
    assert people["other"].get(f"{BASE}/{dossier_id}", follow_redirects=False).status_code == 404
    # in the deciding unit's queue
    queue = officer.get("/can-bo", params={"xem": "tat-ca", "q": d.code})
    assert f"/can-bo/ho-so/{dossier_id}" in queue.text


def test_postal_intake_records_the_waybill_once(people: dict[str, Any], db: Database) -> None:
    officer = people["receiver"]
    waybill = "EE" + secrets.token_hex(5).upper() + "VN"
    postal = {"channel": "postal", "waybill": waybill, "arrived": "2026-12-01", "sender": "Bưu cục Tân Ninh"}
    dossier_id = begin(officer, person_fields(new_cccd(), "Lý Văn Bưu"), **postal)
    page = officer.get(f"{BASE}/{dossier_id}")
    assert page.status_code == 200 and waybill in page.text and "Đến qua bưu chính" in page.text
    assert db.run(lambda s: s.get(Dossier, dossier_id).channel) == "post"
    again = post(officer, f"{BASE}/bat-dau", {**person_fields(new_cccd(), "Lý Văn Bưu"), "procedure_code": CODE,
                                              **postal})
    assert again.status_code == 409 and "Số vận đơn này đã được ghi nhận" in again.text
    bad = post(officer, f"{BASE}/bat-dau", {**person_fields(new_cccd()), "procedure_code": CODE, **postal,
                                            "waybill": "x"})
    assert bad.status_code == 400 and "Số vận đơn gồm 4 đến 40" in bad.text and 'aria-invalid="true"' in bad.text
    # the result goes back by post: an address is needed
    no_address = post(officer, f"{BASE}/{dossier_id}/luu", {"return_method": "post", "return_address": ""},
                      )
    assert no_address.status_code == 400 and "cần địa chỉ nhận" in no_address.text
    by_post = post(officer, f"{BASE}/{dossier_id}/luu", {"return_method": "post",
                                                         "return_address": "12 Đường 30/4, phường 1, Tây Ninh"},
                   )
    assert by_post.status_code == 303
    d = db.run(lambda s: s.get(Dossier, dossier_id))
    assert (d.return_method, d.return_address) == ("post", "12 Đường 30/4, phường 1, Tây Ninh")


def test_a_qr_that_is_not_a_cccd_and_files_that_are_not_images_are_refused(people: dict[str, Any],
                                                                          db: Database) -> None:
    officer = people["receiver"]
    not_cccd = read_qr(officer, qr_photo("https://example.com/khuyen-mai"))
    assert not_cccd.status_code == 400 and "không phải mã QR trên thẻ căn cước công dân" in not_cccd.text
    not_image = read_qr(officer, b"%PDF-1.4 not a photo", "the.pdf", "application/pdf")
    assert not_image.status_code == 400 and "Tệp này không phải ảnh" in not_image.text
    nothing = read_qr(officer, b"", "", "application/octet-stream")
    assert nothing.status_code == 400
    dossier_id = begin(officer, person_fields(new_cccd(), "Hồ Thị Quét"))
    scan = upload(officer, dossier_id, "giay_chung_sinh", [("trang.jpg", b"MZ\x90\x00 not an image", "image/jpeg")])
    assert scan.status_code in (400, 415) and 'role="alert"' in scan.text, scan.text
    assert pages_of(db, dossier_id) == []
    bad_person = post(officer, f"{BASE}/thu-tuc", {**person_fields("12345"), "a_birth_date": "1990-02-30"})
    assert bad_person.status_code == 400 and "Ngày sinh không hợp lệ" in bad_person.text
    no_slot = upload(officer, dossier_id, "khong-co", [("p.jpg", jpeg(), "image/jpeg")])
    assert no_slot.status_code == 400 and "Ô giấy tờ không tồn tại" in no_slot.text


def test_the_cccd_of_an_existing_account_links_that_account(client: Any, people: dict[str, Any],
                                                            db: Database) -> None:
    _, tokens = signed_in(client)
    citizen_id = user_id_of(tokens)
    cccd = new_cccd()
    db.run(lambda s: setattr(s.get(User, citizen_id), "cccd", cccd))
    officer = people["receiver"]
    found = officer.get(BASE, params={"cccd": cccd})
    assert found.status_code == 200 and "Có tài khoản" in found.text and f'value="{citizen_id}"' in found.text
    shown = read_qr(officer, qr_photo(card_text(cccd, "Tên Trên Thẻ")))
    assert shown.status_code == 200 and "Số CCCD này đã có trên hệ thống" in shown.text
    users = db.run(lambda s: s.scalar(select(func.count()).select_from(User)))
    typed = begin(officer, person_fields(cccd, "Tên Trên Thẻ"))  # typed again: linked, not duplicated
    chosen = begin(officer, {"person_id": str(citizen_id)})
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(User))) == users
    assert db.run(lambda s: [s.get(Dossier, i).owner_id for i in (typed, chosen)]) == [citizen_id, citizen_id]
    # the account's wallet is offered on its dossier
    wallet = db.run(lambda s: s.scalar(select(func.count()).select_from(WalletDocument).where(
        WalletDocument.owner_id == citizen_id)))
    assert ("Lấy từ kho giấy tờ của công dân" in officer.get(f"{BASE}/{chosen}").text) == bool(wallet)


def test_an_officer_of_another_unit_gets_404_on_the_draft(people: dict[str, Any], db: Database) -> None:
    dossier_id = begin(people["receiver"], person_fields(new_cccd(), "Phan Văn Riêng"))
    upload(people["receiver"], dossier_id, "giay_chung_sinh", [("p.jpg", jpeg(), "image/jpeg")])
    (_, _, page_id), = pages_of(db, dossier_id)
    other = people["other"]
    assert other.get(BASE).status_code == 200  # a receiver elsewhere: the start page is theirs too
    assert other.get(f"{BASE}/{dossier_id}").status_code == 404
    assert other.get(f"{BASE}/{dossier_id}/trang/{page_id}").status_code == 404
    assert post(other, f"{BASE}/{dossier_id}/trang/{page_id}/bo", {}).status_code == 404
    assert post(other, f"{BASE}/{dossier_id}/tiep-nhan", form_fields(new_cccd())).status_code == 404
    assert upload(other, dossier_id, "giay_chung_sinh", [("p.jpg", jpeg(), "image/jpeg")]).status_code == 404
    assert other.get(f"{BASE}/{dossier_id}/bien-nhan").status_code == 404
    assert pages_of(db, dossier_id) == [("giay_chung_sinh", 0, page_id)]


def test_original_seen_no_copy_kept_only_where_the_form_allows_it(people: dict[str, Any], db: Database) -> None:
    officer = people["receiver"]
    dossier_id = begin(officer, person_fields(new_cccd(), "Mai Thị Bản Chính"))
    page = officer.get(f"{BASE}/{dossier_id}").text
    assert f"{BASE}/{dossier_id}/giay-to/giay_to_cu_tru/khong-luu" in page  # copy_optional in the form
    assert f"{BASE}/{dossier_id}/giay-to/giay_chung_sinh/khong-luu" not in page
    refused = post(officer, f"{BASE}/{dossier_id}/giay-to/giay_chung_sinh/khong-luu", {})
    assert refused.status_code == 400 and "phải có bản sao" in refused.text
    seen = post(officer, f"{BASE}/{dossier_id}/giay-to/giay_to_cu_tru/khong-luu", {})
    assert seen.status_code == 303 and seen.headers["location"].endswith("#slot-giay_to_cu_tru")
    assert "Đã xem bản chính, không lưu bản sao." in officer.get(f"{BASE}/{dossier_id}").text
    assert db.run(lambda s: s.scalar(select(DigitisationRecord.kind).where(
        DigitisationRecord.dossier_id == dossier_id, DigitisationRecord.slot == "giay_to_cu_tru"))) == "not_kept"


def test_an_accounts_wallet_document_goes_into_a_slot(client: Any, people: dict[str, Any], db: Database) -> None:
    _, tokens = signed_in(client)
    citizen_id = user_id_of(tokens)
    own = client.post("/api/v1/dossiers", headers=bearer(tokens), json={"procedure_code": CODE}).json()
    up = client.post(f"/api/v1/dossiers/{own['id']}/documents", headers=bearer(tokens),
                     data={"slot": "giay_chung_sinh"}, files={"file": ("giay-chung-sinh.jpg", jpeg(), "image/jpeg")})
    assert up.status_code == 201, up.text  # an online draft of their own put it in the wallet
    officer = people["receiver"]
    dossier_id = begin(officer, {"person_id": str(citizen_id)})
    page = officer.get(f"{BASE}/{dossier_id}").text
    assert "Lấy từ kho giấy tờ của công dân" in page and f'value="{up.json()["id"]}"' in page
    r = post(officer, f"{BASE}/{dossier_id}/giay-to/vi", {"slot": "giay_chung_sinh", "document_id": up.json()["id"]})
    assert r.status_code == 303
    assert [slot for slot, _, _ in pages_of(db, dossier_id)] == ["giay_chung_sinh"]
    stranger = post(officer, f"{BASE}/{dossier_id}/giay-to/vi", {"slot": "giay_chung_sinh", "document_id": "999999"})
    assert stranger.status_code == 404  # a document outside the applicant's wallet
    # a person record has no wallet: nothing offered
    other = begin(officer, person_fields(new_cccd(), "Không Có Ví"))
    assert "Lấy từ kho giấy tờ của công dân" not in officer.get(f"{BASE}/{other}").text


def test_an_organisation_found_by_tax_code(people: dict[str, Any], db: Database) -> None:
    code = tax_code()
    owner = factories.citizen(db, "Chủ Doanh Nghiệp")

    def run(s: Any) -> None:
        org = Organisation(name="Công ty TNHH Quầy Trang", tax_code=code, created_at=datetime.now(UTC))
        s.add(org)
        s.flush()
        s.add(Membership(organisation_id=org.id, user_id=owner.id, role="owner", created_at=datetime.now(UTC)))

    db.run(run)
    officer = people["receiver"]
    found = officer.get(BASE, params={"tax_code": code})
    assert found.status_code == 200 and "Công ty TNHH Quầy Trang" in found.text and "Tổ chức" in found.text
    dossier_id = begin(officer, {"organisation_tax_code": code})
    d = db.run(lambda s: s.get(Dossier, dossier_id))
    assert d.owner_id == owner.id and d.organisation_id is not None
    unknown = post(officer, f"{BASE}/thu-tuc", {"organisation_tax_code": tax_code()})
    assert unknown.status_code == 400 and "Không tìm thấy tổ chức" in unknown.text


def test_the_pages_in_english(people: dict[str, Any]) -> None:
    officer = people["receiver"]
    start = officer.get(BASE, params={"lang": "en"})
    assert start.status_code == 200 and "Counter intake" in start.text and "Read the CCCD card" in start.text
    dossier_id = begin(officer, person_fields(new_cccd(), "Người Anh Ngữ"))
    page = officer.get(f"{BASE}/{dossier_id}", params={"lang": "en"}).text
    assert "Photograph the pages with the camera" in page and "Receiving the result" in page
    officer.get(BASE, params={"lang": "vi"})
