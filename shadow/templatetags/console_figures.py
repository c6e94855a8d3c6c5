"""How the console writes its figures: latencies with units, rates in per cent, speed-ups as ×."""

from __future__ import annotations

import math

from django import template

register = template.Library()

BLANK = "—"


@register.filter
def ms(value: float | None) -> str:
    """A latency: "0.42 ms", "12 ms", "330 ms", "1.5 s"; above the last histogram bucket "> 10 s"."""
    if value is None:
        return BLANK
    if math.isinf(value):
        return "> 10 s"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    if value >= 10:
        return f"{value:.0f} ms"
    return f"{value:.2g} ms" if value >= 1 else f"{value:.2f} ms"


@register.filter
def percent(value: float | None) -> str:
    """A share from 0 to 1 as "0.0 %", "12.5 %"."""
    return BLANK if value is None else f"{100 * value:.1f} %"


@register.filter
def times(value: float | None) -> str:
    """A speed-up: "27×", "1.6×"."""
    if value is None:
        return BLANK
    return f"{value:.0f}×" if value >= 10 else f"{value:.1f}×"


@register.filter
def per_call(value: float | None) -> str:
    """A mean count per call: "3", "3.5"."""
    if value is None:
        return BLANK
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
