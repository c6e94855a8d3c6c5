"""Numbers as people read them: grouped thousands in the active locale ("2,571", "129,236")."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def thousands(value: int | Decimal | float | None) -> str:
    """Thousands grouped as the active locale writes them; None and non-numbers unchanged ("—" stays "—")."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return "" if value is None else str(value)
    return number_format(value, use_l10n=True, force_grouping=True)
