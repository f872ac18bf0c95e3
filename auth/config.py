"""What ``auth`` takes from the settings, as one small value handed in (docs/adr/0008-settings-handed-in.md).

The composition roots build it once from the settings they read (``api.app.create_app`` keeps it on
``app.state.auth``, read by ``api.web.state.auth_of``; ``api.cli`` builds it from its settings) and hand
it to auth's functions as ``cfg``: tokens (signing keys, issuer), accounts (hasher cost, one-time codes'
key, limit factor), passkeys (relying party). Nothing here keeps a value or reads the environment.
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

