"""The server-rendered SVG charts: accessible names, no script or inline style, escaped text, geometry."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from pwa.svg import Series, column_chart, nice_max, score_bars, share_bars

NS = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


@pytest.mark.parametrize("value, expected", [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (21, 25), (26, 50),
                                             (99, 100), (101, 200), (240, 250), (1234, 2000)])
def test_nice_max(value: float, expected: float) -> None:
    assert nice_max(value) == expected


def test_column_chart_is_a_named_image() -> None:
    svg = column_chart("c1", "Hồ sơ tiếp nhận", "3 hồ sơ <b>", ["2026-01", "2026-02"],
                       [Series("Trực tuyến", [2, 0], "#1d4ed8"), Series("Trực tiếp", [1, 0], "#9b1c1c")])
    root = parse(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-t c1-d"
    assert root.find(f"{NS}title").text == "Hồ sơ tiếp nhận"  # type: ignore[union-attr]
    assert root.find(f"{NS}desc").text == "3 hồ sơ <b>"  # type: ignore[union-attr]  # escaped in the markup
    assert "<b>" not in str(svg) and "&lt;b&gt;" in str(svg)
    assert "style=" not in str(svg) and "<script" not in str(svg)
    bars = [r for r in root.iter(f"{NS}rect") if float(r.get("width", 0)) > 10 and r.get("y") != "0"]
    heights = sorted(float(r.get("height", 0)) for r in bars if r.get("fill") in ("#1d4ed8", "#9b1c1c"))
    assert len(heights) == 2 and heights[1] == pytest.approx(2 * heights[0], rel=0.01)  # 2 online, 1 in person
    assert root.get("viewBox", "").startswith("0 0 360 ")


def test_labels_are_thinned_on_long_series() -> None:
    labels = [f"2026-01-{d:02d}" for d in range(1, 32)]
    svg = str(column_chart("c2", "t", "d", labels, [Series("a", [1] * 31, "#000000")], short=lambda x: x[-2:]))
    axis = re.findall(r'text-anchor="middle" fill="#555555">(\d\d)<', svg)
    assert 4 <= len(axis) <= 9 and axis[0] == "01"


def test_share_bars_and_empty_rows() -> None:
    svg = share_bars("c3", "Đúng hạn theo đơn vị", "A: 50 %", ["Đơn vị A", "Đơn vị B"],
                     [Series("Đúng hạn", [1, 0], "#2563eb"), Series("Trễ hạn", [1, 0], "#b45309")],
                     notes=["50 %", "—"])
    root = parse(svg)
    widths = [float(r.get("width", 0)) for r in root.iter(f"{NS}rect")
              if r.get("fill") in ("#2563eb", "#b45309") and float(r.get("width", 0)) > 10]
    assert len(widths) == 2 and widths[0] == pytest.approx(widths[1])
    assert any(r.get("fill") == "none" for r in root.iter(f"{NS}rect"))  # B: an empty outline, no bar
    assert "50 %" in str(svg) and "Đơn vị B" in str(svg)


def test_score_bars() -> None:
    svg = score_bars("c4", "Hài lòng", "4,5", ["Thời gian", "Thái độ"], [4.5, None], fmt=lambda v: f"{v:.1f}")
    root = parse(svg)
    filled = [float(r.get("width", 0)) for r in root.iter(f"{NS}rect") if r.get("fill") == "#1d4ed8"]
    assert len(filled) == 1 and filled[0] == pytest.approx((360 - 46) * 0.9)
    assert "4.5" in str(svg)


def test_no_data_still_draws_an_axis() -> None:
    root = parse(column_chart("c5", "t", "Chưa có hồ sơ.", [], [Series("a", [], "#000000")]))
    assert root.get("role") == "img" and list(root.iter(f"{NS}line"))
