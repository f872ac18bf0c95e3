"""Forms: a schema per procedure revision, derived from the catalogue or hand-made, and validation.

A schema is JSON: ``{"steps": [title…], "fields": [field…], "documents": [slot…]}``. A field is
``{name, type, label, required, step, options?, min?, max?, fields? (group), min_items?, max_items?, help?}``
with type one of TYPES. A document slot is ``{slot, name, required, template?, copy_optional?}``
(``copy_optional``: at a counter the officer may record "original seen, no copy kept").
"""

from __future__ import annotations

import copy
import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

from vietnam_provinces import Province, ProvinceCode, Ward, WardCode

from domain.accounts.identifiers import normalise_email, normalise_phone, validate_cccd, validate_tax_code
from domain.errors import InvalidInput

TYPES = ("text", "textarea", "number", "date", "select", "checkbox", "cccd", "phone", "email", "tax_code",
         "address", "group")
HANDMADE = Path(__file__).resolve().parent / "forms"
MAX_TEXT = 2000
MAX_GROUP_ITEMS = 50
NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

APPLICANT_FIELDS: list[dict[str, Any]] = [
    {"name": "applicant_name", "type": "text", "label": "Họ và tên người nộp", "label_en": "Applicant's full name",
     "required": True, "step": 0, "autocomplete": "name"},
    {"name": "applicant_cccd", "type": "cccd", "label": "Số CCCD", "label_en": "Citizen ID number (CCCD)",
     "required": True, "step": 0},
    {"name": "applicant_phone", "type": "phone", "label": "Số điện thoại", "label_en": "Phone number",
     "required": True, "step": 0, "autocomplete": "tel"},
    {"name": "applicant_email", "type": "email", "label": "Email", "label_en": "Email", "required": False,
     "step": 0, "autocomplete": "email"},
    {"name": "applicant_address", "type": "address", "label": "Địa chỉ liên hệ", "label_en": "Contact address",
     "required": True, "step": 0},
]

CONDITIONAL = re.compile(r"(^\s*(-\s*)?(nếu|đối với|riêng|ngoài ra))|trường hợp", re.IGNORECASE)
NOTE = re.compile(r"^\W*(lưu ý|ghi chú)", re.IGNORECASE)


def default_schema(procedure: dict[str, Any]) -> dict[str, Any]:
    """A form any procedure can be filed with: the applicant, a free request text, one slot per document."""
    documents = []
    seen: set[str] = set()
    for i, doc in enumerate(procedure.get("documents") or []):
        name = " ".join(str(doc.get("name") or "").split())[:300]
        if not name or name in seen or NOTE.match(name) or NOTE.match(str(doc.get("group") or "")) \
                or doc.get("quantity") == 0:
            continue
        seen.add(name)
        conditional = bool(CONDITIONAL.search(name)) or bool(doc.get("group") and CONDITIONAL.search(doc["group"]))
        documents.append({"slot": f"d{i + 1}", "name": name, "required": not conditional,
                          "template": doc.get("template")})
    return {
        "steps": ["Người nộp hồ sơ", "Nội dung yêu cầu", "Giấy tờ"],
        "fields": [*copy.deepcopy(APPLICANT_FIELDS),
                   {"name": "request", "type": "textarea", "label": "Nội dung đề nghị", "label_en": "Your request",
                    "required": True, "step": 1, "help": "Ghi rõ bạn đề nghị cơ quan giải quyết việc gì."}],
        "documents": documents,
    }


def handmade_schema(code: str) -> dict[str, Any] | None:
    path = HANDMADE / f"{code}.json"
    if not path.exists():
        return None
    return check_schema(json.loads(path.read_text(encoding="utf-8")))


def check_schema(schema: dict[str, Any]) -> dict[str, Any]:  # noqa: C901  (one check per rule of the form schema)
    """Refuse a malformed schema (an admin's edit, a hand-made file) before it becomes a revision."""
    if not isinstance(schema, dict) or not isinstance(schema.get("fields"), list):
        raise InvalidInput("a form needs a list of fields", field="schema")
    steps = schema.setdefault("steps", ["Thông tin"])
    def check_fields(fields: list[dict[str, Any]], nested: bool) -> None:  # noqa: C901  (one check per rule of a field)
        names: set[str] = set()
        for f in fields:
            if not isinstance(f, dict) or not NAME.match(str(f.get("name", ""))):
                raise InvalidInput(f"field names are lower_snake_case: {f!r:.80}", field="schema")
            if f["name"] in names:
                raise InvalidInput(f"field {f['name']} appears twice", field="schema")
            names.add(f["name"])
            for bound in ("min", "max"):
                if bound in f and (isinstance(f[bound], bool) or not isinstance(f[bound], int | float)):
                    raise InvalidInput(f"field {f['name']}: {bound} must be a number", field="schema")
            if "min" in f and "max" in f and f["min"] > f["max"]:
                raise InvalidInput(f"field {f['name']}: min is above max", field="schema")
            for option in f.get("options") or []:
                if not isinstance(option, dict) or not isinstance(option.get("value"), str) or not option.get("label"):
                    raise InvalidInput(f"field {f['name']}: options are {{value, label}} with text values",
                                       field="schema")
            if f.get("type") not in TYPES:
                raise InvalidInput(f"field {f['name']}: unknown type {f.get('type')!r}", field="schema")
            if not str(f.get("label", "")).strip():
                raise InvalidInput(f"field {f['name']} needs a label", field="schema")
            if f["type"] == "select" and not f.get("options"):
                raise InvalidInput(f"field {f['name']}: a select needs options", field="schema")
            if f["type"] == "group":
                if nested:
                    raise InvalidInput("groups cannot be nested", field="schema")
                if not f.get("fields"):
                    raise InvalidInput(f"group {f['name']} needs fields", field="schema")
                low, high = f.get("min_items", 0), f.get("max_items", MAX_GROUP_ITEMS)
                if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= MAX_GROUP_ITEMS):
                    raise InvalidInput(f"group {f['name']}: 0 <= min_items <= max_items <= {MAX_GROUP_ITEMS}",
                                       field="schema")
                check_fields(f["fields"], True)
            step = f.get("step", 0)
            if not nested and not (isinstance(step, int) and 0 <= step < len(steps)):
                raise InvalidInput(f"field {f['name']}: no such step", field="schema")

    check_fields(schema["fields"], False)
    slots = set()
    for d in schema.setdefault("documents", []):
        if not NAME.match(str(d.get("slot", ""))) or d["slot"] in slots or not d.get("name"):
            raise InvalidInput(f"bad document slot {d!r:.80}", field="schema")
        slots.add(d["slot"])
    return schema


# --- validation --------------------------------------------------------------------------------
class FormErrors(InvalidInput):
    """Field errors of a form: {field path: Vietnamese message}."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.values()))
        super().__init__(f"Hồ sơ chưa hợp lệ: {first}", field=next(iter(errors)))
        self.errors = errors


def _address(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("Địa chỉ chưa đầy đủ.")
    try:
        province = Province.from_code(ProvinceCode(int(value.get("province") or 0)))
    except (ValueError, TypeError):
        raise ValueError("Hãy chọn tỉnh, thành phố.") from None
    try:
        ward = Ward.from_code(WardCode(int(value.get("ward") or 0)))
    except (ValueError, TypeError):
        raise ValueError("Hãy chọn phường, xã.") from None
    if ward.province_code != province.code:
        raise ValueError("Phường, xã không thuộc tỉnh, thành phố đã chọn.")
    street = " ".join(str(value.get("street") or "").split())[:200]
    if not street:
        raise ValueError("Hãy ghi số nhà, đường, thôn/ấp.")
    return {"province": province.code.value, "ward": ward.code.value, "street": street,
            "text": f"{street}, {ward.name}, {province.name}"}


def _scalar(f: dict[str, Any], value: Any) -> Any:  # noqa: C901  (one branch per field kind of the form schema)
    kind = f["type"]
    if kind == "checkbox":
        return value in (True, "true", "on", "1", 1)
    if kind == "address":
        return _address(value)
    if isinstance(value, dict | list):
        raise ValueError("Giá trị không hợp lệ.")
    text = " ".join(str(value).split()) if kind != "textarea" else str(value).strip()
    if len(text) > MAX_TEXT:
        raise ValueError(f"Tối đa {MAX_TEXT} ký tự.")
    if kind in ("text", "textarea"):
        return text
    if kind == "number":
        compact = text.replace(" ", "")
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", compact):  # 200.000.000 (Vietnamese thousands)
            compact = compact.replace(".", "")
        elif re.fullmatch(r"\d{1,3}(,\d{3})+", compact):
            compact = compact.replace(",", "")
        try:
            number = float(compact.replace(",", "."))
        except ValueError:
            raise ValueError("Hãy nhập một số.") from None
        if not math.isfinite(number):
            raise ValueError("Hãy nhập một số.")
        if "min" in f and number < f["min"] or "max" in f and number > f["max"]:
            raise ValueError(f"Giá trị phải từ {f.get('min', '…')} đến {f.get('max', '…')}.")
        return int(number) if number.is_integer() else number
    if kind == "date":
        try:
            day = date.fromisoformat(text) if "-" in text else date(*reversed([int(x) for x in text.split("/")]))
        except (ValueError, TypeError):
            raise ValueError("Ngày không hợp lệ (dd/mm/yyyy).") from None
        if not date(1900, 1, 1) <= day <= date(2100, 1, 1):
            raise ValueError("Ngày không hợp lệ.")
        return day.isoformat()
    if kind == "select":
        allowed = [o["value"] for o in f["options"]]
        if text not in allowed:
            raise ValueError("Hãy chọn một giá trị trong danh sách.")
        return text
    if kind == "cccd":
        return validate_cccd(text)
    if kind == "phone":
        phone = normalise_phone(text)
        if not phone:
            raise ValueError("Số điện thoại di động không hợp lệ.")
        return phone
    if kind == "email":
        email = normalise_email(text)
        if not email:
            raise ValueError("Email không hợp lệ.")
        return email
    if kind == "tax_code":
        return validate_tax_code(text)
    raise ValueError("Loại trường không hỗ trợ.")


def _untouched_address(f: dict[str, Any], value: Any) -> bool:
    """An optional address left as the page showed it (only the preselected province, no ward, no street) is
    no address at all: it stays empty instead of asking for a ward."""
    return f.get("type") == "address" and not f.get("required") and isinstance(value, dict) \
        and not str(value.get("ward") or "").strip() and not str(value.get("street") or "").strip()


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or (
        isinstance(value, dict) and not any(v not in (None, "") and str(v).strip() for v in value.values()))


def validate(  # noqa: C901  (one branch per field kind: group, repeat, scalar)
    schema: dict[str, Any], data: dict[str, Any], *, complete: bool
) -> dict[str, Any]:
    """Clean the data of a form. ``complete=False`` (drafts) keeps what is valid and skips required checks;
    ``complete=True`` (submit) raises :class:`FormErrors` listing every problem."""
    if not isinstance(data, dict):
        raise FormErrors({"_": "Dữ liệu biểu mẫu không hợp lệ."})
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def one(  # noqa: C901  (one branch per field kind: group, repeat, scalar)
        f: dict[str, Any], value: Any, path: str, into: dict[str, Any]
    ) -> None:
        if _empty(value) or _untouched_address(f, value):
            if complete and f.get("required"):
                errors[path] = f"Chưa điền: {f['label']}."
            return
        if f["type"] == "group":
            if not isinstance(value, list):
                errors[path] = "Danh sách không hợp lệ."
                return
            items = value
            limit = int(f.get("max_items", MAX_GROUP_ITEMS))
            if len(items) > limit:
                if complete:
                    errors[path] = f"Tối đa {limit} mục."
                    return
                items = items[:limit]  # a draft keeps what fits
            out = []
            for i, item in enumerate(items):
                if _empty(item) or (isinstance(item, dict) and all(_empty(v) for v in item.values())):
                    continue
                row: dict[str, Any] = {}
                for sub in f.get("fields", []):
                    one(sub, (item or {}).get(sub["name"]) if isinstance(item, dict) else None,
                        f"{path}.{i}.{sub['name']}", row)
                if row:
                    out.append(row)
            if complete and len(out) < int(f.get("min_items", 1 if f.get("required") else 0)):
                errors[path] = f"Cần ít nhất {f.get('min_items', 1)} mục: {f['label']}."
            into[f["name"]] = out
            return
        try:
            into[f["name"]] = _scalar(f, value)
            if complete and f.get("required") and f["type"] == "checkbox" and into[f["name"]] is not True:
                errors[path] = f"Chưa điền: {f['label']}."
        except InvalidInput as exc:
            if complete:
                errors[path] = exc.detail
            elif f["type"] not in ("address",):
                into[f["name"]] = str(value)[:MAX_TEXT]  # a draft keeps what was typed
        except ValueError as exc:
            if complete:
                errors[path] = str(exc)
            elif f["type"] == "address" and isinstance(value, dict):
                into[f["name"]] = {k: str(v)[:200] for k, v in value.items() if k in ("province", "ward", "street")}
            else:
                into[f["name"]] = str(value)[:MAX_TEXT]

    for f in schema["fields"]:
        one(f, data.get(f["name"]), f["name"], clean)
    if errors:
        raise FormErrors(errors)
    return clean
