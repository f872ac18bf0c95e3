"""The phone pages of claiming a counter dossier ("Nhận hồ sơ đã nộp tại quầy", /ho-so/nhan): plain forms that work
without JavaScript, signing in first brings the person back, every refusal is a Vietnamese message on the form,
and the right code opens the dossier's page. Light: the first load is far under 30 KB compressed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from domain.accounts.models import User
from domain.catalog.models import Offering
from domain.db import Database
from domain.dossiers.models import Dossier
from domain.intake.claim import REFUSED
from tests import factories, helpers
from tests.api.test_claim import Counter, other, otp_of
from tests.factories import Person
from tests.helpers import csrf_of, new_cccd, register_on_page

procedure = helpers.procedure  # a fixture: a procedure with the default form


@pytest.fixture(scope="module")
def db(catalogue_db: str) -> Database:
    return Database(catalogue_db)


@pytest.fixture(scope="module")
def officer(db: Database, procedure: str) -> Person:
    deciding = db.run(lambda s: str(s.get(Offering, procedure).unit_code))
    return factories.receiver(db, deciding, ("receiver", "processor"))


def signed_in_id(db: Database, username: str) -> int:
    return int(db.run(lambda s: s.scalar(select(User.id).where(User.username == "+84" + username[1:]))))


def test_signing_in_first_comes_back_to_the_form(page_client: Any) -> None:
    page_client.cookies.clear()
    r = page_client.get("/ho-so/nhan?ma=ABC", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/dang-nhap?next=/ho-so/nhan%3Fma%3DABC"


def test_a_dossier_is_claimed_on_the_phone_pages(page_client: Any, db: Database, officer: Person,
                                                 procedure: str) -> None:
    d = Counter(db, officer, procedure)
    page_client.cookies.clear()
    username, _ = register_on_page(page_client)
    me = signed_in_id(db, username)
    listing = page_client.get("/ho-so")
    assert 'href="/ho-so/nhan"' in listing.text and "Nhận hồ sơ đã nộp tại quầy" in listing.text
    form = page_client.get(f"/ho-so/nhan?ma={d.code}", headers={"Accept-Encoding": "br"})
    assert form.status_code == 200 and f'value="{d.code}"' in form.text
    assert form.headers.get("content-encoding") == "br" and "no-store" in form.headers["cache-control"]
    assert int(form.headers.get("content-length") or len(form.content)) < 30_000
    assert 'name="cccd"' in form.text and 'inputmode="numeric"' in form.text and "<script" not in form.text.split(
        "<main", 1)[-1]
    token = csrf_of(form.text)

    bad = page_client.post("/ho-so/nhan", data={"_csrf_token": token, "code": d.code, "cccd": "123"})
    assert bad.status_code == 400 and "Số CCCD gồm đúng 12 chữ số." in bad.text and 'aria-invalid="true"' in bad.text
    wrong = page_client.post("/ho-so/nhan", data={"_csrf_token": token, "code": d.code, "cccd": new_cccd()})
    assert wrong.status_code == 404 and REFUSED in wrong.text and f'value="{d.code}"' in wrong.text

    sent = page_client.post("/ho-so/nhan", data={"_csrf_token": token, "code": d.code, "cccd": d.cccd})
    assert sent.status_code == 200, sent.text
    local = "0" + d.phone[1:]
    assert f"{local[:2]}******{local[-2:]}" in sent.text and 'autocomplete="one-time-code"' in sent.text
    assert d.phone not in sent.text and local not in sent.text  # masked: only its holder recognises it
    otp = otp_of(db, me)
    assert otp not in sent.text  # the code goes to the phone, never into the page
    miss = page_client.post("/ho-so/nhan/xac-nhan", data={"_csrf_token": token, "code": d.code, "otp": other(otp)})
    assert miss.status_code == 400 and "Mã không đúng." in miss.text and 'name="otp"' in miss.text
    ok = page_client.post("/ho-so/nhan/xac-nhan", data={"_csrf_token": token, "code": d.code, "otp": otp},
                          follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == f"/ho-so/{d.id}"
    page = page_client.get(f"/ho-so/{d.id}")
    assert page.status_code == 200 and d.code in page.text
    assert db.run(lambda s: s.get(Dossier, d.id).owner_id) == me
    again = page_client.post("/ho-so/nhan", data={"_csrf_token": token, "code": d.code, "cccd": d.cccd})
    assert again.status_code == 409 and "đã có trong tài khoản của bạn" in again.text


def test_the_pages_in_english(page_client: Any, db: Database) -> None:
    page_client.cookies.clear()
    register_on_page(page_client)
    r = page_client.get("/ho-so/nhan?lang=en")
    assert r.status_code == 200 and "Claim a dossier filed at a counter" in r.text
    assert "The applicant&#39;s CCCD (citizen ID) number" in r.text or "The applicant's CCCD" in r.text


def test_a_person_without_a_cccd_match_never_sees_the_code_form(page_client: Any, db: Database, officer: Person,
                                                                procedure: str) -> None:
    d = Counter(db, officer, procedure)
    page_client.cookies.clear()
    register_on_page(page_client)
    token = csrf_of(page_client.get("/ho-so/nhan").text)
    r = page_client.post("/ho-so/nhan/xac-nhan", data={"_csrf_token": token, "code": d.code, "otp": "123456"})
    assert r.status_code == 404 and REFUSED in r.text and 'name="cccd"' in r.text
