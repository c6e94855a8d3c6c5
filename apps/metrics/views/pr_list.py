"""The PR list page (filters, 50 rows a page) and its CSV export with the same filters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.metrics.services.pr_export import stream_pr_export_csv
from apps.metrics.services.pr_list import PRFilterForm, get_pr_page
from apps.teams.access import team_view


def page_query(filter_query: str, page_number: int) -> str:
    """The query string of another page of the same filtered list."""
    return f"{filter_query}&page={page_number}" if filter_query else f"page={page_number}"


@team_view
def pr_list(request: HttpRequest) -> HttpResponse:
    """GET /app/<slug>/prs/?<filters>&page=N: the team's PRs matching the filters, newest merge first.

    Invalid filters give 400 with the form and its errors, and no rows.
    A page number past the end shows the last page; a non-number the first.
    """
    team = request.team
    form = PRFilterForm(request.GET, team=team)
    if not form.is_valid():
        return render(request, "metrics/pr_list.html", {"team": team, "form": form, "page": None}, status=400)

    filters = form.to_filters()
    filter_query = filters.as_query_dict().urlencode()
    page = get_pr_page(team=team, filters=filters, page_number=request.GET.get("page"))
    context = {
        "team": team,
        "form": form,
        "page": page,
        "filter_query": filter_query,
        "previous_query": page_query(filter_query, page["number"] - 1) if page["has_previous"] else "",
        "next_query": page_query(filter_query, page["number"] + 1) if page["has_next"] else "",
    }
    return render(request, "metrics/pr_list.html", context)


def error_lines(errors: ErrorDict) -> list[str]:
    """Form errors as "field: message" lines ("filters: …" for errors not tied to one field)."""
    return [
        f"{'filters' if field == '__all__' else field}: {message}"
        for field, messages in errors.items()
        for message in messages
    ]


# The export is sent in pieces of at least this many characters: one write to the client per piece, not per PR.
EXPORT_PIECE_CHARS = 64 * 1024


def in_pieces(lines: Iterable[str], size: int = EXPORT_PIECE_CHARS) -> Iterator[str]:
    """The same text in the same order, joined into pieces of at least `size` characters (the last may be shorter)."""
    iterator = iter(lines)
    try:
        piece: list[str] = []
        length = 0
        for line in iterator:
            piece.append(line)
            length += len(line)
            if length >= size:
                yield "".join(piece)
                piece, length = [], 0
        if piece:
            yield "".join(piece)
    finally:
        # A client that goes away closes this generator: the export's cursor is released now.
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


@team_view
def pr_export_csv(request: HttpRequest) -> HttpResponse:
    """GET /app/<slug>/prs/export.csv?<filters>: every matching PR as a streamed CSV attachment.

    The file is named "<slug>-pull-requests-<today in the team's zone>.csv".
    Invalid filters give 400 text/plain listing the errors.
    """
    team = request.team
    form = PRFilterForm(request.GET, team=team)
    if not form.is_valid():
        body = "Invalid filters:\n" + "\n".join(error_lines(form.errors)) + "\n"
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")

    response = StreamingHttpResponse(
        in_pieces(stream_pr_export_csv(team=team, filters=form.to_filters())),
        content_type="text/csv; charset=utf-8",
    )
    today = timezone.localdate(timezone=team.tzinfo)
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-pull-requests-{today.isoformat()}.csv"'
    return response
