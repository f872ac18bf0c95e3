"""The province's offer: config validation, idempotent loading, admin edits."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.catalog.facts import procedure_facts
from domain.catalog.models import Offering, OfferingReceiver, OfferVersion
from domain.catalog.offer import apply_config, read_config, set_offering
from domain.catalog.procedures import SearchQuery, get_procedure, search
from domain.db import Database
from domain.errors import InvalidInput, NotFound

ROOT = Path(__file__).resolve().parents[3]
GOOD = (ROOT / "config" / "province.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "province.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_config_reads() -> None:
    cfg = read_config(ROOT / "config" / "province.toml")
    assert cfg.province.name == "Tây Ninh" and cfg.province.code == 80
    assert all(u["code"].endswith(".H56") for u in cfg.units)


@pytest.mark.parametrize(("change", "message"), [
    (("code = 80 ", "code = 81 "), "unknown province"),
    (('code = "000.00.12.H56"', 'code = "12.H56"'), "national format"),
    (('unit = "000.00.13.H56"', 'unit = "000.00.99.H56"'), "unknown unit"),
    (('version = "2026.12.1"', 'version = ""'), "version"),
    (('receivable_by = ["000.31.01.H56"]', 'receivable_by = ["000.31.99.H56"]'), "receivable_by names unknown unit"),
    (('receivable_by = ["000.31.01.H56"]', 'receivable_by = "everyone"'), "receivable_by must be"),
    (('receivable_by = ["000.31.01.H56"]', 'receivable_by = []'), "receivable_by must be"),
    (("ward = 25459", "ward = 1"), "unknown ward"),
    (("ward = 25459", "ward = 70"), "not in Tây Ninh"),
    (('mode = "full"', 'mode = "sometimes"'), "mode"),
    (("[province]", "[province"), "not valid TOML"),
])
def test_bad_configs_are_refused_clearly(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    assert change[0] in GOOD
    with pytest.raises(InvalidInput, match=message):
        read_config(write(tmp_path, GOOD.replace(change[0], change[1], 1)))


def test_missing_config(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        read_config(tmp_path / "nope.toml")


def test_loaded_offer_and_reload_is_unchanged(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    summary = db.run(apply_config, read_config(ROOT / "config" / "province.toml"))
    assert summary.unchanged and summary.offered > 1000 and summary.full > 500
    view = db.read_sync(get_procedure, "1.001193")
    assert view.offering is not None and view.offering.mode == "full" and view.unit is not None


def test_a_bad_config_changes_nothing(catalogue_db: str, tmp_path: Path) -> None:
    db = Database(catalogue_db)
    before = db.read_sync(get_procedure, "1.004222").offering
    bad = GOOD.replace('code = "1.004222"   # đăng ký thường trú (commune police)\nunit = "000.31.11.H56"',
                       'code = "1.004222"\nunit = "000.31.99.H56"')
    with pytest.raises(InvalidInput):
        db.run(apply_config, read_config(write(tmp_path, bad)))
    after = db.read_sync(get_procedure, "1.004222").offering
    assert before is not None and after is not None and before.unit_code == after.unit_code


def test_admin_edit_records_a_version(catalogue_db: str) -> None:
    db = Database(catalogue_db)
    db.run(set_offering, "1.001612", unit="000.00.14.H56", mode="full", local_fee_vnd=100_000,
           local_fee_note="Nghị quyết HĐND tỉnh", actor="test")
    view = db.read_sync(get_procedure, "1.001612")
    assert view.offering is not None and view.offering.local_fee_vnd == 100_000
    with pytest.raises(InvalidInput):
        db.run(set_offering, "1.001612", unit="000.00.14.H56", mode="always", local_fee_vnd=None,
               local_fee_note=None, actor="test")
    with pytest.raises(InvalidInput):
        db.run(set_offering, "1.001612", unit="000.00.14.H56", mode="full", local_fee_vnd=-5,
               local_fee_note=None, actor="test")
    with pytest.raises(NotFound):
        db.run(set_offering, "9.999999", unit="000.00.14.H56", mode="full", local_fee_vnd=None,
               local_fee_note=None, actor="test")
    last = db.read_sync(lambda s: s.scalars(select(OfferVersion).order_by(OfferVersion.id.desc())).first())
    assert last.source == "admin:test" and last.config_version.endswith("+admin")


def test_search_follows_admin_changes_to_the_offer(catalogue_db: str) -> None:
    """Search reads the offer from the procedures' copy (offer_mode, prominence): an admin's change
    shows in the filters and the ranking at once, and a withdrawal takes the procedure out."""
    db = Database(catalogue_db)
    code = "1.001612"

    def hit(**filters: Any) -> list[tuple[str, str | None]]:
        page = db.read_sync(search, SearchQuery(q=code, **filters))
        return [(h.code, h.mode) for h in page.items]

    db.run(set_offering, code, unit="000.00.14.H56", mode="partial", local_fee_vnd=None, local_fee_note=None,
           actor="test")
    assert hit(offered=True) == [(code, "partial")] and hit(online_only=True) == []
    db.run(set_offering, code, unit="000.00.14.H56", mode="full", local_fee_vnd=None, local_fee_note=None,
           actor="test")
    assert hit(online_only=True) == [(code, "full")]
    db.run(set_offering, code, unit=None, mode=None, local_fee_vnd=None, local_fee_note=None, actor="test")
    assert hit() == [(code, None)] and hit(offered=True) == []


def test_cross_area_receivers_come_from_the_config(catalogue_db: str) -> None:
    """``receivable_by = "any"`` marks the offering; a list of units becomes its receivers (cross-area)."""
    db = Database(catalogue_db)

    def read(s: Session) -> tuple[bool, bool, list[str]]:
        birth, police = s.get(Offering, "1.001193"), s.get(Offering, "1.004222")
        assert birth is not None and police is not None
        units = list(s.scalars(select(OfferingReceiver.unit_code).where(OfferingReceiver.procedure_code == "1.004222")))
        return birth.any_unit_receives, police.any_unit_receives, units

    assert db.read_sync(read) == (True, False, ["000.31.01.H56"])


# --- the province's processing time (issue 15 point 6) ------------------------------------------------
BIRTH_TIME = ('processing_time = {value = 1, unit = "working_days", '
              'basis = "khoản 2 Điều 16 Luật Hộ tịch số 60/2014/QH13"}')


@pytest.mark.parametrize(("replacement", "message"), [
    ('processing_time = {value = 1, unit = "fortnights", basis = "Điều 16"}', "processing_time.unit 'fortnights'"),
    ('processing_time = {value = 0, unit = "working_days", basis = "Điều 16"}', "processing_time.value must be"),
    ('processing_time = {value = -1, unit = "working_days", basis = "Điều 16"}', "processing_time.value must be"),
    ('processing_time = {value = "một", unit = "working_days", basis = "Điều 16"}', "processing_time.value must be"),
    ('processing_time = {value = 1, unit = "working_days"}', "processing_time.basis is required"),
    ('processing_time = "1 ngày"', "processing_time must be a table"),
])
def test_bad_processing_times_are_refused_naming_procedure_and_field(tmp_path: Path, replacement: str,
                                                                      message: str) -> None:
    assert BIRTH_TIME in GOOD
    with pytest.raises(InvalidInput, match=re.escape(message)) as caught:
        read_config(write(tmp_path, GOOD.replace(BIRTH_TIME, replacement)))
    assert "procedure 1.001193: processing_time" in caught.value.detail


def test_load_offer_refuses_a_bad_processing_time_and_changes_nothing(catalogue_db: str, tmp_path: Path) -> None:
    """The operator runs ``motcua load-offer``: a clear message naming the procedure and the field, exit 1,
    the offer as it was."""
    db = Database(catalogue_db)
    before = db.read_sync(lambda s: s.scalar(select(func.count()).select_from(OfferVersion)))
    bad = write(tmp_path, GOOD.replace(BIRTH_TIME, 'processing_time = {value = 1, unit = "ngày", basis = "Điều 16"}'))
    done = subprocess.run([sys.executable, "-m", "api.cli", "load-offer", "--config", str(bad)], cwd=ROOT,
                          env={**os.environ, "DATABASE_URL": catalogue_db}, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "procedure 1.001193: processing_time.unit 'ngày' is unknown: use one of working_days, days, hours, " \
           "months" in done.stderr
    assert db.read_sync(lambda s: s.scalar(select(func.count()).select_from(OfferVersion))) == before
    offering = db.read_sync(lambda s: s.get(Offering, "1.001193"))
    assert (offering.processing_time_value, offering.processing_time_unit) == (1.0, "working_days")


def test_the_offer_time_is_stored_and_the_record_s_own_time_wins_with_a_warning(catalogue_db: str,
                                                                                tmp_path: Path) -> None:
    db = Database(catalogue_db)
    birth = db.read_sync(lambda s: s.get(Offering, "1.001193"))
    assert (birth.processing_time_value, birth.processing_time_unit, birth.processing_time_basis) == (
        1.0, "working_days", "khoản 2 Điều 16 Luật Hộ tịch số 60/2014/QH13")
    # 1.004222 (permanent residence) states 7 working days of its own: the offer's time is kept, not used
    text = GOOD.replace('code = "1.004222"   # đăng ký thường trú (commune police)\n',
                        'code = "1.004222"\nprocessing_time = {value = 3, unit = "days", basis = "Quyết định 1"}\n')
    try:
        summary = db.run(apply_config, read_config(write(tmp_path, text)))
        assert any(w.startswith("1.004222: the national record states a processing time") for w in summary.warnings)
        police = db.read_sync(lambda s: s.get(Offering, "1.004222"))
        assert (police.processing_time_value, police.processing_time_unit) == (3.0, "days")
        facts = db.read_sync(procedure_facts, "1.004222")
        assert facts is not None and facts.processing_time is not None
        assert facts.processing_time.set_by == "national" and facts.processing_time.unit == "working_days"
    finally:
        db.run(apply_config, read_config(ROOT / "config" / "province.toml"))
    assert db.read_sync(lambda s: s.get(Offering, "1.004222")).processing_time_value is None
