"""Server-rendered SVG charts: no charting library, no script, no inline style (the CSP forbids it).

Each chart is an ``<svg role="img">`` named by its ``<title>`` and described by its ``<desc>`` (the
figures in words); the page puts the same numbers in a table next to it, for screen readers and for
copying. Drawn in a 360-unit-wide view box, so text stays legible on a phone and scales up on wider
screens. Colours are presentation attributes with at least 3:1 contrast against white.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 360
FONT = 12
TICKS = 5
INK = "#1a1a1a"
MUTE = "#555555"
GRID = "#d6d6d6"


@dataclass(frozen=True)
class Series:
    """One coloured part of a bar: its name (legend) and one value per category."""

    name: str
    values: Sequence[float]
    colour: str


def _fmt(value: float) -> str:
    return f"{int(value):,}".replace(",", ".") if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def nice_max(value: float) -> float:
    """A round upper bound for an axis (1, 2, 2.5, 5 × 10ⁿ) at or above ``value``."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10 ** exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def _open(chart_id: str, title: str, desc: str, height: int) -> list[str]:
    return [f'<svg class="chart" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" '
            f'font-family="system-ui, sans-serif" font-size="{FONT}">',
            f'<title id="{chart_id}-t">{escape(title)}</title>', f'<desc id="{chart_id}-d">{escape(desc)}</desc>']


def _legend(series: Sequence[Series], y: float) -> tuple[list[str], float]:
    """Legend items laid out in rows; returns the SVG and the height used."""
    out, x, row = [], 0.0, 0
    for s in series:
        width = 16 + len(s.name) * FONT * 0.55 + 14
        if x + width > WIDTH and x > 0:
            x, row = 0.0, row + 1
        top = y + row * 16
        out.append(f'<rect x="{x:.1f}" y="{top:.1f}" width="10" height="10" fill="{s.colour}"/>'
                   f'<text x="{x + 14:.1f}" y="{top + 9:.1f}" fill="{INK}">{escape(s.name)}</text>')
        x += width
    return out, (row + 1) * 16


def column_chart(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
                 height: int = 230, label_every: int | None = None,
                 short: Callable[[str], str] | None = None) -> Markup:
    """Stacked columns, one per label (a period), one colour per series, with a value axis."""
    n = max(1, len(labels))
    legend, legend_h = _legend(series, 0)
    left, right, top, bottom = 40.0, 6.0, legend_h + 10, 22.0
    plot_h = height - top - bottom
    plot_w = WIDTH - left - right
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top_value = max(float(TICKS), nice_max(max(totals, default=0)))  # ticks at fifths: whole numbers
    out = _open(chart_id, title, desc, height)
    out.extend(legend)
    for k in range(TICKS + 1):  # grid and axis labels
        value = top_value * k / TICKS
        y = top + plot_h - plot_h * k / TICKS
        out.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
                   f'stroke-width="1"/><text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTE}">'
                   f'{_fmt(value)}</text>')
    slot = plot_w / n
    bar = max(1.0, min(28.0, slot * 0.7))
    every = label_every or max(1, math.ceil(n / 8))
    for i, label in enumerate(labels):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top_value
            y -= h
            out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{s.colour}"/>')
        if i % every == 0:
            text = short(label) if short else label
            out.append(f'<text x="{left + slot * i + slot / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                       f'fill="{MUTE}">{escape(text)}</text>')
    out.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{top + plot_h:.1f}" y2="{top + plot_h:.1f}" '
               f'stroke="{INK}" stroke-width="1"/></svg>')
    return Markup("".join(out))


def share_bars(chart_id: str, title: str, desc: str, labels: Sequence[str], series: Sequence[Series], *,
               notes: Sequence[str] | None = None) -> Markup:
    """Horizontal 100 % bars, one per label (a unit, a field, the whole offer), parts in proportion.

    The label sits above its bar (phones are narrow); ``notes`` (e.g. a share) are written at its end."""
    legend, legend_h = _legend(series, 0)
    row_h = 34
    height = int(legend_h + 8 + row_h * max(1, len(labels)))
    out = _open(chart_id, title, desc, height)
    out.extend(legend)
    y = legend_h + 8.0
    bar_w = WIDTH - 46.0
    for i, label in enumerate(labels):
        total = sum(s.values[i] for s in series)
        out.append(f'<text x="0" y="{y + 10:.1f}" fill="{INK}">{escape(_clip(label, 60))}</text>')
        x = 0.0
        if total <= 0:
            out.append(f'<rect x="0" y="{y + 14:.1f}" width="{bar_w:.1f}" height="12" fill="none" '
                       f'stroke="{GRID}"/>')
        for s in series:
            value = s.values[i]
            if total <= 0 or value <= 0:
                continue
            w = bar_w * value / total
            out.append(f'<rect x="{x:.1f}" y="{y + 14:.1f}" width="{w:.1f}" height="12" fill="{s.colour}"/>')
            x += w
        if notes is not None and i < len(notes):
            out.append(f'<text x="{WIDTH}" y="{y + 24:.1f}" text-anchor="end" fill="{INK}">{escape(notes[i])}</text>')
        y += row_h
    out.append("</svg>")
    return Markup("".join(out))


def score_bars(chart_id: str, title: str, desc: str, labels: Sequence[str], scores: Sequence[float | None], *,
               scale: float = 5.0, colour: str = "#1d4ed8", fmt: Callable[[float], str] = _fmt) -> Markup:
    """Horizontal bars of scores on a fixed scale (e.g. 1–5), label above each bar."""
    row_h = 34
    height = row_h * max(1, len(labels)) + 4
    out = _open(chart_id, title, desc, height)
    bar_w = WIDTH - 46.0
    y = 2.0
    for label, score in zip(labels, scores, strict=True):
        out.append(f'<text x="0" y="{y + 10:.1f}" fill="{INK}">{escape(_clip(label, 60))}</text>'
                   f'<rect x="0" y="{y + 14:.1f}" width="{bar_w:.1f}" height="12" fill="none" stroke="{GRID}"/>')
        if score is not None:
            out.append(f'<rect x="0" y="{y + 14:.1f}" width="{bar_w * max(0.0, min(score, scale)) / scale:.1f}" '
                       f'height="12" fill="{colour}"/><text x="{WIDTH}" y="{y + 24:.1f}" text-anchor="end" '
                       f'fill="{INK}">{escape(fmt(score))}</text>')
        y += row_h
    out.append("</svg>")
    return Markup("".join(out))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
