"""One map from errors to HTTP: problem details (RFC 9457) on the API, an error page elsewhere.

The error page is the HTML skin's business: its renderer is handed in (`error_handlers(render_html)`, from the
composition root), so the plumbing imports neither skin. Without a renderer every error is a problem document.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Protocol

import msgspec
from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from domain.errors import DomainError, TooManyRequests

log = logging.getLogger("motcua")
PROBLEM = "application/problem+json"


class Problem(msgspec.Struct):
    """Problem details (RFC 9457): the body of every error answer of the API."""

    type: str
    title: str
    status: int
    detail: str
    instance: str
    field: str | None = None  # the input the error is about
    errors: list[dict[str, Any]] | None = None  # what the decoder said (400 on a body or parameter)
    reason: str | None = None


PROBLEM_RESPONSE = ResponseSpec(Problem, media_type=PROBLEM, generate_examples=False,
                                description="An error, as problem details (RFC 9457)")


def document_problems(app: Litestar) -> None:
    """Describe the error answers of every API operation in the OpenAPI document: problem details, for 400
    (instead of Litestar's own validation body, which the API never sends) and for any other status."""
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for handler in route.route_handlers:
                if not handler.resolve_include_in_schema():
                    continue  # a page, the document's own routes
                handler.responses = {400: PROBLEM_RESPONSE, "default": PROBLEM_RESPONSE,  # type: ignore[dict-item]
                                     **(handler.responses or {})}


class RenderHtml(Protocol):
    """The HTML skin's error page: `render_html(request, status, title, detail, headers=...)`."""

    def __call__(self, request: Request[Any, Any, Any], status: int, title: str, detail: str,
                 headers: dict[str, str] | None = None) -> Response[Any]: ...


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or "application/json" in accept and "text/html" not in accept


def _problem(request: Request[Any, Any, Any], status: int, title: str, detail: str,
             extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
             render_html: RenderHtml | None = None) -> Response[Any]:
    if render_html is not None and not _wants_json(request):
        return render_html(request, status, title, detail, headers=headers)  # partial for htmx: the skin's call
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail,
                            "instance": request.url.path}
    body.update(extra or {})
    return Response(body, status_code=status, media_type=PROBLEM, headers=headers)


def domain_error(request: Request[Any, Any, Any], exc: DomainError,
                 render_html: RenderHtml | None = None) -> Response[Any]:
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    if getattr(exc, "reason", None):
        extra["reason"] = exc.reason  # type: ignore[attr-defined]
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if exc.status == 401 and request.url.path.startswith("/api/"):
        headers = {"WWW-Authenticate": 'Bearer realm="motcua"'}
    return _problem(request, exc.status, exc.title, exc.detail, extra or None, headers=headers,
                    render_html=render_html)


def http_error(request: Request[Any, Any, Any], exc: HTTPException,
               render_html: RenderHtml | None = None) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        fields = ", ".join(str(e.get("key")) for e in errors if isinstance(e, dict) and e.get("key"))
        detail = f"Giá trị không hợp lệ ở: {fields}." if fields else str(exc.detail)
        if detail.startswith("Validation failed"):  # Litestar's own text; what the decoder said stays in `errors`
            detail = "Dữ liệu gửi lên không hợp lệ."
        return _problem(request, 400, "Invalid input", detail, {"errors": errors}, render_html=render_html)
    if isinstance(exc, NotFoundException):
        detail = "Không có gì ở địa chỉ này." if exc.detail == "Not Found" else exc.detail
        return _problem(request, 404, "Not found", detail, render_html=render_html)
    title = {405: "Method not allowed", 413: "Request too large", 429: "Too many requests"}.get(status, "Error")
    return _problem(request, status, title, str(exc.detail), headers=exc.headers, render_html=render_html)


def server_error(request: Request[Any, Any, Any], exc: Exception,
                 render_html: RenderHtml | None = None) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal error",
                    "Hệ thống gặp sự cố và đã ghi lại. Vui lòng thử lại sau.", render_html=render_html)


def error_handlers(render_html: RenderHtml | None = None) -> ExceptionHandlersMap:
    """Litestar's `exception_handlers`: domain errors, HTTP errors and the rest, pages through `render_html`."""
    return {
        DomainError: functools.partial(domain_error, render_html=render_html),
        HTTPException: functools.partial(http_error, render_html=render_html),
        Exception: functools.partial(server_error, render_html=render_html),
    }
