"""PR CSV export lines, reference implementation.

Reads each PR's author lazily: one extra query per PR that has an author (the
N+1 the optimized twin removes). Cells are formatted and written by Python
(formatting.py): the definition the optimized twin's SQL is held to.
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.metrics.services.pr_export.formatting import csv_line_writer, format_export_row
from apps.metrics.services.pr_list import PRFilters, filter_pull_requests
from apps.teams.models import Team


def iter_pr_export_rows(*, team: Team, filters: PRFilters) -> Iterator[str]:
    """Yield the CSV line of each PR of filter_pull_requests (all of them, same order), without the header.

    A line is what Python's csv.writer writes for format_export_row's cells,
    CRLF included, times in the team's zone. A PR without author gets an empty Author cell.
    """
    write_line = csv_line_writer()
    zone = team.tzinfo
    for pr in filter_pull_requests(team=team, filters=filters):
        author = pr.author
        yield write_line(format_export_row(pr=pr, author_name=author.display_name if author else None, zone=zone))
