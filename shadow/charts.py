"""Small charts as inline SVG, drawn on the server: the console works offline and needs no script.

Each function takes plain numbers per day and returns escaped markup. The SVG
scales to its box (a viewBox, width 100%), so a chart never widens the page;
every bar and point carries a <title>, which browsers show on hover and screen
readers read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 480, 210
# Room for the y-axis labels on the left and the x-axis labels and legend below.
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 46
PLOT_WIDTH, PLOT_HEIGHT = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


@dataclass(frozen=True)
class Series:
    """One line (or one part of a stacked bar): a value per day, None where there is none."""

    name: str
    values: Sequence[float | None]
    colour: str
    dashed: bool = False


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above value (an axis maximum that reads well)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def n(value: float) -> str:
    """A coordinate, to a tenth of a pixel."""
    return f"{value:.1f}"


def format_number(value: float, unit: str = "") -> str:
    value = float(value)
    if value >= 100 or value.is_integer():
        text = f"{value:,.0f}"
    elif value >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2g}"
    return f"{text}{unit}"


class Scale:
    """Maps a value onto the plot's height: linear from 0, or logarithmic for values spanning decades."""

    def __init__(self, values: Sequence[float], *, log: bool) -> None:
        positive = [value for value in values if value > 0]
        self.log = log and bool(positive)
        if self.log:
            self.low = 10 ** math.floor(math.log10(min(positive)))
            self.high = 10 ** math.ceil(math.log10(max(positive)))
            if self.high <= self.low:
                self.high = self.low * 10
        else:
            self.low, self.high = 0.0, nice_ceiling(max(values, default=0.0))

    def y(self, value: float) -> float:
        if self.log:
            clamped = min(max(value, self.low), self.high)
            share = (math.log10(clamped) - math.log10(self.low)) / (math.log10(self.high) - math.log10(self.low))
        else:
            share = value / self.high if self.high else 0.0
        return TOP + PLOT_HEIGHT * (1 - share)

    def ticks(self) -> list[float]:
        if self.log:
            count = round(math.log10(self.high / self.low))
            return [self.low * 10**power for power in range(count + 1)]
        return [0.0, self.high / 2, self.high]


def x_position(index: int, count: int) -> float:
    """The centre of the index-th of count day slots."""
    return LEFT + PLOT_WIDTH * (index + 0.5) / max(count, 1)


def frame(*, title: str, labels: Sequence[str], scale: Scale, unit: str, body: str, legend: Sequence[Series]) -> SafeString:
    """The chart's box: title, horizontal grid lines with their values, a few day labels, the legend."""
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e4e7ec"/>'
        '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#667085">{}</text>',
        (
            (LEFT, WIDTH - RIGHT, n(scale.y(tick)), n(scale.y(tick)), LEFT - 6, n(scale.y(tick) + 4), format_number(tick, unit))
            for tick in scale.ticks()
        ),
    )
    # First, middle and last day: enough to read the window without crowding a narrow chart.
    shown = sorted({0, len(labels) // 2, len(labels) - 1}) if labels else []
    days = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#667085">{}</text>',
        ((n(x_position(index, len(labels))), HEIGHT - BOTTOM + 16, labels[index]) for index in shown),
    )
    keys = format_html_join(
        "",
        '<rect x="{}" y="{}" width="12" height="4" fill="{}"/>'
        '<text x="{}" y="{}" font-size="12" fill="#1f2430">{}</text>',
        (
            (LEFT + 105 * position, HEIGHT - 12, series.colour, LEFT + 105 * position + 16, HEIGHT - 7, series.name)
            for position, series in enumerate(legend)
        ),
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}{}{}{}</svg>",
        WIDTH, HEIGHT, title, title, grid, mark_safe(body), days, keys,  # noqa: S308 - body is built escaped below
    )


def stacked_bars(*, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "") -> SafeString:
    """One bar per day, the series stacked bottom up (e.g. matches, then mismatches)."""
    totals = [sum(value or 0 for value in day) for day in zip(*(item.values for item in series), strict=True)]
    scale = Scale(totals, log=False)
    width = PLOT_WIDTH / max(len(labels), 1) * 0.7
    parts: list[str] = []
    for index, label in enumerate(labels):
        base = 0.0
        for item in series:
            value = item.values[index] or 0
            if not value:
                continue
            top, bottom = scale.y(base + value), scale.y(base)
            parts.append(format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {} {}</title></rect>',
                n(x_position(index, len(labels)) - width / 2), n(top), n(width), n(max(bottom - top, 0.5)), item.colour,
                label, format_number(value, unit), item.name,
            ))
            base += value
    return frame(title=title, labels=labels, scale=scale, unit=unit, body="".join(parts), legend=series)


def lines(*, title: str, labels: Sequence[str], series: Sequence[Series], unit: str = "", log: bool = False) -> SafeString:
    """One line per series across the days; a day without a value breaks the line (no invented points)."""
    values = [value for item in series for value in item.values if value is not None and math.isfinite(value)]
    scale = Scale(values, log=log)
    parts: list[str] = []
    for item in series:
        segment: list[str] = []
        segments = [segment]
        for index, value in enumerate(item.values):
            if value is None or not math.isfinite(value):
                segment = []
                segments.append(segment)
                continue
            x, y = x_position(index, len(labels)), scale.y(value)
            segment.append(f"{x:.1f},{y:.1f}")
            parts.append(format_html(
                '<circle cx="{}" cy="{}" r="2.5" fill="{}"><title>{}: {} {}</title></circle>',
                n(x), n(y), item.colour, labels[index], format_number(value, unit), item.name,
            ))
        dash = ' stroke-dasharray="5 3"' if item.dashed else ""
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline points="{escape(" ".join(points))}" fill="none" stroke="{escape(item.colour)}" '
                    f'stroke-width="2"{dash}/>'
                )
    return frame(title=title, labels=labels, scale=scale, unit=unit, body="".join(parts), legend=series)
