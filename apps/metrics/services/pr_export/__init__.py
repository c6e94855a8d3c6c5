"""PR CSV export: the entry point the rest of the app imports from.

`iter_pr_export_rows` is the legacy/optimized stream pair `metrics.pr_export`
(shadow.pair with stream=True): each side yields rows, a per-team
flag picks the side, and sampled calls compare the rows as they stream
(shadow/dispatch.py). `stream_pr_export_csv` turns the pair's rows into CSV.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from apps.metrics.services import exploration
from apps.metrics.services.pr_export import legacy, optimized
from apps.metrics.services.pr_export.formatting import EXPORT_HEADER, format_export_row
from apps.metrics.services.pr_list import PRFilters
from apps.teams.models import Team
from shadow import EvidenceNeeds, pair, register_type

__all__ = ["EXPORT_HEADER", "format_export_row", "iter_pr_export_rows", "stream_pr_export_csv"]

# Stored comparison records show the filters of the call, not just "<PRFilters>".
register_type(PRFilters)


def _export_examples(team: Team) -> list[dict]:
    """What `rollout verify` compares: the unfiltered export of the team's PRs."""
    return [{"filters": PRFilters()}]


# Doubt kept identical on both sides (the formatter is shared): Created At and
# Merged At are written in UTC, while the PR list page shows the team's time zone.
iter_pr_export_rows = pair(
    "metrics.pr_export",
    legacy=legacy.iter_pr_export_rows,
    optimized=optimized.iter_pr_export_rows,
    stream=True,
    description="CSV export rows: author joined in one query read in chunks, instead of 1 + 1 per PR held in memory.",
    examples=_export_examples,
    explore=exploration.export_filters,
    # Any filter set counts; the settings' comparisons and window.
    evidence=EvidenceNeeds(min_argument_sets=1),
)


class _Echo:
    """A file-like object whose write returns the text, so csv.writer produces lines to yield."""

    def write(self, value: str) -> str:
        return value


def stream_pr_export_csv(*, team: Team, filters: PRFilters) -> Iterator[str]:
    """Yield the CSV text: the header line, then one line per exported PR (CRLF line ends, RFC 4180 quoting).

    Meant for StreamingHttpResponse: rows are produced as the response is sent.
    """
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_HEADER)
    for row in iter_pr_export_rows(team=team, filters=filters):
        yield writer.writerow(row)
