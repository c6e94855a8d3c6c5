"""PR CSV export: the entry point the rest of the app imports from.

For now `iter_pr_export_rows` is the legacy implementation. The rollout later
wraps that name as the legacy/optimized pair `metrics.pr_export`;
`stream_pr_export_csv` looks it up at call time, so it follows the wrap.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

from apps.metrics.services.pr_export.formatting import EXPORT_HEADER, format_export_row
from apps.metrics.services.pr_export.legacy import iter_pr_export_rows
from apps.metrics.services.pr_list import PRFilters
from apps.teams.models import Team

__all__ = ["EXPORT_HEADER", "format_export_row", "iter_pr_export_rows", "stream_pr_export_csv"]


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
