"""Litestar dependencies both skins use: the database, the storage, the settings and who is calling.

A handler names what it needs as a parameter (`db: Database`, `storage: Storage`, `settings: Settings`,
`me: Principal`) instead of reaching into `request.app.state`. The app registers `PROVIDERS` once for every
route; who is calling differs by skin, so a controller picks `API_USER` (a bearer token or 401) or
`PAGE_USER` (the session cookie, or the sign-in page). A dependency is not a request parameter: the OpenAPI
document does not change.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import Provide

from api.web.session import api_principal, page_user
from api.web.state import settings_of, storage_of
from domain.db import Database
from domain.documents.storage import Storage
from domain.settings import Settings


def provide_db(request: Request[Any, Any, Any]) -> Database:
    """The database the app was built with."""
    db: Database = request.app.state.db
    return db


def provide_storage(request: Request[Any, Any, Any]) -> Storage:
    """Where uploaded and issued documents are kept (built once, at start-up)."""
    return storage_of(request)


def provide_settings(request: Request[Any, Any, Any]) -> Settings:
    """The settings the app was built with."""
    return settings_of(request)


# Registered on the app: every handler may ask for these by name
PROVIDERS: dict[str, Provide] = {
    "db": Provide(provide_db, sync_to_thread=False),
    "storage": Provide(provide_storage, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
}

# Who is calling, under the name `me`: the JSON API's bearer token, or a page's session cookie
API_USER = Provide(api_principal)
PAGE_USER = Provide(page_user, sync_to_thread=False)
