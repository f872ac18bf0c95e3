"""The application factory: settings → database → routes → Litestar app."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Contact, License
from sqlalchemy import text

from api.v1 import auth as auth_api
from api.v1 import calendar as calendar_api
from api.v1 import catalog as catalog_api
from api.v1 import claim as claim_api
from api.v1 import dossiers as dossier_api
from api.v1 import forms as forms_api
from api.v1 import intake as intake_api
from api.v1 import notifications as notification_api
from api.v1 import officer as officer_api
from api.v1 import passkeys as passkey_api
from api.v1 import payments as payment_api
from api.v1 import stats as stats_api
from api.web.csrf import SessionCsrfMiddleware
from api.web.errors import document_problems, error_handlers
from api.web.guards import ids_in_range
from api.web.passkey_session import GoElsewhere, go_elsewhere, passkey_session_only
from api.web.providers import PROVIDERS
from api.web.proxies import TrustedProxiesMiddleware, parse_networks
from api.web.session import SessionCookieMiddleware, SignInRequired, cookie_names
from auth.config import AuthSettings
from domain.catalog.offer import current_province
from domain.db import Database
from domain.documents.storage import storage_for
from domain.payments.context import PaymentContext
from domain.settings import Settings, configure_core, load_settings
from notifications.worker import embedded
from pwa import account, admin, dashboard, filing, passkey_routes, static_files, views
from pwa import claim as claim_pages
from pwa import forms as form_pages
from pwa import intake as intake_pages
from pwa import notifications as notification_pages
from pwa import officer as officer_pages
from pwa import payments as payment_pages
from pwa.render import render_error

log = logging.getLogger("motcua")


@get("/healthz", tags=["ops"])
async def healthz(db: Database) -> dict[str, str]:
    """Liveness and database reachability."""
    await db.read(lambda s: s.execute(text("SELECT 1")).scalar_one())
    return {"status": "ok"}


# The JSON API (api.v1) and the plumbing's own endpoints, in the order of the OpenAPI document
API_ROUTES: list[Any] = [healthz, *catalog_api.ROUTES, *auth_api.ROUTES, *calendar_api.ROUTES, *dossier_api.ROUTES,
                         *claim_api.ROUTES,
                         *officer_api.ROUTES, *forms_api.ROUTES, *intake_api.ROUTES, *passkey_api.ROUTES,
                         *payment_api.ROUTES,
                         *notification_api.ROUTES, *stats_api.ROUTES]
# The pages (pwa)
PAGE_ROUTES: list[Any] = [*views.ROUTES, *account.ROUTES, *admin.ROUTES, *filing.ROUTES, *claim_pages.ROUTES,
                          *static_files.ROUTES,
                          *passkey_routes.ROUTES, *payment_pages.ROUTES, *notification_pages.ROUTES,
                          *officer_pages.ROUTES, *form_pages.ROUTES, *intake_pages.ROUTES, *dashboard.ROUTES]


def _signed_in(scope: Any, session_cookies: tuple[bytes, ...]) -> bool:
    """Whether the request carried credentials (a bearer token or the session cookies)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and any(c in value for c in session_cookies)):
            return True
    return False


def security_headers(settings: Settings) -> Any:
    """Headers for every response. The document policies (CSP, framing, permissions) go on HTML pages
    and the service worker only: on a stylesheet or an image they do nothing but weigh ~500 bytes a
    response (a tenth of a phone's first load over HTTP/1.1)."""
    csp = (b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
           b"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
           b"frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'")
    everywhere = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin")]
    if settings.is_production:
        everywhere.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
    names = cookie_names(settings)
    session_cookies = (f"{names.access}=".encode(), f"{names.refresh}=".encode())
    documents = [
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"geolocation=(), microphone=(), camera=(self)"),
    ]

    async def before_send(message: Any, scope: Any) -> None:
        if message["type"] == "http.response.start":
            headers = message.setdefault("headers", [])
            names = {name.lower(): value for name, value in headers}
            path = scope.get("path", "")
            document = names.get(b"content-type", b"").startswith(b"text/html") or path == "/sw.js"
            wanted = everywhere + documents if document else everywhere
            headers.extend(h for h in wanted if h[0] not in names)
            if document and not path.startswith("/api/") and b"content-security-policy" not in names:
                headers.append((b"content-security-policy", csp))
            if b"cache-control" not in names:  # an answer to a signed-in caller is private: never stored
                headers.append((b"cache-control", b"no-store" if _signed_in(scope, session_cookies) else b"no-cache"))

    return before_send


def _lifespan(database: Database, settings: Settings, *, owned: bool) -> Callable[[Litestar], Any]:
    """Start-up and shut-down of an app on ``database``: the province's name, the long-lived objects out of
    the collector's reach, the embedded worker (if switched on); ``owned``: the app disposes of the database."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        info = await database.read(current_province)
        app.state.province_name = info.name if info else ""
        # Everything loaded so far lives as long as the process: move it out of the garbage
        # collector's reach, or each full collection walks all of them while every request in flight
        # waits: that was the p99 under load (figures in bench/README.md)
        gc.collect()
        gc.freeze()
        # MOTCUA_EMBEDDED_WORKER=1 (make run): the notification worker runs in this process
        try:
            async with embedded(database, settings.notifications):
                yield
        finally:
            if owned:
                await database.dispose()

    return lifespan


def _compression() -> CompressionConfig:
    return CompressionConfig(backend="brotli", brotli_quality=1, brotli_gzip_fallback=True, minimum_size=600,
                             exclude=["^/static/", "^/sw.js", "^/manifest"])


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="motcua API",
        version="1",
        description="Public-service portal of a Vietnamese province. Catalogue data: Cổng Dịch vụ công "
        "Quốc gia (dichvucong.gov.vn). Errors are problem details (RFC 9457).",
        license=License(name="AGPL-3.0-or-later", identifier="AGPL-3.0-or-later"),
        contact=Contact(name="motcua"),
    )


def create_app(settings: Settings | None = None, db: Database | None = None) -> Litestar:
    # the composition root: the settings are read here once (or handed in) and handed to what needs them;
    # the core's process-wide parts (audit key, outbox channels) are configured with them; auth gets its
    # part as a value on app.state (api.web.state.auth_of), handed to its functions as cfg
    settings = configure_core(settings or load_settings(os.environ))
    for problem in settings.payments.problems:  # production stopped in load_settings; dev leaves them out
        logging.getLogger("motcua").warning("payments: %s; the gateway is left out", problem)
    database = db or Database(settings.database.url, audit_key=settings.audit.key)
    storage = storage_for(settings.storage)  # the one storage of the process
    app = Litestar(
        route_handlers=[*API_ROUTES, *PAGE_ROUTES],
        dependencies=PROVIDERS,
        before_request=notification_pages.unread_for_header,
        middleware=[DefineMiddleware(TrustedProxiesMiddleware, trusted=parse_networks(settings.web.trusted_proxies)),
                    DefineMiddleware(SessionCookieMiddleware),
                    # after the session: CSRF tokens are tied to it (api/web/csrf.py, ADR 0007)
                    DefineMiddleware(SessionCsrfMiddleware)],
        state=State(
            {
                "db": database,
                "settings": settings,
                "auth": AuthSettings.of(settings),
                "province_name": "",
                "storage": storage,
                "payments": PaymentContext.of(settings, storage),
            }
        ),
        lifespan=[_lifespan(database, settings, owned=db is None)],
        exception_handlers={
            **error_handlers(render_error),
            SignInRequired: lambda request, _exc: account.login_redirect(request),
            GoElsewhere: go_elsewhere,
        },
        guards=[ids_in_range, passkey_session_only],  # ids a column can hold; staff only in passkey sessions
        before_send=[security_headers(settings)],
        compression_config=_compression(),
        openapi_config=_openapi(),
        request_max_body_size=1024 * 1024,
        debug=False,
    )
    document_problems(app)  # the OpenAPI document says what error answers look like
    return app


def app_from_env() -> Litestar:
    """Entry point for `uvicorn --factory api.app:app_from_env`."""
    return create_app()


