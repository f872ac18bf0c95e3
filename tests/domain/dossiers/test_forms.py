"""The hand-made forms in domain/dossiers/forms/: well formed, bilingual, and validating a real payload."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from domain.dossiers import forms

CODES = ("1.001193", "1.000894", "1.004222", "1.004194", "3.000333", "1.001612", "1.013225", "2.000815")

TAY_NINH = {"province": 80, "ward": 25459, "street": "12 đường 30 Tháng 4"}  # Phường Tân Ninh, Tây Ninh
SAI_GON = {"province": 79, "ward": 26740, "street": "45 Lê Lợi"}  # Phường Sài Gòn, TP. Hồ Chí Minh

APPLICANT = {
    "applicant_name": "Nguyễn Văn An",
    "applicant_cccd": "072090001234",
    "applicant_phone": "0912 345 678",
    "applicant_email": "An.Nguyen@Example.VN",
    "applicant_address": TAY_NINH,
}

# A complete, realistic payload per form. Dates are typed as a citizen would (dd/mm/yyyy) or ISO.
EXAMPLES: dict[str, dict[str, Any]] = {
    "1.001193": {
        "relationship": "cha",
        "child_name": "Nguyễn Minh Khang", "child_birth_date": "15/03/2025", "child_gender": "nam",
        "child_ethnicity": "kinh", "child_nationality": "viet_nam",
        "birth_place": "Bệnh viện Đa khoa tỉnh Tây Ninh", "hometown": "Tây Ninh",
        "birth_certificate_number": "125/GCS",
        "mother_name": "Trần Thị Bích", "mother_birth_date": "1994-07-02", "mother_cccd": "072194005678",
        "mother_residence": TAY_NINH,
        "father_name": "Nguyễn Văn An", "father_birth_date": "20/11/1990", "father_cccd": "072090001234",
        "copy_requested": True, "copies": "2", "commitment": True,
    },
    "1.000894": {
        "applicant_role": "ben_nam",
        "bride_name": "Trần Thị Bích", "bride_birth_date": "02/07/1994", "bride_ethnicity": "kinh",
        "bride_nationality": "viet_nam", "bride_cccd": "072194005678", "bride_residence": SAI_GON,
        "bride_marital_status": "chua_ket_hon",
        "groom_name": "Nguyễn Văn An", "groom_birth_date": "20/11/1990", "groom_ethnicity": "hoa",
        "groom_nationality": "viet_nam", "groom_cccd": "072090001234", "groom_residence": TAY_NINH,
        "groom_marital_status": "da_ly_hon",
        "extract_copies": 1, "commitment": "on",
    },
    "1.004222": {
        "applicant_birth_date": "20/11/1990", "applicant_gender": "nam",
        "residence_case": "thue_muon", "new_address": TAY_NINH, "previous_address": SAI_GON, "floor_area": "45,5",
        "head_name": "Lê Văn Cường", "head_cccd": "072060003333", "relation_to_head": "khac", "owner_consent": True,
        "members": [
            {"full_name": "Trần Thị Bích", "birth_date": "02/07/1994", "gender": "nu", "cccd": "072194005678",
             "relation": "khac"},
            {"full_name": "Nguyễn Minh Khang", "birth_date": "2025-03-15", "gender": "nam", "relation": "khac"},
        ],
        "commitment": True,
    },
    "1.004194": {
        "applicant_birth_date": "20/11/1990", "applicant_gender": "nam",
        "temporary_address": SAI_GON, "permanent_address": TAY_NINH, "stay_from": "01/09/2025", "stay_months": 12,
        "housing_type": "thue", "reason": "lam_viec", "owner_name": "Phạm Thị Dung", "owner_consent": True,
        "co_residents": [
            {"full_name": "Trần Thị Bích", "birth_date": "02/07/1994", "gender": "nu", "cccd": "072194005678",
             "relation": "vo_chong"},
        ],
        "commitment": True,
    },
    "3.000333": {
        "request_for": "ban_than",
        "subject_name": "Nguyễn Văn An", "subject_gender": "nam", "subject_birth_date": "20/11/1990",
        "subject_birth_place": "Tây Ninh", "subject_nationality": "viet_nam", "subject_cccd": "072090001234",
        "subject_residence": TAY_NINH, "father_name": "Nguyễn Văn Bình", "mother_name": "Lê Thị Cúc",
        "certificate_type": "so_1", "purpose": "xin_viec", "copies": "2", "ban_confirmation": "khong",
        "delivery": "dien_tu", "commitment": True,
    },
    "1.001612": {
        "applicant_role": "chu_ho",
        "business_name": "Hộ kinh doanh Tạp hóa Minh Anh", "business_address": TAY_NINH,
        "business_phone": "0862.123.456", "business_email": "taphoaminhanh@gmail.com",
        "capital": "200000000", "employees": 2, "start_date": "01/10/2025",
        "business_lines": [
            {"line_name": "Bán lẻ lương thực, thực phẩm, đồ uống trong cửa hàng tổng hợp", "line_code": "4711",
             "is_main": True},
            {"line_name": "Bán lẻ đồ uống trong các cửa hàng chuyên doanh", "line_code": "4723"},
        ],
        "registration_type": "ho_gia_dinh",
        "owner_name": "Nguyễn Văn An", "owner_cccd": "072090001234", "owner_birth_date": "20/11/1990",
        "owner_gender": "nam", "owner_residence": TAY_NINH,
        "members": [
            {"full_name": "Trần Thị Bích", "cccd": "072194005678", "birth_date": "02/07/1994", "capital": 50000000},
        ],
        "commitment": True,
    },
    "1.013225": {
        "owner_name": "Nguyễn Văn An", "owner_cccd": "072090001234",
        "site_address": TAY_NINH, "land_parcel": "Thửa 125, tờ bản đồ số 12",
        "land_certificate": "DĐ 123456, số vào sổ CS 04567", "land_area": "100.5",
        "construction_grade": "cap_iii", "ground_floor_area": 80, "total_floor_area": 240, "building_height": "11,8",
        "floors": 3, "basements": 0, "completion_months": 8,
        "designer_name": "Công ty TNHH Kiến trúc Tây Ninh", "designer_certificate": "TAN-00012345",
        "contractor_name": "Công ty TNHH Xây dựng Hòa Thành", "contractor_tax_code": "0300588569",
        "commitment": True,
    },
    "2.000815": {
        "papers": [
            {"doc_name": "Bằng tốt nghiệp đại học", "issuer": "viet_nam", "pages": 1, "copies": 3},
            {"doc_name": "Học bạ trung học phổ thông", "issuer": "viet_nam", "pages": "12", "copies": "2"},
        ],
        "delivery": "truc_tiep", "note": "Cần nhận trong ngày nếu được.", "commitment": True,
    },
}

# Where a cleaned date must land, per form: field → ISO date.
DATES = {
    "1.001193": {"child_birth_date": "2025-03-15", "mother_birth_date": "1994-07-02"},
    "1.000894": {"bride_birth_date": "1994-07-02"},
    "1.004222": {"applicant_birth_date": "1990-11-20"},
    "1.004194": {"stay_from": "2025-09-01"},
    "3.000333": {"subject_birth_date": "1990-11-20"},
    "1.001612": {"start_date": "2025-10-01"},
}


def schema(code: str) -> dict[str, Any]:
    found = forms.handmade_schema(code)
    assert found is not None, f"no hand-made form for {code}"
    return found


def payload(code: str) -> dict[str, Any]:
    return {**copy.deepcopy(APPLICANT), **copy.deepcopy(EXAMPLES[code])}


def all_fields(s: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for f in s["fields"]:
        out.append(f)
        out.extend(f.get("fields", []))
    return out


@pytest.mark.parametrize("code", CODES)
def test_file_is_well_formed(code: str) -> None:
    raw = json.loads((forms.HANDMADE / f"{code}.json").read_text(encoding="utf-8"))
    assert set(raw) == {"steps", "fields", "documents"}
    s = forms.check_schema(raw)
    assert 8 <= len(s["fields"]) <= 25
    assert s["documents"], "a form needs at least one document slot"
    names = [f["name"] for f in s["fields"]]
    assert len(names) == len(set(names))
    for f in s["fields"]:
        if f["type"] == "group":
            subs = [x["name"] for x in f["fields"]]
            assert len(subs) == len(set(subs)), f["name"]
            assert 0 <= f.get("min_items", 0) <= f["max_items"] <= forms.MAX_GROUP_ITEMS
        assert isinstance(f["required"], bool)
    for f in all_fields(s):
        if f["type"] == "select":
            values = [o["value"] for o in f["options"]]
            assert len(values) == len(set(values)) and all(isinstance(v, str) for v in values), f["name"]
        if "min" in f or "max" in f:
            assert f["type"] == "number" and f.get("min", 0) <= f.get("max", f.get("min", 0))
    slots = [d["slot"] for d in s["documents"]]
    assert len(slots) == len(set(slots))
    # every step but the last (the documents step) has fields
    assert {f["step"] for f in s["fields"]} == set(range(len(s["steps"]) - 1))


@pytest.mark.parametrize("code", CODES)
def test_starts_with_the_applicant(code: str) -> None:
    fields = schema(code)["fields"]
    head = fields[: len(forms.APPLICANT_FIELDS)]
    for mine, theirs in zip(head, forms.APPLICANT_FIELDS, strict=True):
        for key in ("name", "type", "label", "required", "step"):
            assert mine[key] == theirs[key], (code, key)
        assert mine.get("autocomplete") == theirs.get("autocomplete")


@pytest.mark.parametrize("code", CODES)
def test_everything_has_an_english_label(code: str) -> None:
    s = schema(code)
    for f in all_fields(s):
        assert str(f.get("label_en", "")).strip(), (code, f["name"])
        for o in f.get("options", []):
            assert str(o.get("label", "")).strip() and str(o.get("label_en", "")).strip(), (code, f["name"], o)
    for d in s["documents"]:
        assert str(d.get("label_en", "")).strip(), (code, d["slot"])


@pytest.mark.parametrize("code", CODES)
def test_complete_payload_is_cleaned(code: str) -> None:
    s = schema(code)
    data = payload(code)
    clean = forms.validate(s, data, complete=True)
    assert set(clean) == set(data)  # every field of the example is kept
    assert clean["applicant_phone"] == "+84912345678"
    assert clean["applicant_email"] == "an.nguyen@example.vn"
    assert clean["applicant_cccd"] == "072090001234"
    assert clean["applicant_address"] == {"province": 80, "ward": 25459, "street": "12 đường 30 Tháng 4",
                                          "text": "12 đường 30 Tháng 4, Phường Tân Ninh, Tây Ninh"}
    for name, iso in DATES.get(code, {}).items():
        assert clean[name] == iso
    by_name = {f["name"]: f for f in s["fields"]}
    for name, value in clean.items():
        kind = by_name[name]["type"]
        if kind == "date":
            assert len(value) == 10 and value[4] == value[7] == "-", (name, value)
        elif kind == "checkbox":
            assert value is True
        elif kind == "number":
            assert isinstance(value, int | float)
        elif kind == "address":
            assert set(value) == {"province", "ward", "street", "text"}
        elif kind == "group":
            assert len(value) == len(data[name])


def test_cleaned_values_in_detail() -> None:
    birth = forms.validate(schema("1.001193"), payload("1.001193"), complete=True)
    assert birth["copies"] == 2 and birth["copy_requested"] is True
    marriage = forms.validate(schema("1.000894"), payload("1.000894"), complete=True)
    assert marriage["commitment"] is True  # "on", as an HTML checkbox sends it
    assert marriage["bride_residence"]["text"] == "45 Lê Lợi, Phường Sài Gòn, Thành phố Hồ Chí Minh"
    residence = forms.validate(schema("1.004222"), payload("1.004222"), complete=True)
    assert residence["floor_area"] == 45.5
    assert residence["members"][1] == {"full_name": "Nguyễn Minh Khang", "birth_date": "2025-03-15",
                                       "gender": "nam", "relation": "khac"}
    business = forms.validate(schema("1.001612"), payload("1.001612"), complete=True)
    assert business["capital"] == 200_000_000
    assert business["business_phone"] == "+84862123456"
    assert business["business_lines"][0]["is_main"] is True
    assert business["members"][0]["birth_date"] == "1994-07-02"
    permit = forms.validate(schema("1.013225"), payload("1.013225"), complete=True)
    assert permit["land_area"] == 100.5 and permit["building_height"] == 11.8
    assert permit["contractor_tax_code"] == "0300588569"
    certify = forms.validate(schema("2.000815"), payload("2.000815"), complete=True)
    assert certify["papers"][1] == {"doc_name": "Học bạ trung học phổ thông", "issuer": "viet_nam", "pages": 12,
                                    "copies": 2}


@pytest.mark.parametrize("code", CODES)
def test_empty_payload_lists_required_fields(code: str) -> None:
    s = schema(code)
    required = {f["name"] for f in s["fields"] if f["required"]}
    assert {"applicant_name", "applicant_cccd", "applicant_phone", "applicant_address", "commitment"} <= required
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(s, {}, complete=True)
    assert set(caught.value.errors) == required
    assert all(msg.startswith("Chưa điền: ") for msg in caught.value.errors.values())
    # a draft keeps nothing and complains about nothing
    assert forms.validate(s, {}, complete=False) == {}


@pytest.mark.parametrize("code", CODES)
def test_select_with_unknown_value_fails(code: str) -> None:
    s = schema(code)
    selects = [f["name"] for f in s["fields"] if f["type"] == "select"]
    assert selects
    data = payload(code)
    data[selects[0]] = "khong_co_trong_danh_sach"
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(s, data, complete=True)
    assert caught.value.errors == {selects[0]: "Hãy chọn một giá trị trong danh sách."}


GROUPS = [(code, f["name"]) for code in CODES for f in schema(code)["fields"] if f["type"] == "group"]


def test_the_expected_forms_have_groups() -> None:
    assert {code for code, _ in GROUPS} >= {"1.004222", "1.001612", "2.000815"}
    assert ("1.001612", "business_lines") in GROUPS and ("1.001612", "members") in GROUPS


@pytest.mark.parametrize(("code", "group"), GROUPS)
def test_group_with_too_many_items_fails(code: str, group: str) -> None:
    s = schema(code)
    field = next(f for f in s["fields"] if f["name"] == group)
    data = payload(code)
    data[group] = [data[group][0]] * (field["max_items"] + 1)
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(s, data, complete=True)
    assert caught.value.errors == {group: f"Tối đa {field['max_items']} mục."}
    data[group] = [data[group][0]] * field["max_items"]  # the maximum itself is fine
    assert len(forms.validate(s, data, complete=True)[group]) == field["max_items"]


@pytest.mark.parametrize(("code", "group"), GROUPS)
def test_group_item_errors_name_the_row(code: str, group: str) -> None:
    s = schema(code)
    field = next(f for f in s["fields"] if f["name"] == group)
    first_required = next(x["name"] for x in field["fields"] if x["required"])
    data = payload(code)
    data[group] = [data[group][0], {**data[group][0], first_required: ""}]
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(s, data, complete=True)
    assert set(caught.value.errors) == {f"{group}.1.{first_required}"}


@pytest.mark.parametrize(("code", "group"), [("1.001612", "business_lines"), ("2.000815", "papers")])
def test_required_group_needs_an_item(code: str, group: str) -> None:
    s = schema(code)
    data = payload(code)
    data[group] = [{}]
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(s, data, complete=True)
    assert group in caught.value.errors


@pytest.mark.parametrize(("field", "value"), [
    ("applicant_phone", "0212345678"),  # a landline, not a mobile number
    ("applicant_cccd", "097090001234"),  # no province 097
    ("applicant_email", "an.nguyen@"),
    ("applicant_address", {"province": 79, "ward": 25459, "street": "12 đường 30 Tháng 4"}),  # ward of Tây Ninh
    ("child_birth_date", "31/02/2025"),
    ("copies", 11),
])
def test_bad_values_fail(field: str, value: Any) -> None:
    data = payload("1.001193")
    data[field] = value
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(schema("1.001193"), data, complete=True)
    assert set(caught.value.errors) == {field}


def test_contractor_tax_code_is_checked_but_optional() -> None:
    s = schema("1.013225")
    data = payload("1.013225")
    data["contractor_tax_code"] = "0300588568"  # wrong check digit
    with pytest.raises(forms.FormErrors) as caught:
        forms.validate(s, data, complete=True)
    assert set(caught.value.errors) == {"contractor_tax_code"}
    del data["contractor_tax_code"]
    assert "contractor_tax_code" not in forms.validate(s, data, complete=True)


def test_required_commitment_must_be_ticked() -> None:
    data = payload("2.000815")
    data["commitment"] = False
    with pytest.raises(forms.FormErrors):
        forms.validate(schema("2.000815"), data, complete=True)


def test_vietnamese_thousands_and_nan() -> None:
    f = {"name": "capital", "type": "number", "label": "Vốn", "required": True, "min": 0}
    schema = {"steps": ["x"], "fields": [f], "documents": []}
    assert forms.validate(schema, {"capital": "200.000.000"}, complete=True)["capital"] == 200_000_000
    assert forms.validate(schema, {"capital": "1,5"}, complete=True)["capital"] == 1.5
    for bad in ("nan", "inf", "abc"):
        with pytest.raises(forms.FormErrors):
            forms.validate(schema, {"capital": bad}, complete=True)


def test_empty_group_rows_are_skipped_and_bad_shapes_refused() -> None:
    schema = forms.handmade_schema("2.000815")
    assert schema is not None
    group = next(f for f in schema["fields"] if f["type"] == "group")
    with pytest.raises(forms.FormErrors):
        forms.validate(schema, {group["name"]: "not a list"}, complete=False)
    clean = forms.validate(schema, {group["name"]: [{}, {k["name"]: "" for k in group["fields"]}]}, complete=False)
    assert clean[group["name"]] == []


def test_default_schema_skips_notes_and_copies_nothing_shared() -> None:
    proc = {"documents": [{"name": "Lưu ý: mang bản chính", "quantity": 1}, {"name": "Tờ khai", "quantity": 0},
                          {"name": "Giấy tờ A", "quantity": 1}, {"name": "Văn bản ủy quyền trong trường hợp ủy quyền"}]}
    schema = forms.default_schema(proc)
    assert [d["name"] for d in schema["documents"]] == ["Giấy tờ A", "Văn bản ủy quyền trong trường hợp ủy quyền"]
    assert [d["required"] for d in schema["documents"]] == [True, False]
    schema["fields"][0]["label"] = "changed"
    assert forms.APPLICANT_FIELDS[0]["label"] != "changed"


def test_an_optional_address_left_with_only_the_preselected_province_is_no_address() -> None:
    schema = {"fields": [{"name": "mother_residence", "type": "address", "label": "Nơi cư trú của mẹ"},
                         {"name": "home", "type": "address", "label": "Nơi ở", "required": True}]}
    untouched = {"province": "80", "ward": "", "street": " "}
    with pytest.raises(forms.FormErrors) as refused:
        forms.validate(schema, {"mother_residence": untouched, "home": untouched}, complete=True)
    assert refused.value.errors == {"home": "Hãy chọn phường, xã."}  # the optional one asks for nothing
    home = {"province": "80", "ward": "25459", "street": "12 đường 30 Tháng 4"}
    assert "mother_residence" not in forms.validate(schema, {"mother_residence": untouched, "home": home},
                                                    complete=True)
    with pytest.raises(forms.FormErrors) as half:  # a ward or a street typed is an address: checked in full
        forms.validate(schema, {"mother_residence": {"province": "80", "street": "Ấp 3"}, "home": home}, complete=True)
    assert "mother_residence" in half.value.errors
