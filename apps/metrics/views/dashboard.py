"""The team dashboard: delivery and AI-adoption cards for the last 7, 30 or 90 days."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.metrics.cache import one_stamp_per_request
from apps.metrics.services import dashboard as metrics
from apps.metrics.services.ai_impact import get_ai_impact
from apps.metrics.services.common import previous_period, round2
from apps.metrics.templatetags.numbers import thousands
from apps.teams.access import team_view

ALLOWED_DAYS = (7, 30, 90)
# The team breakdown lists this many members first; the rest open with "show all".
BREAKDOWN_SHOWN = 10
DEFAULT_DAYS = 30
NO_VALUE = "\u2014"  # em dash
MINUS = "\u2212"  # a real minus sign lines up with "+" in proportional fonts


def parse_days(raw: str | None) -> int | None:
    """The range length from `?days=`: absent or blank means 30; 7, 30 or 90 as given; anything else None."""
    if raw is None or raw.strip() == "":
        return DEFAULT_DAYS
    if raw.strip() in {str(days) for days in ALLOWED_DAYS}:
        return int(raw)
    return None


def date_range(*, end_date: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """The `days` whole days ending on end_date, both ends inclusive."""
    return end_date - dt.timedelta(days=days - 1), end_date


def format_delta(current: int | Decimal | None, previous: int | Decimal | None, *, unit: str = "") -> str:
    """Signed change from previous to current: "+3", "−1.20 h", "0"; "—" when either side is None.

    Integers stay integers; Decimals are shown with two places.
    """
    if current is None or previous is None:
        return NO_VALUE
    change = current - previous
    text = thousands(abs(round2(change))) if isinstance(change, Decimal) else thousands(abs(change))
    sign = "+" if change > 0 else MINUS if change < 0 else ""
    return f"{sign}{text}{unit}"


def delta_tone(current, previous, *, higher_is_better: bool | None) -> str:
    """CSS tone for a change: "good", "bad" or "" (no change, no comparison, or no preferred direction)."""
    if current is None or previous is None or higher_is_better is None or current == previous:
        return ""
    return "good" if (current > previous) == higher_is_better else "bad"


# The previous period is compared only when it holds at least this share of the current period's PRs:
# a change against an almost empty period reads as a triumph (or a disaster) that is neither.
COMPARABLE_SHARE = Decimal("0.25")


def comparable(current: dict, previous: dict) -> bool:
    """Whether the previous period has enough merged PRs to compare with (at least a quarter of the current's, and one)."""
    now, before = current["prs_merged"] or 0, previous["prs_merged"] or 0
    return before > 0 and before >= now * COMPARABLE_SHARE


def key_metric_cards(current: dict, previous: dict) -> list[dict]:
    """The four headline numbers with their change against the previous period, ready to print.

    Without a comparable previous period (see comparable) no change is shown; without merged PRs
    no AI share either (0 % of nothing is not a share).
    """
    compare = comparable(current, previous)
    empty = not current["prs_merged"]
    specs = [
        # (key, label, unit shown after the value, unit shown after the change, higher is better)
        ("prs_merged", "PRs merged", "", "", True),
        ("avg_cycle_time", "Avg cycle time", " h", " h", False),
        ("avg_quality_rating", "Avg quality rating", " / 3", "", True),
        # AI share is reported, not judged: more is not better by itself.
        ("ai_assisted_pct", "AI-assisted PRs", "%", " pts", None),
    ]
    cards = []
    for key, label, unit, delta_unit, higher_is_better in specs:
        now, before = current[key], previous[key]
        if empty and key == "ai_assisted_pct":
            now = None
        cards.append(
            {
                "key": key,
                "label": label,
                "value": NO_VALUE if now is None else f"{thousands(now)}{unit}",
                "comparable": compare,
                "delta": format_delta(now, before, unit=delta_unit) if compare else "",
                "tone": delta_tone(now, before, higher_is_better=higher_is_better) if compare else "",
                "previous": NO_VALUE if before is None else f"{thousands(before)}{unit}",
            }
        )
    return cards


def with_weeks(rows: list[dict], *, start_date: dt.date, end_date: dt.date) -> list[dict]:
    """Copies of weekly rows with "days": how many of the week's 7 days lie in the range, and "partial"."""
    result = []
    for row in rows:
        week_end = row["week_start"] + dt.timedelta(days=6)
        days = (min(week_end, end_date) - max(row["week_start"], start_date)).days + 1
        result.append({**row, "days": days, "partial": days < 7})
    return result


def trend_direction(rows: list[dict], key: str, *, unit: str) -> str | None:
    """The first full week's value against the last's ("30.50 h → 24.10 h, down"); partial weeks left out.

    None with fewer than two full weeks that have a value: no direction to speak of.
    """
    full = [row[key] for row in rows if not row["partial"] and row[key] is not None]
    if len(full) < 2:
        return None
    first, last = full[0], full[-1]
    way = "up" if last > first else "down" if last < first else "level"
    return f"Full weeks: {first}{unit} → {last}{unit}, {way}"


def with_bars(rows: list[dict], key: str, *, scale_max: Decimal | int | None = None) -> list[dict]:
    """Copies of rows with "bar": the row's `key` as a whole percent of the largest (or scale_max), 0 for None."""
    values = [row[key] for row in rows if row[key] is not None]
    top = scale_max if scale_max is not None else max(values, default=0)
    result = []
    for row in rows:
        value = row[key]
        bar = 0 if not value or not top else round(min(value, top) * 100 / top)
        result.append({**row, "bar": bar})
    return result


@team_view
def dashboard(request: HttpRequest) -> HttpResponse:
    """GET /app/<slug>/?days=7|30|90 (default 30), ending today in the team's time zone.

    An unknown `days` is answered with 400 and a page naming the allowed values.
    """
    team = request.team
    days = parse_days(request.GET.get("days"))
    context = {"team": team, "allowed_days": ALLOWED_DAYS, "days": days}
    if days is None:
        context["error"] = f"Unknown range “{request.GET['days']}”: days must be one of 7, 30 or 90."
        return render(request, "metrics/dashboard.html", context, status=400)

    start_date, end_date = date_range(end_date=timezone.localdate(timezone=team.tzinfo), days=days)
    prev_start, prev_end = previous_period(start_date, end_date)
    span = {"team": team, "start_date": start_date, "end_date": end_date}
    bounds = {"start_date": start_date, "end_date": end_date}

    # Every card is a pair; the cached optimized sides share one read of the team's data stamp.
    with one_stamp_per_request():
        key_metrics = metrics.get_key_metrics_with_previous(**span)
        cycle_trend = metrics.get_cycle_time_trend(**span)
        review_trend = metrics.get_review_time_trend(**span)
        ai_trend = metrics.get_ai_adoption_trend(**span)
        sizes = metrics.get_pr_size_distribution(**span)
        copilot = metrics.get_copilot_metrics(**span)
        breakdown = metrics.get_team_breakdown(**span)
        recent_prs = metrics.get_recent_prs(**span, limit=10)
        copilot_by_member = metrics.get_copilot_by_member(**span, limit=10)
        workload = metrics.get_reviewer_workload(**span)
        ai_impact = get_ai_impact(**span)
    current, previous = key_metrics["current"], key_metrics["previous"]

    context.update(
        {
            "start_date": start_date,
            "end_date": end_date,
            "prev_start": prev_start,
            "prev_end": prev_end,
            "key_metrics": current,
            "key_cards": key_metric_cards(current, previous),
            "breakdown": breakdown,
            "comparable": comparable(current, previous),
            "breakdown_shown": BREAKDOWN_SHOWN,
            "cycle_trend": with_weeks(with_bars(cycle_trend, "value"), **bounds),
            "cycle_direction": trend_direction(with_weeks(cycle_trend, **bounds), "value", unit=" h"),
            "cycle_trend_empty": not any(row["prs"] for row in cycle_trend),
            "review_trend": with_weeks(with_bars(review_trend, "value"), **bounds),
            "review_direction": trend_direction(with_weeks(review_trend, **bounds), "value", unit=" h"),
            "review_trend_empty": not any(row["prs"] for row in review_trend),
            "ai_trend": with_weeks(with_bars(ai_trend, "ai_pct", scale_max=100), **bounds),
            "ai_direction": trend_direction(with_weeks(ai_trend, **bounds), "ai_pct", unit="%"),
            "ai_trend_empty": not any(row["surveys"] for row in ai_trend),
            "sizes": with_bars(sizes, "count"),
            "sizes_empty": not any(row["count"] for row in sizes),
            "recent_prs": recent_prs,
            "copilot": copilot,
            "copilot_empty": not copilot["total_shown"] and not copilot["active_members"],
            "copilot_by_member": copilot_by_member,
            "workload": workload,
            "ai_impact": ai_impact,
        }
    )
    return render(request, "metrics/dashboard.html", context)
