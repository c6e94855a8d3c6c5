"""PR CSV export rows, reference implementation.

Reads each PR's author lazily: one extra query per PR that has an author (the
N+1 the optimized twin removes).
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.metrics.services.pr_export.formatting import format_export_row
from apps.metrics.services.pr_list import PRFilters, filter_pull_requests
from apps.teams.models import Team


def iter_pr_export_rows(*, team: Team, filters: PRFilters) -> Iterator[list[str]]:
    """Yield one formatted row per PR of filter_pull_requests (all of them, same order), without the header.

    A PR without author gets an empty Author cell.
    """
    for pr in filter_pull_requests(team=team, filters=filters):
        author = pr.author
        yield format_export_row(pr=pr, author_name=author.display_name if author else None)
