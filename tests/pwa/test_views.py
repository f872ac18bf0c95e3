"""Citizen pages: server-rendered, light, Vietnamese first, working without JavaScript."""

from __future__ import annotations

import re

import pytest


def test_home(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="vi">' in html
    assert "Thủ tục hành chính trực tuyến" in html
    assert 'action="/thu-tuc"' in html and 'method="get"' in html  # the form works without JS
    assert "Cổng Dịch vụ công Quốc gia" in html  # credit the source
    assert "Tây Ninh" in html  # the demo province, from config, not code
    assert 'rel="manifest"' in html
    assert "content-security-policy" in r.headers


def test_results_without_js(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc", params={"q": "dang ky khai sinh"})
    assert r.status_code == 200
    first_three = re.findall(r'href="/thu-tuc/([0-9.]+)"', r.text)[:3]
    assert "1.001193" in first_three
    assert "<html" in r.text


def test_results_partial_for_htmx(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc", params={"q": "ket hon"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and 'class="results"' in r.text
    assert "HX-Request" in r.headers["vary"]


@pytest.mark.parametrize("path", ["/", "/thu-tuc?q=ket+hon", "/linh-vuc", "/offline"])
def test_browsing_sets_no_cookie(client, path: str) -> None:  # type: ignore[no-untyped-def]
    """Pages that post nothing need no CSRF token: a visitor browsing the catalogue gets no cookie."""
    client.cookies.clear()
    r = client.get(path)
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert '<meta name="csrf-token" content="">' in r.text


@pytest.mark.parametrize("path", ["/", "/thu-tuc?q=ket+hon", "/thu-tuc/1.001193", "/linh-vuc", "/offline"])
def test_catalogue_pages_load_htmx_on_first_use(client, path: str) -> None:  # type: ignore[no-untyped-def]
    """No htmx <script> in the catalogue's pages (app.js brings it when a form is first touched);
    the favicon is the small SVG."""
    html = client.get(path).text
    assert "htmx.min.js" not in html and '<script src="/static/app.js?v=' in html
    assert '<link rel="icon" href="/static/icons/icon.svg?v=' in html


def test_document_policies_on_pages_not_on_static_files(client) -> None:  # type: ignore[no-untyped-def]
    page, css = client.get("/"), client.get("/static/app.css")
    assert {"content-security-policy", "x-frame-options", "permissions-policy"} <= set(page.headers)
    assert not {"content-security-policy", "x-frame-options", "permissions-policy"} & set(css.headers)
    assert css.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in client.get("/sw.js").headers


def test_the_procedure_page_gets_a_csrf_token_for_its_form(client) -> None:  # type: ignore[no-untyped-def]
    client.cookies.clear()
    r = client.get("/thu-tuc/1.001193")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', r.text)
    assert token and "motcua_csrf=" in r.headers["set-cookie"]


def test_detail_shows_time_fee_and_badge(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/thu-tuc/1.004222").text
    assert "10.000\u00a0₫" in html and "20.000\u00a0₫" in html
    assert "Toàn trình" in html
    assert "Công an Phường Tân Ninh" in html
    assert "Thành phần hồ sơ" in html and "Căn cứ pháp lý" in html


def test_detail_not_offered_says_where_to_file(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/procedures", params={"level": "ministry", "page_size": 100}).json()
    ministry_only = next(i for i in r["items"] if i["levels"] == ["ministry"] and not i["offered"])
    html = client.get(f"/thu-tuc/{ministry_only['code']}").text
    assert "Tỉnh không tiếp nhận thủ tục này." in html


def test_english_switch_and_cookie(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc/1.004222", params={"lang": "en"})
    assert '<html lang="en">' in r.text
    assert "Fully online" in r.text and "Time limit and fees" in r.text
    assert "lang=en" in r.headers.get("set-cookie", "")
    r2 = client.get("/", cookies={"lang": "en"})
    assert '<html lang="en">' in r2.text
    client.cookies.clear()


@pytest.mark.parametrize("lang", ["fr", "", "xx-YY", "<script>"])
def test_unknown_language_falls_back_to_vietnamese(client, lang: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/", params={"lang": lang})
    assert r.status_code == 200 and '<html lang="vi">' in r.text
    client.cookies.clear()


def test_fields_page(client) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/linh-vuc").text
    assert "Hộ tịch" in html and "/thu-tuc?field=ho-tich" in html


def test_unknown_procedure_page_is_404_html(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc/9.999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Không tìm thấy" in r.text


@pytest.mark.parametrize("params", [{"page": "10" * 30}, {"q": "x" * 10_000}, {"page": "-1"}])
def test_bad_page_input_is_4xx_html(client, params: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc", params=params)
    assert r.status_code == 400 and "Yêu cầu không hợp lệ" in r.text


def test_pwa_files(client) -> None:  # type: ignore[no-untyped-def]
    m = client.get("/manifest.webmanifest")
    assert m.status_code == 200 and m.json()["display"] == "standalone"
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and "__VERSION__" not in sw.text
    assert sw.headers["cache-control"] == "no-cache"
    css = client.get("/static/app.css?v=1", headers={"Accept-Encoding": "br"})
    assert css.status_code == 200 and "immutable" in css.headers["cache-control"]
    assert client.get("/offline").status_code == 200
    assert client.get("/static/../api/app.py").status_code == 404


def test_pages_are_compressed_and_light(client) -> None:  # type: ignore[no-untyped-def]
    r = client.get("/thu-tuc", params={"q": "dang ky"}, headers={"Accept-Encoding": "br"})
    assert r.headers.get("content-encoding") == "br"
