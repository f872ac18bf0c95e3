"""The catalogue's JSON API over HTTP, on the real bundled catalogue."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


def codes(client, **params) -> list[str]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/procedures", params=params)
    assert r.status_code == 200, r.text
    return [i["code"] for i in r.json()["items"]]


def test_healthz(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("dang ky khai sinh", "1.001193"),
        ("ĐĂNG KÝ KẾT HÔN", "1.000894"),
        ("ly lich tu phap", "3.000333"),
        ("giay phep xay dung", "1.013225"),
        ("Đăng ký thường trú", "1.004222"),
        ("dang ky tam tru", "1.004194"),
        ("1.001193", "1.001193"),
    ],
)
def test_search_finds_the_obvious_procedure_in_first_three(client, q: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert expected in codes(client, q=q, page_size=3), codes(client, q=q, page_size=10)


def test_search_ignores_case_and_diacritics_alike(client) -> None:  # type: ignore[no-untyped-def]
    assert codes(client, q="đăng ký khai sinh") == codes(client, q="DANG KY KHAI SINH")


def test_search_as_you_type_prefix(client) -> None:  # type: ignore[no-untyped-def]
    assert "1.001193" in codes(client, q="dang ky khai si", page_size=5)


def test_page_shape_and_paging(client) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/v1/procedures", params={"page_size": 5, "page": 2}).json()
    assert set(body) == {"items", "total", "page", "page_size"}
    assert body["page"] == 2 and body["page_size"] == 5 and len(body["items"]) == 5
    assert body["total"] >= 2000
    first = client.get("/api/v1/procedures", params={"page_size": 5, "page": 1}).json()["items"]
    assert {i["code"] for i in first}.isdisjoint(i["code"] for i in body["items"])


def test_filters(client) -> None:  # type: ignore[no-untyped-def]
    fields = client.get("/api/v1/fields").json()
    ho_tich = next(f for f in fields if f["name"] == "Hộ tịch")
    r = client.get("/api/v1/procedures", params={"field": ho_tich["slug"], "page_size": 100}).json()
    assert r["total"] == ho_tich["procedure_count"]
    assert all(i["field"] == "Hộ tịch" for i in r["items"])
    commune = client.get("/api/v1/procedures", params={"level": "commune", "page_size": 100}).json()
    assert commune["total"] > 100 and all("commune" in i["levels"] for i in commune["items"])
    online = client.get("/api/v1/procedures", params={"online": "true", "page_size": 100}).json()
    assert online["total"] > 0 and all(i["mode"] == "full" for i in online["items"])
    offered = client.get("/api/v1/procedures", params={"offered": "true"}).json()
    assert offered["total"] >= 1000
    assert all(i["offered"] for i in offered["items"])


def test_detail(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/procedures/1.004222")
    assert r.status_code == 200
    p = r.json()
    for key in ("code", "name", "field", "levels", "channels", "documents", "legal_basis", "results",
                "source_url", "needs_review"):
        assert key in p
    online = next(c for c in p["channels"] if c["channel"] == "online")
    in_person = next(c for c in p["channels"] if c["channel"] == "in_person")
    assert online["fee_vnd"] == 10_000 and in_person["fee_vnd"] == 20_000
    assert set(online["duration"]) == {"value", "unit", "unit_known"} and online["duration"]["unit_known"] is True
    assert p["offer"]["mode"] == "full" and p["offer"]["unit_code"].endswith(".H56")
    assert p["source_url"].startswith("https://dichvucong.gov.vn/")


def test_birth_registration_detail(client) -> None:  # type: ignore[no-untyped-def]
    p = client.get("/api/v1/procedures/1.001193").json()
    assert p["name"] == "Thủ tục đăng ký khai sinh"
    assert p["levels"] == ["commune"]
    assert {c["channel"] for c in p["channels"]} == {"online", "in_person", "postal"}
    assert all(c["fee_kind"] == "free" and c["fee_vnd"] == 0 for c in p["channels"])
    assert any(r["code"] == "KQ.G15.000031" for r in p["results"])


def test_fields(client) -> None:  # type: ignore[no-untyped-def]
    fields = client.get("/api/v1/fields").json()
    assert len(fields) > 100
    assert all(set(f) == {"slug", "name", "procedure_count", "offered_count"} for f in fields)


def test_openapi(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/schema/openapi.json").json()
    assert "/api/v1/procedures" in spec["paths"] and "/api/v1/procedures/{code}" in spec["paths"]


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"page": str(10**30)}, 400),
        ({"page": "0"}, 400),
        ({"page": "abc"}, 400),
        ({"page_size": "100000"}, 400),
        ({"q": "a" * 10_000}, 400),
        ({"field": "khong-co-linh-vuc-nay"}, 404),
        ({"level": "district"}, 400),
        ({"audience": "aliens"}, 400),
    ],
)
def test_bad_input_is_a_clear_4xx_problem(client, params: dict[str, str], status: int) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/procedures", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]


def test_unknown_code_is_404_problem(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/procedures/9.999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
    assert "9.999999" in r.json()["detail"]


def test_fts_syntax_is_not_injectable(client) -> None:  # type: ignore[no-untyped-def]
    for q in ['"', "NEAR(a b)", "khai* OR ^", "a:b", "'; drop table procedures; --", "ký)(", "&|!:*"]:
        r = client.get("/api/v1/procedures", params={"q": q})
        assert r.status_code == 200, (q, r.text)


def test_unknown_route_is_problem(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)
