"""What ``auth`` takes from the settings, as one small value the composition root hands in at start-up.

TRANSITIONAL (docs/adr/0008-settings-handed-in.md): the core, the notifications and the web layer take
their settings as parameters; ``auth`` still reads these five values from the one it was configured with,
because its signing keys, issuer, hasher cost, relying party and limit factor are used on some fifty call
paths (sign-in, refresh, passkeys, codes, limits) that are being switched one by one. Only the roots call
:func:`configure` (``api.app.create_app``, ``api.cli``, the test fixtures, with the value read once by
``domain.settings.load_settings``); nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.settings import Settings


@dataclass(frozen=True)
class AuthSettings:
    env: str  # dev | test | production: test hashes passwords with cheap argon2 parameters
    public_url: str  # the tokens' issuer; the passkeys' relying party (RP ID and origin)
    secret_key: str  # signs tokens and one-time codes
    previous_secret_key: str  # still accepted while keys rotate
    client_limit_factor: int  # multiplies per-client-address limits

    @classmethod
    def of(cls, settings: Settings) -> AuthSettings:
        return cls(env=settings.env, public_url=settings.public_url, secret_key=settings.web.secret_key,
                   previous_secret_key=settings.web.previous_secret_key,
                   client_limit_factor=settings.limits.client_limit_factor)


_configured: AuthSettings | None = None


def configure(settings: AuthSettings) -> AuthSettings:
    """The composition root says what auth works with (once at start-up; a test for a block)."""
    global _configured
    _configured = settings
    return settings


def auth_settings() -> AuthSettings:
    if _configured is None:
        raise RuntimeError("auth is not configured: the composition root (api.app.create_app, api.cli) calls "
                           "auth.config.configure(AuthSettings.of(settings)) before anything runs")
    return _configured
