"""The forms of a dossier over the JSON API: the applicant's list and PDFs (their own dossier only), the
officers' of the units that hold it, the dossier API's `forms` links; private (no-store); the first PDF
download puts the form in the applicant's wallet."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from domain.db import Database
from domain.dossiers import backoffice, commands
from domain.dossiers.models import Dossier, WalletDocument
from tests import factories
from tests.factories import FEE_UNIT


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def case(db: Database) -> dict[str, Any]:
    """A citizen's dossier received by a receiver of the unit: form 01 issued."""
    staff = factories.receiver(db, FEE_UNIT, ("receiver", "processor"), full_name="Đỗ Minh Quân")
    owner = factories.citizen(db, full_name="Hoàng Thị Lụa")
    dossier_id = factories.submitted(db, owner)
    version = db.read_sync(lambda s: s.get(Dossier, dossier_id).version)
    db.run(lambda s: backoffice.act(s, staff.id, dossier_id, "receive",
                                    commands.decode("receive", json.dumps({"version": version}).encode())))
    return {"staff": staff, "owner": owner, "dossier_id": dossier_id}


def test_the_applicant_lists_and_downloads_a_form(client: Any, db: Database, case: dict[str, Any]) -> None:
    owner, dossier_id = case["owner"], case["dossier_id"]
    r = client.get(f"/api/v1/dossiers/{dossier_id}/forms", headers=owner.headers)
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    (form,) = r.json()
    assert form["form"] == "01" and form["number"].endswith("/TN") and form["unit_code"] == FEE_UNIT
    pdf = client.get(form["pdf_url"], headers=owner.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "no-store" in pdf.headers["cache-control"]
    text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Hoàng Thị Lụa" in text
    assert f"Số: {form['number']}-CA" in text and "Đỗ Minh Quân" in text
    again = client.get(form["pdf_url"], headers=owner.headers)
    assert again.content == pdf.content  # the stored copy
    docs = db.read_sync(lambda s: list(s.scalars(select(WalletDocument).where(
        WalletDocument.owner_id == owner.id, WalletDocument.kind == "form"))))
    assert len(docs) == 1 and docs[0].content_type == "application/pdf" and docs[0].display_name.startswith("Mẫu số 01")
    d = client.get(f"/api/v1/dossiers/{dossier_id}", headers=owner.headers).json()
    assert [f["url"] for f in d["forms"]] == [form["pdf_url"]]


def test_officers_of_the_unit_read_it_others_get_404(client: Any, db: Database, case: dict[str, Any]) -> None:
    staff, dossier_id = case["staff"], case["dossier_id"]
    r = client.get(f"/api/v1/officer/dossiers/{dossier_id}/forms", headers=staff.headers)
    assert r.status_code == 200 and "no-store" in r.headers["cache-control"]
    (form,) = r.json()
    assert form["pdf_url"] == f"/api/v1/officer/dossiers/{dossier_id}/forms/{form['id']}/form.pdf"
    pdf = client.get(form["pdf_url"], headers=staff.headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other_citizen, other_unit = factories.citizen(db), factories.receiver(db, "000.31.02.H56")
    for url in (f"/api/v1/dossiers/{dossier_id}/forms", f"/api/v1/dossiers/{dossier_id}/forms/{form['id']}/form.pdf"):
        assert client.get(url, headers=other_citizen.headers).status_code == 404
    for url in (f"/api/v1/officer/dossiers/{dossier_id}/forms", form["pdf_url"]):
        assert client.get(url, headers=other_unit.headers).status_code == 404
    assert client.get(f"/api/v1/dossiers/{dossier_id}/forms").status_code == 401


def test_the_openapi_lists_the_routes(client: Any) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert "/api/v1/dossiers/{dossier_id}/forms/{form_id}/form.pdf" in paths
    assert "/api/v1/officer/dossiers/{dossier_id}/forms" in paths
