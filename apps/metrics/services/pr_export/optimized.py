"""PR CSV export rows, optimized twin of legacy.py.

The author comes in the same query (select_related), and rows are read from
a server-side cursor in chunks (`.iterator(chunk_size=…)`), so an export of
any size costs one query and holds at most one chunk of PRs in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.metrics.services.pr_export.formatting import format_export_row
from apps.metrics.services.pr_list import PRFilters, filter_pull_requests
from apps.teams.models import Team

# PRs fetched per round trip: large enough that round trips do not dominate, small enough to bound memory.
CHUNK_SIZE = 2000

# What formatting.format_export_row reads, and nothing else (the body can be long): less to transfer
# and to build per row. A column added to the formatter must be added here, or every row would load
# it with a query of its own; the constant-query contract test catches that.
EXPORTED_FIELDS = (
    "title", "github_repo", "github_pr_id", "state", "cycle_time_hours", "review_time_hours", "additions",
    "deletions", "review_rounds", "total_comments", "is_ai_assisted", "ai_tools_detected", "jira_key",
    "pr_created_at", "merged_at", "author__display_name",
)


def iter_pr_export_rows(*, team: Team, filters: PRFilters) -> Iterator[list[str]]:
    """Yield one formatted row per PR of filter_pull_requests (all of them, same order), without the header.

    A PR without author gets an empty Author cell. One query whatever the number of PRs.
    """
    prs = filter_pull_requests(team=team, filters=filters).select_related("author").only(*EXPORTED_FIELDS)
    for pr in prs.iterator(chunk_size=CHUNK_SIZE):
        author = pr.author
        yield format_export_row(pr=pr, author_name=author.display_name if author else None)
