"""One map from errors to HTTP: problem details (RFC 9457) on the API, an error page elsewhere."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from domain.errors import DomainError, TooManyRequests

log = logging.getLogger("motcua")
PROBLEM = "application/problem+json"


def _problem(request: Request[Any, Any, Any], status: int, title: str, detail: str,
             extra: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> Response[Any]:
    if request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "") and \
            "text/html" not in request.headers.get("accept", ""):
        body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail,
                                "instance": request.url.path}
        body.update(extra or {})
        return Response(body, status_code=status, media_type=PROBLEM, headers=headers)
    from pwa.render import render_error  # the HTML skin renders its own page (partial for htmx)

    return render_error(request, status, title, detail, headers=headers)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    extra: dict[str, Any] = {"field": exc.field} if exc.field else {}
    if getattr(exc, "reason", None):
        extra["reason"] = exc.reason  # type: ignore[attr-defined]
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
    if exc.status == 401 and request.url.path.startswith("/api/"):
        headers = {"WWW-Authenticate": 'Bearer realm="motcua"'}
    return _problem(request, exc.status, exc.title, exc.detail, extra or None, headers=headers)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else []
        fields = ", ".join(str(e.get("key")) for e in errors if isinstance(e, dict) and e.get("key"))
        detail = f"Giá trị không hợp lệ ở: {fields}." if fields else str(exc.detail)
        return _problem(request, 400, "Invalid input", detail, {"errors": errors})
    if isinstance(exc, NotFoundException):
        return _problem(request, 404, "Not found", "Không có gì ở địa chỉ này." if exc.detail == "Not Found" else exc.detail)
    title = {405: "Method not allowed", 413: "Request too large", 429: "Too many requests"}.get(status, "Error")
    return _problem(request, status, title, str(exc.detail), headers=exc.headers)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, "Internal error",
                    "Hệ thống gặp sự cố và đã ghi lại. Vui lòng thử lại sau.")


HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    HTTPException: http_error,
    Exception: server_error,
}
