"""The province's offer: which national procedures it offers, where, and how (fully or partly online).

Read from a versioned TOML file (``config/province.toml``); applied in one transaction so a bad file
changes nothing. Admin edits of one procedure go through :func:`set_offering` and record a version too.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from vietnam_provinces import Province, ProvinceCode, Ward, WardCode

from domain.catalog.models import Offering, OfferingReceiver, OfferVersion, Procedure, Unit
from domain.catalog.parse import fold
from domain.catalog.procedures import refresh_fields
from domain.catalog.times import check_offer_time, national_time
from domain.errors import InvalidInput, NotFound

UNIT_CODE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")  # national unit identifier, e.g. 000.00.00.H56
MODES = ("full", "partial", "in_person")
UNIT_LEVELS = ("province", "commune")


@dataclass(frozen=True)
class ProvinceInfo:
    code: int
    name: str
    identifier: str


@dataclass
class OfferConfig:
    version: str
    province: ProvinceInfo
    units: list[dict[str, Any]]
    offer: dict[str, Any]
    digest: str
    source: str


@dataclass
class OfferSummary:
    version: str
    province: str
    units: int
    offered: int
    full: int
    partial: int
    in_person: int
    unchanged: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_line(self) -> str:
        state = "unchanged" if self.unchanged else "applied"
        return (
            f"offer {self.version} for {self.province} {state}: {self.units} units, {self.offered} procedures "
            f"({self.full} fully online, {self.partial} partly online, {self.in_person} in person only)"
        )


def province_info(code: int, identifier: str = "") -> ProvinceInfo:
    try:
        province = Province.from_code(ProvinceCode(code))
    except ValueError:
        raise InvalidInput(f"unknown province code {code}: use a code of the 2025 structure (34 provinces)") from None
    return ProvinceInfo(code=code, name=province.name, identifier=identifier)


def read_config(path: Path) -> OfferConfig:  # noqa: C901  (one check per key of the offer file)
    try:
        raw = path.read_bytes()
        doc = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"province config not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"province config {path} is not valid TOML: {exc}") from None
    version = str(doc.get("version") or "").strip()
    if not version:
        raise InvalidInput(f"{path}: `version` is required")
    prov = doc.get("province") or {}
    if not isinstance(prov.get("code"), int):
        raise InvalidInput(f"{path}: [province] code must be a number")
    info = province_info(prov["code"], str(prov.get("identifier") or ""))
    units = doc.get("units") or []
    seen: set[str] = set()
    for unit in units:
        code = str(unit.get("code", ""))
        if not UNIT_CODE.match(code):
            raise InvalidInput(f"{path}: unit code {code!r} is not in the national format 000.00.00.H56")
        if code in seen:
            raise InvalidInput(f"{path}: unit {code} is declared twice")
        seen.add(code)
        if unit.get("level") not in UNIT_LEVELS:
            raise InvalidInput(f"{path}: unit {code} level must be province or commune")
        if not str(unit.get("name", "")).strip():
            raise InvalidInput(f"{path}: unit {code} has no name")
        ward = unit.get("ward")
        if ward is not None:
            try:
                w = Ward.from_code(WardCode(ward))
            except ValueError:
                raise InvalidInput(f"{path}: unit {code}: unknown ward code {ward}") from None
            if w.province_code.value != info.code:
                raise InvalidInput(f"{path}: unit {code}: ward {ward} is not in {info.name}")
    offer = doc.get("offer") or {}
    for key in ("province_unit", "commune_unit"):
        if offer.get(key) and offer[key] not in seen:
            raise InvalidInput(f"{path}: offer.{key} names unknown unit {offer[key]}")
    for route in offer.get("route", []):
        if route.get("unit") not in seen:
            raise InvalidInput(f"{path}: a route names unknown unit {route.get('unit')}")
    for item in offer.get("procedure", []):
        if item.get("unit") and item["unit"] not in seen:
            raise InvalidInput(f"{path}: procedure {item.get('code')} names unknown unit {item['unit']}")
        if item.get("mode") and item["mode"] not in MODES:
            raise InvalidInput(f"{path}: procedure {item.get('code')}: mode must be one of {', '.join(MODES)}")
        for key, top in (("identity_level", 2), ("approval_levels", 5)):
            if key in item and (not isinstance(item[key], int) or not 1 <= item[key] <= top):
                raise InvalidInput(f"{path}: procedure {item.get('code')}: {key} must be 1..{top}")
        _check_receivable_by(path, item, seen)
        if "processing_time" in item:
            check_offer_time(str(path), str(item.get("code")), item["processing_time"])
        fee = item.get("local_fee_vnd")
        if fee is not None and (not isinstance(fee, int) or fee < 0 or fee > 1_000_000_000):
            raise InvalidInput(f"{path}: procedure {item.get('code')}: local_fee_vnd must be 0..1,000,000,000")
    if offer.get("mode", "auto") not in ("auto", *MODES):
        raise InvalidInput(f"{path}: offer.mode must be auto, full, partial or in_person")
    return OfferConfig(
        version=version, province=info, units=units, offer=offer,
        digest=hashlib.sha256(raw).hexdigest(), source=str(path),
    )


def _check_receivable_by(path: Path, item: dict[str, Any], units: set[str]) -> None:
    """``receivable_by``: which receiving points may take the procedure besides its own unit (cross-area, phi
    địa giới): ``"any"`` (every unit of the province) or a list of unit codes."""
    value = item.get("receivable_by")
    if value is None or value == "any":
        return
    if not isinstance(value, list) or not value or not all(isinstance(u, str) for u in value):
        raise InvalidInput(f"{path}: procedure {item.get('code')}: receivable_by must be \"any\" or a list of "
                           "unit codes")
    unknown = [u for u in value if u not in units]
    if unknown:
        raise InvalidInput(f"{path}: procedure {item.get('code')}: receivable_by names unknown unit {unknown[0]}")


def _offer_time(code: str, item: dict[str, Any], data_json: str,
                warnings: list[str]) -> tuple[float | None, str | None, str | None]:
    """The offer's processing time (checked by read_config); a warning when the record's own time wins."""
    if "processing_time" not in item:
        return None, None, None
    value, unit, basis = check_offer_time("offer", code, item["processing_time"])
    if national_time(json.loads(data_json)) is not None:
        warnings.append(f"{code}: the national record states a processing time; the offer's processing_time "
                        "applies only while the record lacks one")
    return value, unit, basis


def _has_online(data: dict[str, Any]) -> bool:
    return any(c.get("channel") == "online" for c in data.get("channels") or [])


def _unchanged(session: Session, cfg: OfferConfig) -> OfferSummary | None:
    """The last load's figures when it applied this very config (same digest) and offerings exist; else None."""
    last = session.scalar(select(OfferVersion).order_by(OfferVersion.id.desc()).limit(1))
    summary_of_last = json.loads(last.summary) if last else {}
    if not (last and summary_of_last.get("digest") == cfg.digest and session.scalar(select(Offering).limit(1))):
        return None
    return OfferSummary(
        version=cfg.version, province=cfg.province.name, unchanged=True,
        units=summary_of_last.get("units", 0), offered=summary_of_last.get("offered", 0),
        full=summary_of_last.get("full", 0), partial=summary_of_last.get("partial", 0),
        in_person=summary_of_last.get("in_person", 0),
    )


def _apply_units(session: Session, specs: list[dict[str, Any]]) -> None:
    """Create or update the config's units; the others are deactivated, never deleted (dossiers keep pointing to
    them)."""
    existing_units = {u.code: u for u in session.scalars(select(Unit))}
    for spec in specs:
        unit = existing_units.get(spec["code"]) or Unit(code=spec["code"])
        unit.name, unit.level = spec["name"].strip(), spec["level"]
        unit.address, unit.phone = spec.get("address"), spec.get("phone")
        unit.ward_code, unit.parent_code, unit.active = spec.get("ward"), spec.get("parent"), True
        session.add(unit)
    for code, unit in existing_units.items():
        if code not in {u["code"] for u in specs}:
            unit.active = False
    session.flush()


@dataclass(frozen=True)
class _OfferRules:
    """What the config's [offer] table says: which procedures are offered, by which unit, in which mode."""

    offer: dict[str, Any]
    levels: set[str]
    excluded: set[str]  # folded field names
    routes: dict[str, str]  # folded field name -> deciding unit
    overrides: dict[str, dict[str, Any]]  # procedure code -> its [[offer.procedure]] table
    default_mode: str

    @classmethod
    def of(cls, offer: dict[str, Any]) -> _OfferRules:
        return cls(offer=offer, levels=set(offer.get("levels", ["province", "commune"])),
                   excluded={fold(f) for f in offer.get("exclude_fields", [])},
                   routes={fold(f): r["unit"] for r in offer.get("route", []) for f in r.get("fields", [])},
                   overrides={str(p["code"]): p for p in offer.get("procedure", [])},
                   default_mode=offer.get("mode", "auto"))

    def eligible(self, lv_province: bool, lv_commune: bool, lv_ministry: bool) -> bool:
        return bool(("province" in self.levels and lv_province) or ("commune" in self.levels and lv_commune) or (
            "ministry" in self.levels and lv_ministry))

    def unit_for(self, item: dict[str, Any], field_name: str, lv_province: bool) -> str | None:
        """The deciding unit: the procedure's own, else the field's route (province level), else the default."""
        if lv_province and "province" in self.levels:
            unit_code = self.routes.get(fold(field_name)) or self.offer.get("province_unit")
        else:
            unit_code = self.offer.get("commune_unit") or self.offer.get("province_unit")
        return item.get("unit") or unit_code

    def mode_for(self, item: dict[str, Any], data_json: str) -> str:
        """full | partial | in_person; "auto": full where the record has an online channel."""
        mode = item.get("mode") or self.default_mode
        if mode == "auto":
            mode = "full" if _has_online(json.loads(data_json)) else "in_person"
        return str(mode)


def _apply_offerings(session: Session, rules: _OfferRules, warnings: list[str]) -> dict[str, int]:
    """Replace every offering (and its cross-area receivers) with what ``rules`` make of the catalogue; answers how
    many are offered in each mode."""
    session.execute(delete(OfferingReceiver))
    session.execute(delete(Offering))
    counts = {"full": 0, "partial": 0, "in_person": 0}
    receivers: dict[str, list[str]] = {}  # cross-area: the units listed besides the deciding one
    rows = session.execute(
        select(Procedure.code, Procedure.field, Procedure.level_province, Procedure.level_commune,
               Procedure.level_ministry, Procedure.data)
    ).all()
    known = set()
    for code, field_name, lv_province, lv_commune, lv_ministry, data_json in rows:
        known.add(code)
        item = rules.overrides.get(code)
        if item is None and (not rules.eligible(lv_province, lv_commune, lv_ministry)
                             or fold(field_name) in rules.excluded):
            continue
        item = item or {}
        unit_code = rules.unit_for(item, field_name, lv_province)
        if not unit_code:
            warnings.append(f"{code}: no receiving unit")
            continue
        mode = rules.mode_for(item, data_json)
        counts[mode] += 1
        time = _offer_time(code, item, data_json, warnings)
        session.add(Offering(
            procedure_code=code, unit_code=unit_code, mode=mode,
            local_fee_vnd=item.get("local_fee_vnd"), local_fee_note=item.get("local_fee_note"),
            in_person_note=item.get("in_person_note"), identity_level=int(item.get("identity_level", 1)),
            approval_levels=int(item.get("approval_levels", 1)),
            any_unit_receives=item.get("receivable_by") == "any",
            processing_time_value=time[0], processing_time_unit=time[1], processing_time_basis=time[2],
        ))
        if isinstance(item.get("receivable_by"), list):
            receivers[code] = sorted(set(item["receivable_by"]) - {unit_code})
    session.flush()
    session.add_all(OfferingReceiver(procedure_code=code, unit_code=unit) for code, units in receivers.items()
                    for unit in units)
    warnings += [f"{code}: not in the catalogue, skipped" for code in rules.overrides if code not in known]
    return counts


def apply_config(session: Session, cfg: OfferConfig) -> OfferSummary:
    """Replace units and offerings with what the config says (one transaction, all or nothing)."""
    unchanged = _unchanged(session, cfg)
    if unchanged is not None:
        return unchanged
    _apply_units(session, cfg.units)
    warnings: list[str] = []
    counts = _apply_offerings(session, _OfferRules.of(cfg.offer), warnings)
    summary = OfferSummary(
        version=cfg.version, province=cfg.province.name, units=len(cfg.units), offered=sum(counts.values()),
        full=counts["full"], partial=counts["partial"], in_person=counts["in_person"], warnings=warnings,
    )
    _record(session, cfg.version, cfg.province, cfg.source, summary, cfg.digest)
    session.flush()
    refresh_fields(session)
    return summary


def _record(session: Session, version: str, info: ProvinceInfo, source: str, summary: OfferSummary,
            digest: str) -> None:
    payload = {k: getattr(summary, k) for k in ("units", "offered", "full", "partial", "in_person")}
    payload["digest"] = digest
    session.add(OfferVersion(
        config_version=version, province_code=info.code, province_name=info.name, source=source[:255],
        summary=json.dumps(payload), created_at=datetime.now(UTC),
    ))


def current_province(session: Session) -> ProvinceInfo | None:
    last = session.scalar(select(OfferVersion).order_by(OfferVersion.id.desc()).limit(1))
    return ProvinceInfo(last.province_code, last.province_name, "") if last else None


def set_offering(session: Session, code: str, *, unit: str | None, mode: str | None,
                 local_fee_vnd: int | None, local_fee_note: str | None, actor: str) -> Offering | None:
    """An admin's change to one procedure; ``mode=None`` withdraws it from the offer."""
    proc = session.scalar(select(Procedure).where(Procedure.code == code))
    if proc is None:
        raise NotFound(f"Không có thủ tục mã {code}.")
    current = session.get(Offering, code)
    if mode is None:
        if current is not None:
            session.delete(current)
        result = None
    else:
        if mode not in MODES:
            raise InvalidInput(f"Hình thức cung cấp phải là một trong: {', '.join(MODES)}.", field="mode")
        if unit is None or session.get(Unit, unit) is None:
            raise InvalidInput("Hãy chọn một đơn vị tiếp nhận có trong danh sách.", field="unit")
        if local_fee_vnd is not None and not 0 <= local_fee_vnd <= 1_000_000_000:
            raise InvalidInput("Phí địa phương phải từ 0 đến 1.000.000.000 đồng.", field="local_fee_vnd")
        result = current or Offering(procedure_code=code)
        result.unit_code, result.mode = unit, mode
        result.local_fee_vnd, result.local_fee_note = local_fee_vnd, local_fee_note
        session.add(result)
    session.flush()
    info = current_province(session)
    if info is not None:
        last = session.scalar(select(OfferVersion).order_by(OfferVersion.id.desc()).limit(1))
        assert last is not None
        counts = {m: 0 for m in MODES}
        for (m,) in session.execute(select(Offering.mode)):
            counts[m] += 1
        summary = OfferSummary(version=f"{last.config_version}+admin", province=info.name,
                               units=len(list(session.scalars(select(Unit.code)))),
                               offered=sum(counts.values()), full=counts["full"], partial=counts["partial"],
                               in_person=counts["in_person"])
        _record(session, summary.version, info, f"admin:{actor}", summary, json.loads(last.summary).get("digest", ""))
    refresh_fields(session)
    return result
