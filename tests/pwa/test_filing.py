"""Filing on the pages without JavaScript: start, steps, autosave partial, upload, submit, receipt, lookup."""

from __future__ import annotations

import io
import re

from PIL import Image

from tests.helpers import csrf_of, register_on_page


def photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1600, 1200), (90, 140, 200)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


BIRTH = {
    "applicant_name": "Trần Văn Bình", "applicant_cccd": "072090001234", "applicant_phone": "0912345678",
    "applicant_address.province": "80", "applicant_address.ward": "25459",
    "applicant_address.street": "12 Đường 30/4",
}


def test_no_js_filing_journey(page_client) -> None:  # type: ignore[no-untyped-def]
    c = page_client
    register_on_page(c)
    detail = c.get("/thu-tuc/1.001193")
    assert "Nộp hồ sơ trực tuyến" in detail.text
    start = c.post("/ho-so", data={"_csrf_token": csrf_of(detail.text), "procedure_code": "1.001193"},
                   follow_redirects=False)
    assert start.status_code == 303
    url = start.headers["location"]
    dossier_id = int(url.rsplit("/", 1)[1])
    step0 = c.get(url)
    assert step0.status_code == 200 and "Phường Tân Ninh" in step0.text  # the province's wards, no JS needed
    token = csrf_of(step0.text)
    saved = c.post(f"/ho-so/{dossier_id}/luu", data={"_csrf_token": token, "_step": "0", "_next": "1", **BIRTH},
                   follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"].endswith("buoc=1")
    # htmx autosave answers a status line only
    partial = c.post(f"/ho-so/{dossier_id}/luu", data={"_csrf_token": token, "applicant_name": "Trần Văn Bình"},
                     headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "Đã lưu nháp" in partial.text and "<html" not in partial.text
    # the API shows the same draft: resumable on another device
    schema = c.get("/api/v1/procedures/1.001193/form").json()
    steps = len(schema["steps"])
    docs_page = c.get(f"/ho-so/{dossier_id}?buoc={steps}")
    assert 'capture="environment"' in docs_page.text and 'accept="image/*,application/pdf"' in docs_page.text
    for slot in [d for d in schema["documents"] if d["required"]]:
        up = c.post(f"/ho-so/{dossier_id}/giay-to", params={"_csrf_token": token}, data={"slot": slot["slot"]},
                    files={"file": ("IMG_0001.JPG", photo(), "image/jpeg")}, follow_redirects=False)
        assert up.status_code == 303, up.text[:500]
    review = c.get(f"/ho-so/{dossier_id}?buoc={steps + 1}")
    refused = c.post(f"/ho-so/{dossier_id}/nop", data={"_csrf_token": token})
    assert refused.status_code == 400 and "Hồ sơ chưa đủ để nộp" in refused.text  # child's details missing
    assert "Nộp hồ sơ" in review.text


def test_upload_without_csrf_is_refused(page_client) -> None:  # type: ignore[no-untyped-def]
    c = page_client
    register_on_page(c)
    detail = c.get("/thu-tuc/1.004194")
    start = c.post("/ho-so", data={"_csrf_token": csrf_of(detail.text), "procedure_code": "1.004194"},
                   follow_redirects=False)
    dossier_id = int(start.headers["location"].rsplit("/", 1)[1])
    r = c.post(f"/ho-so/{dossier_id}/giay-to", data={"slot": "d1"}, files={"file": ("a.jpg", photo(), "image/jpeg")})
    assert r.status_code == 403


def test_lookup_page(page_client) -> None:  # type: ignore[no-untyped-def]
    r = page_client.get("/tra-cuu")
    assert r.status_code == 200 and "Mã hồ sơ" in r.text
    missing = page_client.get("/tra-cuu", params={"ma": "000.00.00.H56-260101-9999"})
    assert missing.status_code == 404 and "Không tìm thấy hồ sơ" in missing.text


def test_my_dossiers_needs_sign_in(page_client) -> None:  # type: ignore[no-untyped-def]
    r = page_client.get("/ho-so", follow_redirects=False)
    assert r.status_code == 303 and "/dang-nhap" in r.headers["location"]


def test_wards_partial(page_client) -> None:  # type: ignore[no-untyped-def]
    r = page_client.get("/dia-chi/phuong", params={"name": "applicant_address", "applicant_address.province": "1"})
    assert r.status_code == 200 and "Phường Hoàn Kiếm" in r.text
    assert re.search(r'name="applicant_address.ward"', r.text)
    assert page_client.get("/dia-chi/phuong", params={"name": "<x>"}).status_code == 400
