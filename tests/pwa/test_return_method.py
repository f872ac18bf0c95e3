"""Choosing how the result comes back on the filing pages, without JavaScript: online, at the counter, or by
post to an address (whose postal fee is shown); a post without an address is refused in Vietnamese."""

from __future__ import annotations

from typing import Any

from tests.helpers import csrf_of, register_on_page


def _draft(c: Any) -> int:
    register_on_page(c)
    detail = c.get("/thu-tuc/1.001193")
    start = c.post("/ho-so", data={"_csrf_token": csrf_of(detail.text), "procedure_code": "1.001193"},
                   follow_redirects=False)
    assert start.status_code == 303
    return int(start.headers["location"].rsplit("/", 1)[1])


def test_the_return_method_is_chosen_on_the_last_step(page_client: Any) -> None:
    c = page_client
    dossier_id = _draft(c)
    review = c.get(f"/ho-so/{dossier_id}?buoc=99")
    assert review.status_code == 200
    assert "Nhận kết quả" in review.text and 'name="return_method"' in review.text
    assert 'value="online" checked' in review.text
    token = csrf_of(review.text)
    refused = c.post(f"/ho-so/{dossier_id}/nhan-ket-qua", data={"_csrf_token": token, "return_method": "post",
                                                               "return_address": ""}, follow_redirects=False)
    assert refused.status_code == 400
    assert "cần địa chỉ nhận" in refused.text and 'aria-invalid="true"' in refused.text
    chosen = c.post(f"/ho-so/{dossier_id}/nhan-ket-qua", data={
        "_csrf_token": token, "return_method": "post", "return_address": "12 Lê Lợi, Phường Tân Ninh"},
        follow_redirects=False)
    assert chosen.status_code == 303 and "#nhan-ket-qua" in chosen.headers["location"]
    page = c.get(chosen.headers["location"].split("#")[0])
    assert 'value="post" checked' in page.text and "12 Lê Lợi, Phường Tân Ninh" in page.text
    assert "Cước bưu chính" in page.text and "22.000" in page.text
    back = c.post(f"/ho-so/{dossier_id}/nhan-ket-qua", data={"_csrf_token": token, "return_method": "counter"},
                  follow_redirects=False)
    assert back.status_code == 303
    assert 'value="counter" checked' in c.get(f"/ho-so/{dossier_id}?buoc=99").text
