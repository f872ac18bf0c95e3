"""A software WebAuthn authenticator for tests: EC P-256 (ES256), attestation "none".

It answers the server's options JSON the way a browser's ``credential.toJSON()`` would
(``RegistrationResponseJSON`` / ``AuthenticationResponseJSON``), and can be told to misbehave:
another origin or RP ID, no UP/UV flag, a chosen sign counter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes(16)
# Chromium adds this key (with a varying value) so that nobody compares clientDataJSON as text
CHROMIUM_EXTRA = ("other_keys_can_be_added_here",
                  "do not compare clientDataJSON against a template. See https://goo.gl/yabPex")


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    @property
    def id(self) -> str:
        return b64u(self.credential_id)

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:8000"
    counting: bool = True  # False: like many synced passkeys, always report a zero counter
    credentials: dict[str, Credential] = field(default_factory=dict)

    def _client_data(self, kind: str, challenge: str, origin: str | None, extra: dict[str, Any] | None) -> bytes:
        data: dict[str, Any] = {"type": kind, "challenge": challenge, "origin": origin or self.origin,
                                "crossOrigin": False}
        data[CHROMIUM_EXTRA[0]] = CHROMIUM_EXTRA[1]
        data.update(extra or {})
        return json.dumps(data, separators=(",", ":")).encode()

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
               up: bool = True, uv: bool = True, backed_up: bool = False, credential_id: bytes | None = None,
               client_extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """navigator.credentials.create() → RegistrationResponseJSON."""
        rp = rp_id or options["rp"]["id"]
        cred = Credential(credential_id=credential_id or secrets.token_bytes(16),
                          key=ec.generate_private_key(ec.SECP256R1()),
                          rp_id=rp, user_handle=unb64u(options["user"]["id"]))
        flags = (UP if up else 0) | (UV if uv else 0) | AT | ((BE | BS) if backed_up else 0)
        auth_data = (hashlib.sha256(rp.encode()).digest() + bytes([flags]) + struct.pack(">I", cred.sign_count)
                     + AAGUID + struct.pack(">H", len(cred.credential_id)) + cred.credential_id
                     + cred.cose_public_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client = self._client_data("webauthn.create", options["challenge"], origin, client_extra)
        self.credentials[cred.id] = cred
        return {
            "id": cred.id, "rawId": cred.id, "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": True}},
            "response": {"clientDataJSON": b64u(client), "attestationObject": b64u(attestation),
                         "transports": ["internal", "hybrid"], "publicKeyAlgorithm": -7},
        }

    def get(self, options: dict[str, Any], *, credential: Credential | None = None, origin: str | None = None,
            rp_id: str | None = None, up: bool = True, uv: bool = True, counter: int | None = None,
            user_handle: bytes | None = None, client_extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """navigator.credentials.get() → AuthenticationResponseJSON."""
        if credential is None:
            allowed = [c["id"] for c in options.get("allowCredentials") or []]
            mine = [c for c in self.credentials.values() if c.rp_id == options["rpId"]
                    and (not allowed or c.id in allowed)]
            assert mine, "no credential for these options"
            credential = mine[-1]
        if counter is not None:
            credential.sign_count = counter
        elif self.counting:
            credential.sign_count += 1
        flags = (UP if up else 0) | (UV if uv else 0)
        rp = rp_id or credential.rp_id
        auth_data = hashlib.sha256(rp.encode()).digest() + bytes([flags]) + struct.pack(">I", credential.sign_count)
        client = self._client_data("webauthn.get", options["challenge"], origin, client_extra)
        signature = credential.key.sign(auth_data + hashlib.sha256(client).digest(), ec.ECDSA(hashes.SHA256()))
        handle = credential.user_handle if user_handle is None else user_handle
        return {
            "id": credential.id, "rawId": credential.id, "type": "public-key", "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {"clientDataJSON": b64u(client), "authenticatorData": b64u(auth_data),
                         "signature": b64u(signature), "userHandle": b64u(handle)},
        }
