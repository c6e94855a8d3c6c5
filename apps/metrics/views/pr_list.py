"""The PR list page (filters, 50 rows a page) and its CSV export with the same filters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django import forms
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


# Sent first unless ?bom=0: spreadsheets (Excel on Windows) then read the file as UTF-8, not as the local code page.
BYTE_ORDER_MARK = "\ufeff"


class ExportOptionsForm(forms.Form):
    """The export's options besides the PR list's filters: bom=1 (the default) or bom=0, nothing else."""

    bom = forms.ChoiceField(
        choices=[("1", "with"), ("0", "without")],
        required=False,
        error_messages={
            "invalid_choice": "BOM must be 1 (a UTF-8 byte-order mark first, the default) or 0 (none), not “%(value)s”.",
            "required": "BOM must be 1 or 0, not empty.",
        },
    )

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        # Only an absent bom means the default; an empty one is refused like any other value.
        self.fields["bom"].required = "bom" in data

    def byte_order_mark(self) -> str:
        return "" if self.cleaned_data["bom"] == "0" else BYTE_ORDER_MARK


def with_byte_order_mark(mark: str, lines: Iterator[str]) -> Iterator[str]:
    """The mark (if any), then the lines; closing this closes the lines (the export's cursor)."""
    if mark:
        yield mark
    yield from lines


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

    The file is named "<slug>-pull-requests-<today in the team's zone>.csv"; it starts with a UTF-8
    byte-order mark unless bom=0. Invalid filters or options give 400 text/plain listing the errors.
    """
    team = request.team
    form = PRFilterForm(request.GET, team=team)
    options = ExportOptionsForm(request.GET)
    if not (form.is_valid() & options.is_valid()):
        body = "Invalid filters:\n" + "\n".join(error_lines(form.errors) + error_lines(options.errors)) + "\n"
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")

    # The mark belongs to the response, not to the pair's lines: both sides and their comparison stay as they are.
    text = with_byte_order_mark(options.byte_order_mark(), stream_pr_export_csv(team=team, filters=form.to_filters()))
    response = StreamingHttpResponse(in_pieces(text), content_type="text/csv; charset=utf-8")
    today = timezone.localdate(timezone=team.tzinfo)
    response["Content-Disposition"] = f'attachment; filename="{team.slug}-pull-requests-{today.isoformat()}.csv"'
    return response
