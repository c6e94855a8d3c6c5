"""PR CSV export: the entry point the rest of the app imports from.

`iter_pr_export_rows` is the legacy/optimized stream pair `metrics.pr_export`
(shadow.pair with stream=True): each side yields the CSV text line of each
exported PR (CRLF included), a per-team flag picks the side, and sampled calls
compare the lines as they stream (shadow/dispatch.py), so a match means the
same bytes. `stream_pr_export_csv` puts the header line before them, naming
the team's zone the timestamps are written in.
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.metrics.services import exploration
from apps.metrics.services.pr_export import legacy, optimized
from apps.metrics.services.pr_export.formatting import EXPORT_HEADER, csv_line_writer, export_header, format_export_row
from apps.metrics.services.pr_list import PRFilters
from apps.teams.models import Team
from shadow import EvidenceNeeds, pair, register_type

__all__ = ["EXPORT_HEADER", "export_header", "format_export_row", "iter_pr_export_rows", "stream_pr_export_csv"]

# Stored comparison records show the filters of the call, not just "<PRFilters>".
register_type(PRFilters)


def _export_examples(team: Team) -> list[dict]:
    """What `rollout verify` compares: the unfiltered export of the team's PRs."""
    return [{"filters": PRFilters()}]


# Both sides write Created At and Merged At in the team's zone to the second, as the PR list
# page shows them (a declared change of both sides: they were UTC ISO 8601 with microseconds).
iter_pr_export_rows = pair(
    "metrics.pr_export",
    legacy=legacy.iter_pr_export_rows,
    optimized=optimized.iter_pr_export_rows,
    stream=True,
    description="CSV export lines: written by PostgreSQL in one query read in chunks, instead of 1 + 1 per PR formatted in Python.",
    examples=_export_examples,
    explore=exploration.export_filters,
    # Any filter set counts; the settings' comparisons and window.
    evidence=EvidenceNeeds(min_argument_sets=1),
)


def stream_pr_export_csv(*, team: Team, filters: PRFilters) -> Iterator[str]:
    """Yield the CSV text: the header line, then the pair's line for each exported PR (CRLF line ends, RFC 4180 quoting).

    The header names the team's zone in the timestamp columns ("Merged At (Europe/Berlin)").
    Meant for StreamingHttpResponse: lines are produced as the response is sent.
    """
    yield csv_line_writer()(export_header(zone_name=team.timezone))
    yield from iter_pr_export_rows(team=team, filters=filters)
