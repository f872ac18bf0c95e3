"""Unit tests for domain.catalog.parse on real portal records.

Fixtures in tests/fixtures/tthc/ are unmodified records of the National Public Service Portal
(Cổng Dịch vụ công Quốc gia, dichvucong.gov.vn), chosen for their awkward shapes.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from domain.catalog.parse import ORIGINAL_KEYS, fold, normalise, read_records

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "tthc"
FIXTURE_CODES = sorted(path.stem for path in FIXTURES.glob("*.json"))
CHANNEL_HEADER = "Hình thức nộpThời gianPhí, lệ phíMô tả"

TOP_KEYS = [
    "code",
    "name",
    "field",
    "levels",
    "kind",
    "decision",
    "who_may_file",
    "audiences",
    "agencies",
    "steps",
    "channels",
    "documents",
    "legal_basis",
    "results",
    "conditions",
    "source_url",
    "needs_review",
    "review_reasons",
    "original",
]
CHANNEL_KEYS = [
    "channel",
    "duration",
    "duration_text",
    "fee_vnd",
    "fee_kind",
    "fee_text",
    "description",
    "original",
]
DOCUMENT_KEYS = ["name", "template", "quantity", "copy_kind", "quantity_text", "group"]


def _raw(code: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{code}.json").read_text(encoding="utf-8"))
    return data


def _parsed(code: str) -> dict[str, Any]:
    return dict(normalise(_raw(code)))


def _record(**fields: Any) -> dict[str, Any]:
    """A minimal synthetic record (required keys + overrides)."""
    return {"ma_thu_tuc": "9.999999", "ten_thu_tuc": "Thủ tục thử", **fields}


def _channels(text: str) -> list[dict[str, Any]]:
    return [
        dict(channel) for channel in normalise(_record(cach_thuc_thuc_hien=CHANNEL_HEADER + text))["channels"]
    ]


def _fees(parsed: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    return [(c["channel"], c["fee_vnd"], c["fee_kind"]) for c in parsed["channels"]]


# ---------------------------------------------------------------------------------------------
# fold
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ĐĂNG KÝ KẾT HÔN", "dang ky ket hon"),
        ("Thủ tục đăng ký  khai sinh\n", "thu tuc dang ky khai sinh"),
        ("  Cấp   Phiếu Lý lịch tư pháp ", "cap phieu ly lich tu phap"),
        (unicodedata.normalize("NFD", "Hộ tịch"), "ho tich"),
        ("", ""),
    ],
)
def test_fold(text: str, expected: str) -> None:
    assert fold(text) == expected


# ---------------------------------------------------------------------------------------------
# Shape invariants on every fixture
# ---------------------------------------------------------------------------------------------


def test_fixture_set_is_representative() -> None:
    required = {
        "1.001193",
        "1.000894",
        "1.004222",
        "1.004194",
        "3.000333",
        "1.001612",
        "1.013225",
        "2.000815",
    }
    assert required <= set(FIXTURE_CODES)
    assert len(FIXTURE_CODES) >= 25


@pytest.mark.parametrize("code", FIXTURE_CODES)
def test_output_shape(code: str) -> None:
    raw = _raw(code)
    parsed = _parsed(code)
    assert list(parsed) == TOP_KEYS
    assert json.loads(json.dumps(parsed, ensure_ascii=False)) == parsed
    assert parsed["code"] == raw["ma_thu_tuc"].strip() == code
    assert parsed["needs_review"] is bool(parsed["review_reasons"])
    assert len(parsed["review_reasons"]) == len(set(parsed["review_reasons"]))
    assert list(parsed["agencies"]) == ["performing", "competent", "coordinating", "authorised", "address"]
    assert set(parsed["levels"]) <= {"ministry", "province", "commune", "other"}
    assert set(parsed["audiences"]) <= {"citizen", "business", "organisation", "foreign"}
    assert parsed["original"] == {key: raw[key] for key in ORIGINAL_KEYS}
    assert len(ORIGINAL_KEYS) == 6 and "thanh_phan_ho_so" in ORIGINAL_KEYS
    channel_text = unicodedata.normalize("NFC", raw["cach_thuc_thuc_hien"])
    for channel in parsed["channels"]:
        assert list(channel) == CHANNEL_KEYS
        assert channel["channel"] in {"online", "in_person", "postal"}
        assert channel["duration"]["unit"] in {"working_days", "days", "hours", "months", "unspecified"}
        assert channel["fee_kind"] in {"free", "amount", "text", "none"}
        assert channel["original"] in channel_text
        assert channel["duration_text"] in channel["original"]
        assert channel["fee_text"] in channel["original"]
        if channel["fee_kind"] == "free":
            assert channel["fee_vnd"] == 0
        if channel["fee_kind"] in {"text", "none"}:
            assert channel["fee_vnd"] is None
        if channel["fee_vnd"]:
            assert channel["fee_kind"] == "amount"
    for document in parsed["documents"]:
        assert list(document) == DOCUMENT_KEYS
        assert document["name"]
        assert document["copy_kind"] in {
            "original",
            "copy",
            "certified_copy",
            "original_or_copy",
            "unspecified",
        }
    for law in parsed["legal_basis"]:
        assert list(law) == ["title", "number"]
        assert law["title"]
    for result in parsed["results"]:
        assert list(result) == ["name", "code"]
        assert "Từ khóa" not in result["name"]
        assert "Nộp hồ sơ" not in result["name"]


@pytest.mark.parametrize("code", FIXTURE_CODES)
def test_normalise_does_not_mutate_input(code: str) -> None:
    raw = _raw(code)
    snapshot = json.dumps(raw, sort_keys=True)
    normalise(raw)
    assert json.dumps(raw, sort_keys=True) == snapshot


# ---------------------------------------------------------------------------------------------
# Named records from the brief
# ---------------------------------------------------------------------------------------------


def test_birth_registration_1_001193() -> None:
    parsed = _parsed("1.001193")
    assert parsed["name"] == "Thủ tục đăng ký khai sinh"
    assert parsed["field"] == "Hộ tịch"
    assert parsed["levels"] == ["commune"]
    assert parsed["who_may_file"] == ["Công dân Việt Nam", "Người Việt Nam định cư ở nước ngoài"]
    assert parsed["audiences"] == ["citizen", "foreign"]
    assert parsed["agencies"]["performing"] is None  # "Không có thông tin"
    assert parsed["conditions"] is None
    assert parsed["steps"] is not None and "\n" in parsed["steps"]
    # "Trực tuyến1Miễn phíDịch vụ bưu chính1Miễn phíTrực tiếp1Miễn phí": value 1, unit unknown.
    assert [(c["channel"], c["duration"], c["duration_text"]) for c in parsed["channels"]] == [
        ("online", {"value": 1, "unit": "unspecified"}, "1"),
        ("postal", {"value": 1, "unit": "unspecified"}, "1"),
        ("in_person", {"value": 1, "unit": "unspecified"}, "1"),
    ]
    assert _fees(parsed) == [("online", 0, "free"), ("postal", 0, "free"), ("in_person", 0, "free")]
    assert parsed["channels"][0]["original"] == "Trực tuyến1Miễn phí"
    assert parsed["review_reasons"] == [
        "channel_unit_missing:online",
        "channel_unit_missing:postal",
        "channel_unit_missing:in_person",
    ]
    assert parsed["results"] == [{"name": "Giấy khai sinh", "code": "KQ.G15.000031"}]


def test_birth_registration_documents_are_grouped() -> None:
    documents = _parsed("1.001193")["documents"]
    groups = list(dict.fromkeys(d["group"] for d in documents))
    assert groups == ["* Giấy tờ phải nộp:", "* Giấy tờ phải xuất trình:", "* Lưu ý:", None]
    first = documents[0]
    assert first["name"].startswith("- Trường hợp trẻ em bị bỏ rơi")
    assert (first["quantity"], first["copy_kind"], first["quantity_text"]) == (1, "original", "1 bản chính")
    # "0 bản chính" rows are notes inside the table: kept, quantity 0, kind unspecified.
    notes = [d for d in documents if d["quantity_text"] == "0 bản chính"]
    assert notes and all(d["quantity"] == 0 and d["copy_kind"] == "unspecified" for d in notes)
    assert documents[-1]["name"].startswith("- Mẫu hộ tịch điện tử tương tác đăng ký khai sinh")


def test_birth_registration_legal_basis() -> None:
    legal = _parsed("1.001193")["legal_basis"]
    assert len(legal) == 15
    numbers = [law["number"] for law in legal]
    assert numbers[0] == "85/2019/TT-BTC"
    assert legal[0]["title"].startswith("Thông tư Hướng dẫn về phí và lệ phí")
    assert {"123/2015/NĐ-CP", "66.7/2025/NQ-CP", "104/2022/NĐ-CP", "01/2022/TT-BTP"} <= set(numbers)
    # "Luật 60/2014/QH1360/2014/QH13": title and number cell glued.
    assert {"title": "Luật 60/2014/QH13", "number": "60/2014/QH13"} in legal
    # "…Bộ Tư phápThông tư số 03/2023/TT-BTP": the number cell repeats the type prefix.
    assert {
        "title": "Thông tư số 03/2023/TT-BTP ngày 02/8/2023 của Bộ trưởng Bộ Tư pháp",
        "number": "03/2023/TT-BTP",
    } in legal


def test_marriage_registration_1_000894() -> None:
    parsed = _parsed("1.000894")
    # "Miễn phí(Miễn lệ phí. Phí cấp bản sao … (nếu có yêu cầu) …)": the procedure itself is free.
    assert _fees(parsed) == [("online", 0, "free"), ("postal", 0, "free"), ("in_person", 0, "free")]
    assert parsed["channels"][1]["fee_text"].startswith("Miễn phí((Miễn lệ phí.")
    assert parsed["results"] == [{"name": "Giấy chứng nhận kết hôn", "code": "KQ.G15.000032"}]
    assert {"title": "Luật 52/2014/QH13", "number": "52/2014/QH13"} in parsed["legal_basis"]
    assert parsed["documents"][0]["group"] == "* Giấy tờ phải xuất trình:"


def test_permanent_residence_1_004222() -> None:
    parsed = _parsed("1.004222")
    online, in_person = parsed["channels"]
    assert online["channel"] == "online" and in_person["channel"] == "in_person"
    assert online["duration"] == in_person["duration"] == {"value": 7, "unit": "working_days"}
    assert (online["fee_vnd"], online["fee_kind"]) == (10_000, "amount")
    assert (in_person["fee_vnd"], in_person["fee_kind"]) == (20_000, "amount")
    assert online["fee_text"].startswith("10,000 Việt Nam Đồng(Trường hợp công dân nộp hồ sơ qua cổng")
    assert online["description"] == ""
    assert parsed["needs_review"] is False
    assert [r["code"] for r in parsed["results"]] == [
        "KQ.G01.000064",
        "KQ.G01.000065",
        "KQ.G01.000067",
        "KQ.G01.000066",
    ]
    legal = {law["number"]: law["title"] for law in parsed["legal_basis"]}
    # "…/TT-BCAngày 01/7/2025…" (missing space) and "…/TT-BCA Sửa đổi…" stay inside their titles.
    assert legal["53/2025/TT-BCA"].startswith("Thông tư số 53/2025/TT-BCAngày 01/7/2025 của Bộ Công an")
    assert legal["66/2023/TT-BCA"].startswith("Thông tư số 66/2023/TT-BCA Sửa đổi, bổ sung")
    assert legal["68/2020/QH14"] == "Luật Cư trú 2020"


def test_temporary_residence_1_004194() -> None:
    parsed = _parsed("1.004194")
    assert _fees(parsed) == [("online", 7_000, "amount"), ("in_person", 10_000, "amount")]
    assert parsed["channels"][0]["description"].startswith("- Nộp hồ sơ trực tuyến qua các cổng")
    assert parsed["audiences"] == ["citizen", "business", "organisation"]
    assert "Tổ chức (không bao gồm doanh nghiệp, HTX)" in parsed["who_may_file"]
    templates = [d["template"] for d in parsed["documents"] if d["template"]]
    assert templates and set(templates) == {"1.MuCT01banhnhkmtheoThngts53.doc"}
    assert parsed["documents"][0]["group"] == "* Hồ sơ đăng ký tạm trú gồm:"
    assert len(parsed["results"]) == 4


def test_criminal_record_3_000333() -> None:
    parsed = _parsed("3.000333")
    assert parsed["levels"] == ["province"]
    for channel in parsed["channels"]:
        assert channel["duration"] == {"value": 10, "unit": "days"}
        # "Miễn phí(Thực hiện theo Thông tư số 244/2016/TT-BTC …)": the note defers to a fee circular.
        assert (channel["fee_vnd"], channel["fee_kind"]) == (None, "text")
    assert parsed["legal_basis"] == [{"title": "Luật 28/2009/QH12", "number": "28/2009/QH12"}]
    assert parsed["results"] == [
        {"name": "Phiếu Lý lịch tư pháp số 2 (Cấp tỉnh)", "code": "KQ.G01.000199"},
        {"name": "Phiếu Lý lịch tư pháp số 1 (Cấp tỉnh)", "code": "KQ.G01.000200"},
    ]


def test_household_business_fee_defers_to_council_1_001612() -> None:
    parsed = _parsed("1.001612")
    assert parsed["levels"] == ["ministry", "commune"]
    for channel in parsed["channels"]:
        # "150,000 Việt Nam Đồng(- Mức lệ phí cụ thể do Hội đồng nhân dân tỉnh quyết định …)"
        assert (channel["fee_vnd"], channel["fee_kind"]) == (None, "text")
        assert channel["duration"] == {"value": None, "unit": "unspecified"}
        assert channel["duration_text"] == "Không có thông tin"
    assert parsed["channels"][0]["fee_text"].startswith("150,000 Việt Nam Đồng(- Mức lệ phí cụ thể")
    assert "fee_defers_to_council:online" in parsed["review_reasons"]
    assert "duration_missing:in_person" in parsed["review_reasons"]
    assert {d["copy_kind"] for d in parsed["documents"]} == {"copy", "original"}


def test_building_permit_1_013225() -> None:
    parsed = _parsed("1.013225")
    assert [(c["channel"], c["duration"]["value"], c["duration"]["unit"]) for c in parsed["channels"]] == [
        ("online", 20, "days"),
        ("postal", 20, "days"),
        ("in_person", 15, "days"),
    ]
    assert all(c["fee_kind"] == "text" for c in parsed["channels"])
    assert "fee_defers_to_council:in_person" in parsed["review_reasons"]
    documents = parsed["documents"]
    assert len(documents) >= 50
    assert documents[0]["group"] == "(1.1) Đối với công trình không theo tuyến:"
    assert documents[0]["copy_kind"] == "original_or_copy"
    # "2 bản chính,1 bản sao": two numbers disagree → quantity unknown, flagged.
    ambiguous = [d for d in documents if d["quantity_text"] == "2 bản chính,1 bản sao"]
    assert ambiguous and ambiguous[0]["quantity"] is None
    assert "document_quantity_ambiguous" in parsed["review_reasons"]
    assert {"title": "Luật Xây dựng", "number": "50/2014/QH13"} in parsed["legal_basis"]


def test_certified_copy_two_rows_same_channel_2_000815() -> None:
    parsed = _parsed("2.000815")
    first, second = parsed["channels"]
    assert first["channel"] == second["channel"] == "in_person"
    assert (first["fee_vnd"], first["fee_kind"], first["fee_text"]) == (
        2_000,
        "amount",
        "2,000 Việt Nam Đồng(/trang)",
    )
    assert first["description"].startswith("Tại Ủy ban nhân dân cấp xã")
    assert (second["fee_vnd"], second["fee_kind"], second["fee_text"]) == (None, "amount", "10 USD(/bản)")
    assert second["description"] == "Tại cơ quan đại diện: 10 USD/bản."
    assert parsed["review_reasons"] == ["duration_missing:in_person", "fee_foreign_currency:in_person"]
    assert parsed["levels"] == ["commune", "other"]


# ---------------------------------------------------------------------------------------------
# Awkward fee shapes
# ---------------------------------------------------------------------------------------------


def test_online_fee_typed_in_thousands_2_001610() -> None:
    # README: one record shows 100 VNĐ online and 100,000 VNĐ on the other channels.
    parsed = _parsed("2.001610")
    assert _fees(parsed) == [
        ("online", 100_000, "amount"),
        ("postal", 100_000, "amount"),
        ("in_person", 100_000, "amount"),
    ]
    assert parsed["channels"][0]["fee_text"].startswith(
        "100 VNĐ(Phí công bố nội dung đăng ký doanh nghiệp: 100.000"
    )
    assert parsed["review_reasons"] == ["fee_scaled_from_note:online", "fee_mismatch_suspect:online"]


def test_unitless_time_glued_to_amount_2_002044() -> None:
    parsed = _parsed("2.002044")
    postal = parsed["channels"][1]
    # "Dịch vụ bưu chính1100 VNĐ(…100.000 đồng/lần…)": time "1" + fee "100 VNĐ" (in thousands).
    assert (postal["duration_text"], postal["fee_vnd"]) == ("1", 100_000)
    assert postal["fee_text"].startswith("100 VNĐ(")
    assert _fees(parsed)[0] == ("online", 0, "free")  # "Miễn phí(Miễn lệ phí (Thông tư số 47/2019/TT-BTC).)"
    assert parsed["channels"][2]["fee_vnd"] == 100_000  # "Trực tiếp1100,000 VNĐ"
    for reason in (
        "channel_time_fee_glued:postal",
        "fee_scaled_from_note:postal",
        "fee_mismatch_suspect:postal",
    ):
        assert reason in parsed["review_reasons"]


def test_implausible_small_amount_without_note_1_005137() -> None:
    parsed = _parsed("1.005137")
    for channel in parsed["channels"]:
        # "Trực tuyến120 VNĐ": time 1, fee 20 VNĐ, nothing to confirm the scale → not trusted.
        assert (channel["duration_text"], channel["fee_text"]) == ("1", "20 VNĐ")
        assert (channel["fee_vnd"], channel["fee_kind"]) == (None, "amount")
    assert "fee_implausible:online" in parsed["review_reasons"]
    assert "channel_time_fee_glued:online" in parsed["review_reasons"]


def test_small_amount_confirmed_by_note_3_000369() -> None:
    parsed = _parsed("3.000369")
    assert _fees(parsed) == [
        ("online", 150_000, "amount"),
        ("postal", 150_000, "amount"),
        ("in_person", 150_000, "amount"),
    ]
    assert parsed["channels"][0]["fee_text"] == "150 VNĐ(150.000 đồng/lần/thẻ.)"


def test_online_fee_mismatch_not_confirmed_1_008628() -> None:
    parsed = _parsed("1.008628")
    # Online 800 VNĐ (note: 400.000 đồng discount rate) vs 800,000 elsewhere.
    assert _fees(parsed) == [
        ("online", None, "amount"),
        ("postal", 800_000, "amount"),
        ("in_person", 800_000, "amount"),
    ]
    assert parsed["review_reasons"] == ["fee_implausible:online", "fee_mismatch_suspect:online"]


def test_several_rows_per_channel_and_currencies_1_003358() -> None:
    parsed = _parsed("1.003358")
    channels = parsed["channels"]
    assert Counter(c["channel"] for c in channels) == {"online": 3, "postal": 3, "in_person": 3}
    assert [c["fee_text"].split("(")[0] for c in channels if c["channel"] == "online"] == [
        "145 USD",
        "155 USD",
        "165 USD",
    ]
    # In person the portal says "145 VNĐ" while the note says "145 USD/thẻ": not trusted.
    assert all(c["fee_vnd"] is None for c in channels)
    assert {"fee_foreign_currency:online", "fee_implausible:in_person"} <= set(parsed["review_reasons"])


def test_two_rows_vnd_and_usd_2_000884() -> None:
    parsed = _parsed("2.000884")
    assert _fees(parsed) == [("in_person", 10_000, "amount"), ("in_person", None, "amount")]
    assert "fee_mismatch_suspect:in_person" not in parsed["review_reasons"]


def test_glued_amount_with_thousands_separator_1_005103() -> None:
    parsed = _parsed("1.005103")
    for channel in parsed["channels"]:
        # "Trực tuyến140,000 Việt Nam Đồng(- Xe ô tô từ 10 chỗ trở lên)" → time 1, fee 40,000.
        assert (channel["duration_text"], channel["fee_vnd"]) == ("1", 40_000)
        assert channel["description"].startswith("- Thời hạn kiểm tra, đánh giá hồ sơ")


def test_free_cell_with_amounts_in_unbalanced_note_1_004412() -> None:
    parsed = _parsed("1.004412")
    for channel in parsed["channels"]:
        assert (channel["fee_vnd"], channel["fee_kind"]) == (None, "text")
        assert channel["description"] == "15 ngày, kể từ ngày nhận được hồ sơ hợp lệ"
    assert {"fee_note_unbalanced:postal", "fee_conflict:postal"} <= set(parsed["review_reasons"])


def test_unbalanced_note_and_missing_time_1_000597() -> None:
    parsed = _parsed("1.000597")
    postal, in_person = parsed["channels"]
    assert postal["duration_text"] == "Không có thông tin"
    assert postal["fee_text"].endswith("theo Thông tư số 40/2026/TT-BTC)")
    assert postal["description"].startswith("Trường hợp cấp lại giấy chứng nhận do bị mất")
    assert in_person["fee_kind"] == "text"
    assert "fee_note_unbalanced:in_person" in parsed["review_reasons"]


# ---------------------------------------------------------------------------------------------
# Awkward durations
# ---------------------------------------------------------------------------------------------


def test_decimal_working_days_1_013097() -> None:
    parsed = _parsed("1.013097")
    assert all(c["duration"] == {"value": 1.5, "unit": "working_days"} for c in parsed["channels"])
    assert all(c["fee_vnd"] == 40_000 for c in parsed["channels"])
    assert parsed["needs_review"] is False


def test_free_text_time_cell_1_009824() -> None:
    parsed = _parsed("1.009824")
    for channel in parsed["channels"]:
        assert channel["duration"] == {"value": None, "unit": "unspecified"}
        assert channel["duration_text"].startswith("Hệ thống giải quyết thủ tục hành chính ngành Thuế")
        assert channel["fee_kind"] == "none"
    assert "duration_unparsed:online" in parsed["review_reasons"]


def test_no_information_everywhere_6_003500() -> None:
    parsed = _parsed("6.003500")
    for channel in parsed["channels"]:
        assert channel["duration"]["value"] is None and channel["fee_kind"] == "none"
        assert channel["fee_text"] == "Không có thông tin"
        assert channel["description"] == "Không quy định thời hạn giải quyết, phí, lệ phí"
    # The documents field holds a result code instead of a table.
    assert parsed["documents"] == []
    assert "documents_unparsed" in parsed["review_reasons"]


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------


def test_documents_quantity_phrase_inside_name_1_000020() -> None:
    documents = _parsed("1.000020")["documents"]
    groups = list(dict.fromkeys(d["group"] for d in documents))
    assert groups == [
        "Hồ sơ hải quan đối với xăng dầu, hóa chất, khí tái xuất:",
        "Hồ sơ hải quan đối với xăng dầu, hóa chất, khí xuất khẩu:",
    ]
    # "…phải có giấy phép nhập khẩu: 01 bản chính1 bản chính": the first phrase belongs to the name.
    licence = documents[5]
    assert licence["name"].endswith("phải có giấy phép nhập khẩu: 01 bản chính")
    assert (licence["quantity"], licence["copy_kind"]) == (1, "original")
    assert (documents[1]["quantity"], documents[1]["copy_kind"]) == (1, "copy")
    assert all(d["name"] for d in documents)


def test_documents_quantity_glued_to_form_number_1_012787() -> None:
    documents = _parsed("1.012787")["documents"]
    form = next(d for d in documents if d["name"].startswith("Đơn đăng ký biến động"))
    # "…theo Mẫu số 181 bản chính,1 bản sao" → "Mẫu số 18" + "1 bản chính,1 bản sao".
    assert form["name"].endswith("theo Mẫu số 18")
    assert (form["quantity"], form["copy_kind"], form["quantity_text"]) == (
        1,
        "original_or_copy",
        "1 bản chính,1 bản sao",
    )
    assert documents[0]["group"].startswith("a) Đối với trường hợp chủ đầu tư dự án")


def test_documents_several_templates_1_002349() -> None:
    documents = _parsed("1.002349")["documents"]
    assert documents[1] == {
        "name": "+ Bản khai chung;",
        "template": "MauBankhaichung.docx",
        "quantity": 1,
        "copy_kind": "original",
        "quantity_text": "1 bản chính",
        "group": documents[0]["group"],
    }
    several = [d["template"] for d in documents if d["template"] and ";" in d["template"]]
    assert "MauDanhsachhanhkhach.docx; MauDanhsachthuyenvien (1).docx" in several


def test_documents_certified_copy_and_in_name_quantities_1_011441() -> None:
    documents = _parsed("1.011441")["documents"]
    form = documents[0]
    assert form["name"].startswith("Phiếu yêu cầu theo Mẫu số 01a tại Phụ lục (01 bản chính)")
    assert form["template"] == "Mau so 01a_QSDT, TSGLVD.docx"
    assert "certified_copy" in {d["copy_kind"] for d in documents}
    permit = next(
        d
        for d in documents
        if d["name"].startswith("Giấy phép xây dựng (01 bản chính hoặc 01 bản sao có chứng thực)")
    )
    assert permit["copy_kind"] in {"certified_copy", "original"}
    assert len({d["group"] for d in documents}) >= 5


def test_documents_quantity_ambiguous_2_000765() -> None:
    parsed = _parsed("2.000765")
    (document,) = parsed["documents"]
    assert (document["quantity"], document["copy_kind"], document["quantity_text"]) == (
        None,
        "original_or_copy",
        "1 bản chính,2 bản sao",
    )
    assert parsed["legal_basis"] == []
    assert {"document_quantity_ambiguous", "no_legal_basis"} <= set(parsed["review_reasons"])


# ---------------------------------------------------------------------------------------------
# Legal basis and results
# ---------------------------------------------------------------------------------------------


def test_legal_number_repeated_after_semicolon_1_009659() -> None:
    legal = _parsed("1.009659")["legal_basis"]
    assert legal == [
        {"title": "Luật Đầu tư số 143/2025/QH15 ngày 11/12/2025", "number": "143/2025/QH15"},
        {"title": "định số 96/2026/NĐ-CP ngày 31/3/2026", "number": "96/2026/NĐ-CP"},
        {"title": "Thông tư số 55/2026/TT-BTC ngày 15/5/2026.", "number": "55/2026/TT-BTC"},
    ]


def test_legal_number_glued_to_a_year_3_000226() -> None:
    legal = _parsed("3.000226")["legal_basis"]
    numbers = [law["number"] for law in legal]
    # "…giai đoạn 2026 - 2030182/2025/NQ-HĐND" and "…2026-203016/2026/QĐ-UBND"
    assert numbers == [
        "118/2025/NĐ-CP",
        "02/2017/TT-VPCP",
        "03/2025/TT-VPCP",
        "182/2025/NQ-HĐND",
        "16/2026/QĐ-UBND",
    ]
    assert legal[3]["title"].endswith("giai đoạn 2026 - 2030")


def test_results_several_codes_1_009536() -> None:
    results = _parsed("1.009536")["results"]
    assert results == [
        {"name": "+ Văn bản từ chối (nêu rõ lý do).", "code": "KQ.G12.001213"},
        {
            "name": "Quyết định chấp thuận chấm dứt hoạt động cung cấp dịch vụ của công ty chứng khoán",
            "code": "KQ.G12.001129",
        },
    ]


def test_results_word_code_and_junk_legal_row_3_000163() -> None:
    parsed = _parsed("3.000163")
    assert parsed["results"] == [
        {"name": "Văn bản tố tụng của Tòa án theo tiến trình giải quyết", "code": "VBTT"}
    ]
    assert parsed["legal_basis"][0]["number"] == "02/2014/TTLT-TANDTC-VKSNDTC-BTP-BTC"
    assert parsed["legal_basis"][-1]["number"] is None
    assert "legal_basis_unparsed" in parsed["review_reasons"]


def test_no_results_2_001241() -> None:
    parsed = _parsed("2.001241")
    assert parsed["results"] == []
    assert parsed["review_reasons"] == ["no_results"]


# ---------------------------------------------------------------------------------------------
# Synthetic records: rules in isolation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_cell", "expected", "reason"),
    [
        ("7 Ngày làm việc", {"value": 7, "unit": "working_days"}, None),
        ("15 Ngày", {"value": 15, "unit": "days"}, None),
        ("24 Giờ", {"value": 24, "unit": "hours"}, None),
        ("3 Tháng", {"value": 3, "unit": "months"}, None),
        ("0,5 ngày", {"value": 0.5, "unit": "days"}, None),
        ("1", {"value": 1, "unit": "unspecified"}, "channel_unit_missing:online"),
        ("3-5 Ngày", {"value": None, "unit": "unspecified"}, "duration_unparsed:online"),
        ("Theo quy định", {"value": None, "unit": "unspecified"}, "duration_unparsed:online"),
        ("Không có thông tin", {"value": None, "unit": "unspecified"}, "duration_missing:online"),
    ],
)
def test_durations(time_cell: str, expected: dict[str, Any], reason: str | None) -> None:
    parsed = normalise(_record(cach_thuc_thuc_hien=f"{CHANNEL_HEADER}Trực tuyến{time_cell}Miễn phí"))
    (channel,) = parsed["channels"]
    assert channel["duration"] == expected
    assert channel["duration_text"] == time_cell
    if reason:
        assert reason in parsed["review_reasons"]
    else:
        assert parsed["channels"] and not [
            r for r in parsed["review_reasons"] if r.startswith(("duration", "channel"))
        ]


@pytest.mark.parametrize(
    ("fee_cell", "fee_vnd", "fee_kind"),
    [
        ("Miễn phí", 0, "free"),
        ("Miễn phí(Không quy định.)", 0, "free"),
        ("10,000 Việt Nam Đồng", 10_000, "amount"),
        ("10.000 đồng", 10_000, "amount"),
        ("135.000 đồng/lần", 135_000, "amount"),
        ("100.000đ", 100_000, "amount"),
        ("1,200,000 VNĐ(/hồ sơ)", 1_200_000, "amount"),
        ("Không có thông tin", None, "none"),
        ("Miễn phí(Theo quy định của Hội đồng nhân dân cấp tỉnh)", None, "text"),
        ("Miễn phí(Lệ phí cấp mới 40.000đồng/lần; lệ phí cấp lại 20.000 đồng/lần.)", None, "text"),
        ("Theo Nghị quyết của HĐND tỉnh", None, "text"),
        ("20 USD", None, "amount"),
    ],
)
def test_fees(fee_cell: str, fee_vnd: int | None, fee_kind: str) -> None:
    (channel,) = _channels(f"Trực tiếp5 Ngày làm việc{fee_cell}")
    assert (channel["fee_vnd"], channel["fee_kind"]) == (fee_vnd, fee_kind)
    assert channel["duration"] == {"value": 5, "unit": "working_days"}
    assert channel["fee_text"] == fee_cell


def test_fee_text_only_is_flagged_for_review() -> None:
    parsed = normalise(
        _record(cach_thuc_thuc_hien=f"{CHANNEL_HEADER}Trực tiếp5 NgàyTheo Nghị quyết của HĐND tỉnh")
    )
    assert {"fee_unparsed:in_person", "fee_defers_to_council:in_person"} <= set(parsed["review_reasons"])


def test_channel_label_inside_description_does_not_start_a_row() -> None:
    channels = _channels(
        "Trực tiếp3 Ngày làm việcMiễn phí+ Trực tiếp: nộp tại Công an xã. + Trực tuyến: qua Cổng dịch vụ công."
        "Trực tuyến3 Ngày làm việcMiễn phí"
    )
    assert [c["channel"] for c in channels] == ["in_person", "online"]
    assert (
        channels[0]["description"] == "+ Trực tiếp: nộp tại Công an xã. + Trực tuyến: qua Cổng dịch vụ công."
    )


def test_no_channels_flagged() -> None:
    parsed = normalise(_record(cach_thuc_thuc_hien=""))
    assert parsed["channels"] == []
    assert "no_channels" in parsed["review_reasons"]


@pytest.mark.parametrize(
    ("levels", "expected", "reasons"),
    [
        ("Cấp bộ, Cấp tỉnh, Cấp xã, Cơ quan khác", ["ministry", "province", "commune", "other"], []),
        ("Cấp xã, Cấp bộ", ["ministry", "commune"], []),
        ("Cấp Huyện", ["commune"], ["level_district_mapped"]),
        ("Cấp huyện, Cấp xã", ["commune"], ["level_district_mapped"]),
        ("Cấp Phường", ["commune"], []),
        ("Cấp vũ trụ", [], ["level_unknown", "no_levels"]),
    ],
)
def test_levels(levels: str, expected: list[str], reasons: list[str]) -> None:
    parsed = normalise(_record(cap_thuc_hien=levels))
    assert parsed["levels"] == expected
    assert [r for r in parsed["review_reasons"] if r.startswith(("level", "no_levels"))] == reasons


def test_who_may_file_and_audiences() -> None:
    parsed = normalise(
        _record(
            doi_tuong_thuc_hien=(
                "Cán bộ, công chức, viên chức; Tổ chức (không bao gồm doanh nghiệp, HTX), Hộ kinh doanh, "
                "Công dân Việt Nam, Công dân Việt Nam , Người nước ngoài"
            )
        )
    )
    assert parsed["who_may_file"] == [
        "Cán bộ, công chức, viên chức",
        "Tổ chức (không bao gồm doanh nghiệp, HTX)",
        "Hộ kinh doanh",
        "Công dân Việt Nam",
        "Người nước ngoài",
    ]
    assert parsed["audiences"] == ["citizen", "business", "organisation", "foreign"]
    assert normalise(_record(doi_tuong_thuc_hien="Tổ chức (không bao gồm doanh nghiệp, HTX)"))[
        "audiences"
    ] == ["organisation"]


def test_results_strip_page_chrome() -> None:
    parsed = normalise(
        _record(
            ket_qua_xu_ly="Giấy phépMã: KQ.G12.000001Quyết địnhMã: KQ.G12.000002Từ khóaKhông có thông tin"
            "Mô tảKhông có thông tinChọn cơ quan thực hiệnTỉnh/ Thành phốNộp hồ sơ"
        )
    )
    assert parsed["results"] == [
        {"name": "Giấy phép", "code": "KQ.G12.000001"},
        {"name": "Quyết định", "code": "KQ.G12.000002"},
    ]


def test_minimal_record_with_odd_values_does_not_raise() -> None:
    odd: dict[str, Any] = _record(
        cap_thuc_hien=None,
        cach_thuc_thuc_hien=12,
        thanh_phan_ho_so=["a", "b"],
        can_cu_phap_ly={"x": 1},
        ket_qua_xu_ly=True,
        doi_tuong_thuc_hien="",
        detail_url="  ",
    )
    parsed = normalise(odd)
    assert parsed["code"] == "9.999999"
    assert parsed["source_url"] is None
    assert parsed["channels"] == [] and parsed["needs_review"] is True
    assert json.dumps(parsed)
    assert normalise({"ma_thu_tuc": 1.5, "ten_thu_tuc": "x"})["code"] == "1.5"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "JSON object"),
        ("1.001193", "JSON object"),
        ({"ten_thu_tuc": "x"}, "ma_thu_tuc"),
        ({"ma_thu_tuc": "1.0", "ten_thu_tuc": "  "}, "ten_thu_tuc"),
        ({}, "ma_thu_tuc, ten_thu_tuc"),
    ],
)
def test_invalid_records_raise_value_error(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalise(raw)


# ---------------------------------------------------------------------------------------------
# read_records
# ---------------------------------------------------------------------------------------------


def test_read_records(tmp_path: Path) -> None:
    nested = tmp_path / "bo-x" / "sub"
    nested.mkdir(parents=True)
    (tmp_path / "bo-x" / "b.json").write_text(json.dumps(_record()), encoding="utf-8")
    (nested / "a.json").write_text("\ufeff" + json.dumps(_record(ma_thu_tuc="1.0")), encoding="utf-8")
    (tmp_path / "bo-x" / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "bo-x" / "list.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "bo-x" / "partial.json").write_text(json.dumps({"ma_thu_tuc": "2.0"}), encoding="utf-8")
    (tmp_path / "bo-x" / "notes.txt").write_text("ignored", encoding="utf-8")
    missing = tmp_path / "nope.json"

    rows = list(read_records([tmp_path, missing]))
    names = [path.name for path, _, _ in rows]
    assert names == ["b.json", "broken.json", "list.json", "partial.json", "a.json", "nope.json"]
    by_name = {path.name: (record, error) for path, record, error in rows}
    assert by_name["b.json"][0] == _record() and by_name["b.json"][1] is None
    assert by_name["a.json"][0] is not None and by_name["a.json"][0]["ma_thu_tuc"] == "1.0"
    assert by_name["broken.json"][0] is None and "invalid JSON" in str(by_name["broken.json"][1])
    assert "not a JSON object" in str(by_name["list.json"][1])
    assert "ten_thu_tuc" in str(by_name["partial.json"][1])
    assert by_name["nope.json"] == (None, "path does not exist")


def test_read_records_on_fixture_files() -> None:
    rows = list(read_records([FIXTURES / "1.001193.json", str(FIXTURES / "2.000815.json")]))
    assert [(path.stem, error) for path, _, error in rows] == [("1.001193", None), ("2.000815", None)]


# ---------------------------------------------------------------------------------------------
# Whole corpus (only where the shared data set is mounted)
# ---------------------------------------------------------------------------------------------


def _corpus_dir() -> Path | None:
    candidates = [
        Path(__file__).resolve().parents[4] / "shared/data/tthc/raw",
        Path("/work/shared/data/tthc/raw"),
    ]
    return next((path for path in candidates if path.is_dir()), None)


@pytest.mark.skipif(_corpus_dir() is None, reason="shared tthc data set not available")
def test_whole_corpus_rates() -> None:
    corpus = _corpus_dir()
    assert corpus is not None
    procedures = []
    for path, raw, error in read_records([corpus]):
        assert error is None, f"{path}: {error}"
        assert raw is not None
        procedures.append(normalise(raw))
    total = len(procedures)
    channels = [c for p in procedures for c in p["channels"]]
    with_channels = sum(1 for p in procedures if p["channels"]) / total
    unit_known = sum(1 for c in channels if c["duration"]["unit"] != "unspecified") / len(channels)
    fee_classified = sum(1 for c in channels if c["fee_kind"] in {"free", "amount", "none"}) / len(channels)
    amounts = [c for c in channels if c["fee_kind"] == "amount"]
    amount_certain = sum(1 for c in amounts if c["fee_vnd"] is not None) / len(amounts)
    with_documents = sum(1 for p in procedures if p["documents"]) / total
    with_legal = sum(1 for p in procedures if p["legal_basis"]) / total
    with_results = sum(1 for p in procedures if p["results"]) / total
    review = sum(1 for p in procedures if p["needs_review"]) / total
    print(
        f"\nrecords={total} channels={len(channels)} with_channels={with_channels:.1%} unit_known={unit_known:.1%}"
        f" fee_classified={fee_classified:.1%} amount_certain={amount_certain:.1%}"
        f" with_documents={with_documents:.1%} with_legal={with_legal:.1%} with_results={with_results:.1%}"
        f" needs_review={review:.1%}"
    )
    assert total >= 2000
    assert with_channels >= 0.95
    assert unit_known >= 0.75
    assert fee_classified >= 0.80
    assert amount_certain >= 0.85
    assert with_documents >= 0.95
    assert with_legal >= 0.95
    assert with_results >= 0.97
    assert review <= 0.50
