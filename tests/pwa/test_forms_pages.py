"""The forms' pages without JavaScript: the applicant's list and printable form (only the form prints: the
print CSS), its PDF, the officer's copy of a dossier their unit holds, the logbook (form 07) as XLSX; another
citizen gets 404; private pages are not cached."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from api.cli import main as cli
from domain.db import Database
from domain.dossiers import backoffice, commands
from domain.dossiers.models import Dossier
from tests import factories
from tests.factories import FEE_UNIT
from tests.helpers import PASSWORD, Person, new_phone, page_client


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def people(client: Any, db: Database) -> Iterator[dict[str, Any]]:


    def staff(unit_code: str) -> str:
        username = new_phone()
        assert cli(["create-user", "--role", "officer", "--username", username, "--password", PASSWORD,
                    "--unit", unit_code, "--full-name", "Vũ Thị Quầy"]) == 0
        return username

    with contextlib.ExitStack() as stack:
        owner, other = factories.citizen(db, full_name="Trịnh Văn Tâm"), factories.citizen(db)
        yield {"owner": Person(client, stack.enter_context(page_client()), owner.username, False),
               "other": Person(client, stack.enter_context(page_client()), other.username, False),
               "officer": Person(client, stack.enter_context(page_client()), staff(FEE_UNIT), True)}


@pytest.fixture(scope="module")
def dossier(db: Database, people: dict[str, Any]) -> int:
    dossier_id = factories.submitted(db, people["owner"].id)
    version = db.read_sync(lambda s: s.get(Dossier, dossier_id).version)
    db.run(lambda s: backoffice.act(s, people["officer"].id, dossier_id, "request_supplement", commands.decode(
        "request_supplement", json.dumps({"version": version, "missing": ["Bản sao sổ hộ khẩu"]}).encode())))
    return dossier_id


def test_the_applicant_opens_prints_and_downloads_the_form(people: dict[str, Any], dossier: int) -> None:
    owner = people["owner"]
    listing = owner.get(f"/ho-so/{dossier}/bieu-mau")
    assert listing.status_code == 200 and "no-store" in listing.headers["cache-control"]
    assert "Mẫu số 02" in listing.text and "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ" in listing.text
    form_id = int(listing.text.split(f"/ho-so/{dossier}/bieu-mau/")[1].split('"')[0])
    page = owner.get(f"/ho-so/{dossier}/bieu-mau/{form_id}")
    assert page.status_code == 200 and "no-store" in page.headers["cache-control"]
    for text in ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc", "CÔNG AN PHƯỜNG TÂN NINH",
                 "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ", "Kính gửi: Trịnh Văn Tâm", "Bản sao sổ hộ khẩu",
                 "/BS-CA", "Tân Ninh, ngày", "/static/forms.css", "<svg"):
        assert text in page.text, text
    pdf = owner.get(f"/ho-so/{dossier}/bieu-mau/{form_id}/mau.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "no-store" in pdf.headers["cache-control"]
    css = owner.get("/static/forms.css").text
    assert "@media print" in css and "size:A4" in css and "main>:not(.form-doc)" in css


def test_english_chrome_around_the_vietnamese_form(people: dict[str, Any], dossier: int) -> None:
    listing = people["owner"].get(f"/ho-so/{dossier}/bieu-mau?lang=en")
    assert "Forms of the dossier" in listing.text and "Form 02" in listing.text


def test_another_citizen_gets_404(people: dict[str, Any], dossier: int) -> None:
    other = people["other"]
    assert other.get(f"/ho-so/{dossier}/bieu-mau").status_code == 404
    listing = people["owner"].get(f"/ho-so/{dossier}/bieu-mau").text
    form_id = int(listing.split(f"/ho-so/{dossier}/bieu-mau/")[1].split('"')[0])
    assert other.get(f"/ho-so/{dossier}/bieu-mau/{form_id}").status_code == 404
    assert other.get(f"/ho-so/{dossier}/bieu-mau/{form_id}/mau.pdf").status_code == 404


def test_the_officer_prints_it_and_downloads_the_logbook(people: dict[str, Any], dossier: int) -> None:
    officer = people["officer"]
    listing = people["owner"].get(f"/ho-so/{dossier}/bieu-mau").text
    form_id = int(listing.split(f"/ho-so/{dossier}/bieu-mau/")[1].split('"')[0])
    own = officer.get(f"/can-bo/ho-so/{dossier}/bieu-mau")
    assert own.status_code == 200 and f"/can-bo/ho-so/{dossier}/bieu-mau/{form_id}/mau.pdf" in own.text
    assert f'href="/can-bo/ho-so/{dossier}/bieu-mau"' in officer.get(f"/can-bo/ho-so/{dossier}").text
    page = officer.get(f"/can-bo/ho-so/{dossier}/bieu-mau/{form_id}")
    assert page.status_code == 200 and "PHIẾU YÊU CẦU BỔ SUNG" in page.text
    assert officer.get(f"/can-bo/ho-so/{dossier}/bieu-mau/{form_id}/mau.pdf").status_code == 200
    today = date.today()
    r = officer.get(f"/can-bo/so-theo-doi.xlsx?unit={FEE_UNIT}&from={today - timedelta(days=1)}&to={today}")
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and "Sổ theo dõi hồ sơ" in str(sheet["A1"].value)
    bad = officer.get(f"/can-bo/so-theo-doi.xlsx?unit={FEE_UNIT}&from=hôm-qua&to={today}")
    assert bad.status_code == 400 and "Ngày không hợp lệ" in bad.text
