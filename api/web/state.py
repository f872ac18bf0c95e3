"""What the composition root put on ``app.state`` for the handlers: the settings it read once, the storage
it built once. Handlers and the web plumbing read them from the request, never from the environment."""

from __future__ import annotations

from typing import Any, cast

from litestar import Request

from auth.config import AuthSettings
from domain.documents.storage import Storage
from domain.payments.context import PaymentContext
from domain.settings import Settings


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    return cast(Settings, request.app.state.settings)


def auth_of(request: Request[Any, Any, Any]) -> AuthSettings:
    """What ``auth`` works with (signing keys, issuer and relying party, hasher cost, client-limit factor),
    taken from the app's settings once by the composition root; handed to auth's functions as ``cfg``."""
    return cast(AuthSettings, request.app.state.auth)


def storage_of(request: Request[Any, Any, Any]) -> Storage:
    return cast(Storage, request.app.state.storage)


def payments_of(request: Request[Any, Any, Any]) -> PaymentContext:
    """What the payment use cases need: the payments section, the public address, the one storage."""
    return cast(PaymentContext, request.app.state.payments)
