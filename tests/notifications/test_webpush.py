"""Web Push encryption: RFC 8291 Appendix A decrypts with the tests' own implementation, and what
pywebpush (our sender) encrypts decrypts with it too; VAPID keys and tokens are what RFC 8292 wants."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pywebpush import WebPusher

from domain.errors import InvalidInput
from domain.settings import NotifySettings
from notifications.channels import webpush
from tests.pushservice import DecryptError, b64d, b64e, decrypt

# RFC 8291, Appendix A
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
MESSAGE = ("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8w"
           "EqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")


def ua_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(b64d(UA_PRIVATE), "big"), ec.SECP256R1())


def test_rfc8291_appendix_a_vector() -> None:
    body = b64d(MESSAGE)
    assert body[:16] == b64d(SALT)
    assert int.from_bytes(body[16:20], "big") == 4096 and body[20] == 65
    assert body[21:86] == b64d(AS_PUBLIC)
    point = ua_key().public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert b64e(point) == UA_PUBLIC
    assert decrypt(body, ua_key(), b64d(AUTH)) == PLAINTEXT


def test_vector_with_wrong_secret_or_key_does_not_decrypt() -> None:
    body = b64d(MESSAGE)
    with pytest.raises(DecryptError):
        decrypt(body, ua_key(), b"\x00" * 16)
    with pytest.raises(DecryptError):
        decrypt(body, ec.generate_private_key(ec.SECP256R1()), b64d(AUTH))
    tampered = body[:-1] + bytes([body[-1] ^ 1])
    with pytest.raises(DecryptError):
        decrypt(tampered, ua_key(), b64d(AUTH))


def test_pywebpush_aes128gcm_round_trip() -> None:
    """Our sender's payload (pywebpush, aes128gcm) decrypts with the independent implementation."""
    payload = webpush.encode_payload({"id": "m1", "title": "Hồ sơ đã được tiếp nhận", "body": "Đ" * 100})
    body = WebPusher({"endpoint": "https://push.example/x", "keys": {"p256dh": UA_PUBLIC, "auth": AUTH}}) \
        .encode(payload, "aes128gcm")["body"]
    assert body[20] == 65  # keyid = the sender's ephemeral public key
    assert json.loads(decrypt(body, ua_key(), b64d(AUTH)))["title"] == "Hồ sơ đã được tiếp nhận"


def test_payload_is_cut_to_fit_one_record() -> None:
    data = webpush.encode_payload({"id": "x", "title": "T" * 100, "body": "ệ" * 5000, "url": "/ho-so/1"})
    assert len(data) <= webpush.MAX_PAYLOAD
    decoded = json.loads(data)
    assert decoded["url"] == "/ho-so/1" and decoded["body"].endswith("…")


def test_vapid_keys_and_token() -> None:
    private, public = webpush.generate_keys()
    assert len(b64d(private)) == 32 and len(b64d(public)) == 65 and b64d(public)[0] == 4
    assert webpush.public_key_of(private) == public

    settings = NotifySettings(
        env="test", public_url="http://localhost", vapid_private_key=private, vapid_subject="mailto:a@example.org",
        smtp_host="", smtp_port=25, smtp_user="", smtp_password="", smtp_starttls=False, smtp_timeout=1,
        mail_from="a@example.org", sms_provider="log", allow_loopback=True, poll_seconds=0.1, push_timeout=1,
        lease_seconds=10, max_attempts=3, backoff_seconds=0, backoff_cap_seconds=0, max_retry_after_seconds=10,
        embedded_worker=False)
    sender = webpush.PushSender(settings)
    header = sender.authorization("https://push.example")
    assert header is sender.authorization("https://push.example")  # reused, not re-signed per message
    scheme, _, params = header.partition(" ")
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert scheme == "vapid" and parts["k"] == public
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64d(parts["k"]))
    claims = jwt.decode(parts["t"], key, algorithms=["ES256"], audience="https://push.example")
    assert claims["sub"] == "mailto:a@example.org"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600


@pytest.mark.parametrize("bad", ["", "not base64!", b64e(b"short"), b64e(b"\x05" + b"\x00" * 64),
                                 b64e(b"\x04" + b"\x00" * 64)])
def test_malformed_p256dh_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        webpush.check_keys(bad, AUTH)


def test_malformed_auth_is_refused() -> None:
    with pytest.raises(InvalidInput):
        webpush.check_keys(UA_PUBLIC, b64e(b"\x00" * 8))
    assert webpush.check_keys(UA_PUBLIC, AUTH) == (UA_PUBLIC, AUTH)


@pytest.mark.parametrize(("status", "retry_after", "outcome", "remove"), [
    (201, None, "delivered", False), (404, None, "permanent-failure", True), (410, None, "permanent-failure", True),
    (429, "7", "retry", False), (500, None, "retry", False), (503, "Wed, 21 Oct 2099 07:28:00 GMT", "retry", False),
    (400, None, "technical-failure", False), (401, None, "technical-failure", False),
    (413, None, "technical-failure", False), (301, None, "technical-failure", False),
])
def test_push_service_answers_map_to_outcomes(status: int, retry_after: str | None, outcome: str,
                                              remove: bool) -> None:
    r = webpush.classify(status, retry_after)
    assert (r.outcome, r.remove_subscription) == (outcome, remove)
    if retry_after == "7":
        assert r.retry_after == 7
    if retry_after and retry_after.startswith("Wed"):
        assert r.retry_after is not None and r.retry_after > 86400
