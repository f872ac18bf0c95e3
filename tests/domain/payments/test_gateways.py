"""Gateway signatures and encodings: VNPAY (vectors from the documented example query), VietQR / CRC-16,
the sandbox's signed messages, Paygov's check codes, and the production start-up check of secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from api.app import create_app
from domain.payments.gateways.base import Ack, PaymentInfo
from domain.payments.gateways.paygov import PaygovGateway, checksum
from domain.payments.gateways.sandbox import SandboxGateway
from domain.payments.gateways.vietqr import crc16_ccitt_false, decode, encode
from domain.payments.gateways.vnpay import VnpayGateway, hash_data, secure_hash
from domain.settings import SettingsError, load_payment_settings
from tests.helpers import settings_now, use_settings

# VNPAY's integration guide, "Tạo URL Thanh toán": the documented example payment URL (API 2.1.0).
DOC_QUERY = ("vnp_Amount=1806000&vnp_Command=pay&vnp_CreateDate=20210801153333&vnp_CurrCode=VND&vnp_IpAddr=127.0.0.1"
             "&vnp_Locale=vn&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other"
             "&vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210&vnp_TxnRef=5"
             "&vnp_Version=2.1.0")
DOC_HASH = ("3e0d61a0c0534b2e36680b3f7277743e8784cc4e1d68fa7d276e79c23be7d6318d338b477910a27992f5057bb1582bd44"
            "bd82ae8009ffaf6d141219218625c42")
SECRET = "TESTSECRETKEY0123456789ABCDEFGHI"


def doc_params() -> dict[str, str]:
    return dict(parse_qsl(DOC_QUERY, keep_blank_values=True))


def info(**kw: object) -> PaymentInfo:
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    values: dict[str, object] = dict(reference="TTABCDEFGH234567", amount_vnd=10_000,
                                     dossier_code="000.31.11.H56-261126-0001", fee_name="Lệ phí", client_ip="10.0.0.7",
                                     created_at=now, expires_at=now + timedelta(minutes=90),
                                     return_url="http://localhost:8000/thanh-toan/ve/vnpay",
                                     callback_url="http://localhost:8000/api/v1/payments/callbacks/vnpay")
    values.update(kw)
    return PaymentInfo(**values)  # type: ignore[arg-type]


# --- VNPAY -----------------------------------------------------------------------------------------
def test_vnpay_hash_data_rebuilds_the_documented_query_exactly() -> None:
    """Sorted by name, quote_plus-encoded, joined with &: the text VNPAY signs is the documented query."""
    params = doc_params()
    assert hash_data(params) == DOC_QUERY
    assert hash_data({**params, "vnp_SecureHash": DOC_HASH, "vnp_SecureHashType": "HmacSHA512"}) == DOC_QUERY
    shuffled = dict(reversed(list(params.items())))
    assert hash_data(shuffled) == DOC_QUERY


def test_vnpay_secure_hash_is_hmac_sha512_of_that_text() -> None:
    expected = hmac.new(SECRET.encode(), DOC_QUERY.encode(), hashlib.sha512).hexdigest()
    assert secure_hash(SECRET, DOC_QUERY) == expected and len(expected) == len(DOC_HASH) == 128
    gw = VnpayGateway("DEMOV210", SECRET, "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", "")
    url = gw.payment_url(doc_params())
    assert url == f"https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?{DOC_QUERY}&vnp_SecureHash={expected}"
    # what comes back signed the same way verifies; one changed character does not
    back = {**doc_params(), "vnp_SecureHash": expected}
    assert gw.verify(back)
    assert not gw.verify({**back, "vnp_Amount": "1806100"})
    assert not gw.verify({**back, "vnp_SecureHash": DOC_HASH})  # signed with VNPAY's (unknown) demo secret


def test_vnpay_payment_url_fields() -> None:
    gw = VnpayGateway("MOTCUA01", SECRET, "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", "")
    url = gw.start(info()).redirect_url
    assert url is not None
    params = dict(parse_qsl(urlsplit(url).query))
    assert params["vnp_Amount"] == "1000000"  # VND × 100
    assert params["vnp_Version"] == "2.1.0" and params["vnp_Command"] == "pay" and params["vnp_CurrCode"] == "VND"
    assert params["vnp_TxnRef"] == "TTABCDEFGH234567" and params["vnp_TmnCode"] == "MOTCUA01"
    assert params["vnp_CreateDate"] == "20261126100000" and params["vnp_ExpireDate"] == "20261126113000"  # GMT+7
    assert params["vnp_OrderInfo"] == "Thanh toan le phi ho so 000 31 11 H56 261126 0001"
    assert "vnp_SecureHashType" not in params
    assert gw.verify(params)


def signed_return(gw: VnpayGateway, **over: str) -> dict[str, str]:
    params = {"vnp_Amount": "1000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14226112", "vnp_CardType": "ATM",
              "vnp_OrderInfo": "Thanh toan le phi ho so", "vnp_PayDate": "20261126101500", "vnp_ResponseCode": "00",
              "vnp_TmnCode": "MOTCUA01", "vnp_TransactionNo": "14226112", "vnp_TransactionStatus": "00",
              "vnp_TxnRef": "TTABCDEFGH234567", **over}
    return {**params, "vnp_SecureHash": secure_hash(gw.secret, hash_data(params))}


def test_vnpay_return_and_ipn_notices() -> None:
    gw = VnpayGateway("MOTCUA01", SECRET, "", "")
    ok = gw.parse_callback(signed_return(gw), b"", {})
    assert (ok.signature_ok, ok.outcome, ok.amount_vnd, ok.reference, ok.gateway_txn) == \
        (True, "success", 10_000, "TTABCDEFGH234567", "14226112")
    assert ok.paid_at == datetime(2026, 11, 26, 3, 15, tzinfo=UTC)
    assert gw.parse_return(signed_return(gw, vnp_ResponseCode="24", vnp_TransactionStatus="02")).outcome == "cancelled"
    assert gw.parse_return(signed_return(gw, vnp_ResponseCode="51", vnp_TransactionStatus="02")).outcome == "failed"
    forged = signed_return(gw)
    forged["vnp_Amount"] = "100"
    assert not gw.parse_return(forged).signature_ok
    odd = gw.parse_return(signed_return(gw, vnp_Amount="1000050"))  # not a whole number of đồng
    assert odd.signature_ok and odd.amount_vnd == -1
    assert gw.parse_return(signed_return(gw, vnp_Amount="lots")).malformed


def test_vnpay_ipn_answers() -> None:
    gw = VnpayGateway("MOTCUA01", SECRET, "", "")
    codes = {ack: gw.reply(ack, None)[1]["RspCode"] for ack in Ack}
    assert codes == {Ack.CONFIRMED: "00", Ack.NOT_FOUND: "01", Ack.ALREADY: "02", Ack.INVALID_AMOUNT: "04",
                     Ack.INVALID_SIGNATURE: "97", Ack.MALFORMED: "99", Ack.ERROR: "99"}
    assert gw.reply(Ack.CONFIRMED, "success") == (200, {"RspCode": "00", "Message": "Confirm Success"})


def test_vnpay_refund_request_is_signed_over_pipe_joined_fields() -> None:
    gw = VnpayGateway("MOTCUA01", SECRET, "", "")
    now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
    body = gw.refund_request(info(gateway_txn="14226112", paid_at=now - timedelta(days=1)), 10_000, "R1", "Cán bộ",
                             now=now)
    text = "|".join([body[k] for k in ("vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode",
                                       "vnp_TransactionType", "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo",
                                       "vnp_TransactionDate", "vnp_CreateBy", "vnp_CreateDate", "vnp_IpAddr",
                                       "vnp_OrderInfo")])
    assert body["vnp_SecureHash"] == secure_hash(SECRET, text)
    assert body["vnp_TransactionType"] == "02" and body["vnp_Amount"] == "1000000" and body["vnp_CreateBy"] == "Can bo"


# --- VietQR ---------------------------------------------------------------------------------------
def test_crc16_ccitt_false_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1  # the catalogue check value of CRC-16/CCITT-FALSE
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_vietqr_encoder_reproduces_a_published_sample() -> None:
    # a published VietQR sample: 120.000 ₫ to account 0011001932418 at BIN 970415, purpose "ủng hộ lũ lụt"
    sample = ("00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061200005802VN"
              "62170813ung ho lu lut6304C15C")
    assert encode("970415", "0011001932418", 120_000, "ủng hộ lũ lụt") == sample
    fields = decode(sample)
    assert fields["38.00"] == "A000000727" and fields["38.01.00"] == "970415" and fields["62.08"] == "ung ho lu lut"


def test_vietqr_with_the_dossier_code_and_amount() -> None:
    payload = encode("970415", "113366668888", 10_000, "000.31.11.H56-261126-0001")
    fields = decode(payload)
    assert fields["00"] == "01" and fields["01"] == "12" and fields["53"] == "704" and fields["58"] == "VN"
    assert fields["54"] == "10000" and fields["62.08"] == "000.31.11.H56-261126-0001"
    assert fields["38.01.01"] == "113366668888" and fields["38.02"] == "QRIBFTTA"
    assert payload.endswith(f"{crc16_ccitt_false(payload[:-4].encode()):04X}")
    with pytest.raises(ValueError, match="CRC"):
        decode(payload[:-1] + ("0" if payload[-1] != "0" else "1"))
    with pytest.raises(ValueError):
        encode("97041", "1", 1)
    with pytest.raises(ValueError):
        encode("970415", "1", -5)


# --- sandbox --------------------------------------------------------------------------------------
def test_sandbox_round_trip() -> None:
    gw = SandboxGateway("s3cret")
    url = gw.start(info(return_url="http://localhost:8000/thanh-toan/ve/sandbox")).redirect_url
    assert url is not None and url.startswith("http://localhost:8000/cong-thu-nghiem?")
    request = dict(parse_qsl(urlsplit(url).query))
    assert gw.check(request) and not gw.check({**request, "amount": "1"})
    assert not SandboxGateway("other").check(request)
    back, body, headers = gw.outcome(request, "success")
    returned = gw.parse_return(dict(parse_qsl(urlsplit(back).query)))
    assert returned.signature_ok and returned.outcome == "success" and returned.amount_vnd == 10_000
    called = gw.parse_callback({}, body, {k.lower(): v for k, v in headers.items()})
    assert called.signature_ok and called.reference == request["ref"] and called.gateway_txn == returned.gateway_txn
    tampered = json.loads(body)
    tampered["amount"] = "1"
    assert not gw.parse_callback(
        {}, json.dumps(tampered).encode(), {k.lower(): v for k, v in headers.items()}
    ).signature_ok
    assert not gw.parse_callback({}, b"{not json", {}).signature_ok


# --- Paygov ------------------------------------------------------------------------------------------
def test_paygov_check_codes() -> None:
    gw = PaygovGateway("https://paygov.example", "MOTCUA", "k3y")
    body = gw.create_request(info())
    assert body["checksum"] == hashlib.sha256(
        "|".join(["MOTCUA", "TTABCDEFGH234567", "10000", "Le phi ho so 000.31.11.H56-261126-0001",
                  "http://localhost:8000/thanh-toan/ve/vnpay", "http://localhost:8000/api/v1/payments/callbacks/vnpay",
                  "20261126100000", "20261126113000", "k3y"]).encode()).hexdigest()
    result = {"partnerCode": "MOTCUA", "orderId": "TTABCDEFGH234567", "amount": 10000, "transactionId": "PG1",
              "status": "00", "paidAt": "20261126101500"}
    signed = {**result, "checksum": checksum("k3y", [str(result[k]) for k in ("partnerCode", "orderId", "amount",
                                                                             "transactionId", "status", "paidAt")])}
    notice = gw.parse_callback({}, json.dumps(signed).encode(), {})
    assert notice.signature_ok and notice.outcome == "success" and notice.amount_vnd == 10_000
    assert not gw.parse_callback({}, json.dumps({**signed, "amount": 1}).encode(), {}).signature_ok
    assert not gw.parse_callback({}, json.dumps({**signed, "partnerCode": "OTHER"}).encode(), {}).signature_ok
    code, answer = gw.reply(Ack.ALREADY, "success")
    assert code == 200 and answer["code"] == "02" and answer["checksum"] == checksum("k3y", ["02", "already confirmed"])


# --- settings -----------------------------------------------------------------------------------------
def test_settings_defaults_and_production_checks() -> None:
    dev = load_payment_settings({})
    assert dev.enabled == ("sandbox",) and dev.sandbox_secret
    left_out = load_payment_settings({"PAYMENT_GATEWAYS": "sandbox,vnpay"})
    assert left_out.enabled == ("sandbox",) and "VNPAY_TMN_CODE" in left_out.problems[0]
    assert load_payment_settings({"MOTCUA_ENV": "production"}).enabled == ()
    with pytest.raises(SettingsError, match="VNPAY_HASH_SECRET"):
        load_payment_settings({"MOTCUA_ENV": "production", "PAYMENT_GATEWAYS": "vnpay", "VNPAY_TMN_CODE": "X"})
    with pytest.raises(SettingsError, match="sandbox"):
        load_payment_settings({"MOTCUA_ENV": "production", "PAYMENT_GATEWAYS": "sandbox",
                               "PAYMENT_SANDBOX_SECRET": "x" * 40})
    with pytest.raises(SettingsError, match="unknown"):
        load_payment_settings({"PAYMENT_GATEWAYS": "bitcoin"})
    with pytest.raises(SettingsError, match="BIN"):
        load_payment_settings({"PAYMENT_GATEWAYS": "vietqr", "VIETQR_BANK_BIN": "abc", "VIETQR_ACCOUNT": "1"})
    prod = load_payment_settings({"MOTCUA_ENV": "production", "PAYMENT_GATEWAYS": "vnpay,vietqr",
                                  "VNPAY_TMN_CODE": "X", "VNPAY_HASH_SECRET": "Y", "VIETQR_BANK_BIN": "970415",
                                  "VIETQR_ACCOUNT": "123"})
    assert prod.enabled == ("vnpay", "vietqr")


def test_create_app_refuses_production_without_gateway_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings_now()  # the test's, before the environment turns production
    monkeypatch.setenv("MOTCUA_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("PUBLIC_URL", "https://example.gov.vn")
    monkeypatch.setenv("PAYMENT_GATEWAYS", "vnpay")
    monkeypatch.delenv("VNPAY_HASH_SECRET", raising=False)
    monkeypatch.delenv("VNPAY_TMN_CODE", raising=False)
    try:
        with pytest.raises(SettingsError, match="VNPAY_TMN_CODE"):
            create_app()
    finally:
        monkeypatch.undo()
        use_settings(before)
