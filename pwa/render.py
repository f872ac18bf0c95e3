"""Rendering HTML: one Jinja2 environment per language, full pages or htmx partials."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup

from api.web.session import cookies_of
from api.web.state import settings_of
from pwa.i18n import (
    format_date,
    format_date_vn,
    format_datetime_vn,
    format_duration,
    format_time_vn,
    format_vnd,
    pick_language,
    translations,
)

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
SOURCE_CREDIT = "Cổng Dịch vụ công Quốc gia"


@functools.cache
def static_version() -> str:
    """A short hash of all static files: cache-busting query for URLs and the service worker."""
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


# `{{ _("text") }}` with a plain literal and no variables: its translation is known when the template is
# compiled, so the per-language environment compiles the translated text in (the i18n extension would
# otherwise call gettext at every render: ~40 calls per page, a large share of the rendering time,
# bench/README.md). Tags with whitespace control (`{{-`, `-}}`) are left to the extension.
LITERAL_GETTEXT = re.compile(
    r"""\{\{\s*_\(\s*(?:"([^"\\{}%]*(?:%%[^"\\{}%]*)*)"|'([^'\\{}%]*(?:%%[^'\\{}%]*)*)')\s*\)\s*\}\}"""
)


class TranslatingLoader(BaseLoader):
    """Templates from disk with their literal ``{{ _("…") }}`` replaced by the translation, exactly as the
    i18n extension's new-style gettext would output it (trusted text, ``%%`` → ``%``)."""

    def __init__(self, inner: FileSystemLoader, gettext: Callable[[str], str]) -> None:
        self.inner, self.gettext = inner, gettext

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        source, filename, uptodate = self.inner.get_source(environment, template)
        return LITERAL_GETTEXT.sub(self._translate, source), filename, uptodate

    def _translate(self, match: re.Match[str]) -> str:
        text = str(Markup(self.gettext(match.group(1) if match.group(1) is not None else match.group(2))) % {})
        if any(mark in text for mark in ("{{", "{%", "{#", "}}", "%}", "#}")):
            return match.group(0)  # not plain text: leave it to the extension at render time
        return text


@functools.cache
def environment(lang: str) -> Environment:
    catalogue = translations(lang)
    env = Environment(
        loader=TranslatingLoader(FileSystemLoader(TEMPLATES), catalogue.gettext),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(catalogue, newstyle=True)  # type: ignore[attr-defined]
    env.filters["vnd"] = format_vnd
    env.filters["ddmmyyyy"] = format_date
    env.filters["ddmmyyyy_vn"] = format_date_vn
    env.filters["datetime_vn"] = format_datetime_vn
    env.filters["time_vn"] = format_time_vn
    env.filters["duration"] = lambda d: format_duration(d, lang)
    env.globals.update(lang=lang, static_v=static_version(), source_credit=SOURCE_CREDIT)
    return env


def request_language(request: Request[Any, Any, Any]) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(cookies_of(request).lang))


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """A partial is wanted; htmx's history restore asks for the whole page."""
    return request.headers.get("hx-request") == "true" and not request.headers.get("hx-history-restore-request")


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The token every form posts back as `_csrf_token` (htmx sends it as X-CSRFToken)."""
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def render(request: Request[Any, Any, Any], template: str, context: dict[str, Any] | None = None, *,
           status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    lang = request_language(request)
    ctx = {"request": request, "path": request.url.path, "query": request.url.query,
           "me": request.scope.get("state", {}).get("principal"), "csrf_token": csrf_token(request),
           "province": getattr(request.app.state, "province_name", ""), **(context or {})}
    html = environment(lang).get_template(template).render(ctx)
    response: Response[bytes] = Response(
        html.encode(), status_code=status, media_type="text/html",
        headers={"Vary": "HX-Request, Cookie", "Content-Language": lang, **(headers or {})},
    )
    query_lang = request.query_params.get("lang")
    lang_cookie = cookies_of(request).lang
    if query_lang is not None and query_lang == lang and request.cookies.get(lang_cookie) != lang:
        response.set_cookie(lang_cookie, lang, max_age=365 * 86400, samesite="lax", httponly=True,
                            secure=settings_of(request).secure_cookies, path="/")
    return response


def render_error(request: Request[Any, Any, Any], status: int, title: str, detail: str,
                 headers: dict[str, str] | None = None) -> Response[bytes]:
    template = "partials/error.html" if is_htmx(request) else "error.html"
    # only messages written for people (in Vietnamese) are shown; developer texts get a generic line
    detail_vi = (
        any(ch in detail for ch in "ăâđêôơưáàảãạếềệóòỏõọúùủũụíìịýỳ") if request_language(request) == "vi" else False
    )
    return render(request, template, {"status": status, "title": title, "detail": detail, "detail_vi": detail_vi},
                  status=status, headers=headers)
