"""Validation of raw report records into CopilotUsageRecord, with clear problem messages."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.integrations.github.copilot_report import InvalidLine
from apps.integrations.services.copilot_sync.records import CopilotUsageRecord, parse_usage_records

DAY = dt.date(2025, 10, 1)


def usage(login="octocat", day="2025-10-01", shown=12, accepted=4, **extra) -> dict:
    return {
        "user_login": login,
        "day": day,
        "code_generation_activity_count": shown,
        "code_acceptance_activity_count": accepted,
        **extra,
    }


def without(record: dict, field: str) -> dict:
    return {key: value for key, value in record.items() if key != field}


def test_a_valid_record_keeps_login_day_and_both_counts():
    """Extra fields (per-IDE totals, line counts) are ignored."""
    raw = usage("octocat", shown=12, accepted=4, loc_added_sum=8, totals_by_ide=[{"ide": "vscode"}])

    assert parse_usage_records([raw]) == ([CopilotUsageRecord(login="octocat", day=DAY, shown=12, accepted=4)], [])


def test_accepted_may_exceed_shown():
    """GitHub counts activities; more acceptances than generations is valid data."""
    assert parse_usage_records([usage(shown=4, accepted=9)]) == (
        [CopilotUsageRecord(login="octocat", day=DAY, shown=4, accepted=9)],
        [],
    )


def test_counts_at_the_integer_limit_are_valid():
    """2^31-1 is the largest count a PostgreSQL integer column holds."""
    assert parse_usage_records([usage(shown=2147483647, accepted=2147483647)]) == (
        [CopilotUsageRecord(login="octocat", day=DAY, shown=2147483647, accepted=2147483647)],
        [],
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (InvalidLine(file_number=2, line_number=7), "record 1: line 7 of file 2 is not valid JSON"),
        (["octocat", 12, 4], "record 1: expected a JSON object, got array"),
        ("octocat", "record 1: expected a JSON object, got string"),
        (without(usage(), "user_login"), "record 1: user_login is missing"),
        (usage(login=None), "record 1: user_login is missing"),
        (usage(login="   "), "record 1: user_login is blank"),
        (usage(login=583231), "record 1: user_login must be a string, got integer"),
        (without(usage(), "day"), "record 1: day is missing"),
        (usage(day="01/10/2025"), "record 1: day must be a date string (YYYY-MM-DD), got a string in another format"),
        (usage(day="20251001"), "record 1: day must be a date string (YYYY-MM-DD), got a string in another format"),
        (usage(day="2025-02-30"), "record 1: day must be a date string (YYYY-MM-DD), got a string in another format"),
        (usage(day=20251001), "record 1: day must be a date string (YYYY-MM-DD), got integer"),
        (
            without(usage(), "code_generation_activity_count"),
            "record 1: code_generation_activity_count is missing",
        ),
        (usage(shown="abc"), "record 1: code_generation_activity_count must be a non-negative integer, got string"),
        (usage(shown="12"), "record 1: code_generation_activity_count must be a non-negative integer, got string"),
        (usage(shown=12.5), "record 1: code_generation_activity_count must be a non-negative integer, got number"),
        (usage(shown=True), "record 1: code_generation_activity_count must be a non-negative integer, got boolean"),
        (
            usage(shown=-1),
            "record 1: code_generation_activity_count must be a non-negative integer, got a negative integer",
        ),
        (
            usage(shown=2147483648),
            "record 1: code_generation_activity_count must be a non-negative integer, "
            "got an integer above 2147483647",
        ),
        (
            usage(accepted=None),
            "record 1: code_acceptance_activity_count is missing",
        ),
        (
            usage(accepted=[4]),
            "record 1: code_acceptance_activity_count must be a non-negative integer, got array",
        ),
        (
            usage(shown=1, accepted=11),
            "record 1: acceptance rate above 999.99 % "
            "(code_acceptance_activity_count vs code_generation_activity_count), too high to store",
        ),
    ],
)
def test_a_malformed_record_is_rejected_with_its_number_and_field(raw, problem):
    """Each malformed record yields one message naming the record and the field, and no record."""
    assert parse_usage_records([raw]) == ([], [problem])


def test_problem_messages_never_echo_values_from_the_record():
    """A bad record's login and bad value stay out of the message: only number, field and type."""
    valid, problems = parse_usage_records([usage(login="jane.doe.private", shown="jane@example.com")])

    assert valid == []
    assert problems == ["record 1: code_generation_activity_count must be a non-negative integer, got string"]


def test_malformed_records_do_not_hide_valid_ones_and_numbers_follow_report_order():
    """Valid records around bad ones are kept; records are numbered from 1 in report order."""
    raw = [
        usage("octocat", shown=10, accepted=5),
        usage("hubot", shown="abc"),
        InvalidLine(file_number=1, line_number=3),
        usage("monalisa", shown=0, accepted=0),
    ]

    assert parse_usage_records(raw) == (
        [
            CopilotUsageRecord(login="octocat", day=DAY, shown=10, accepted=5),
            CopilotUsageRecord(login="monalisa", day=DAY, shown=0, accepted=0),
        ],
        [
            "record 2: code_generation_activity_count must be a non-negative integer, got string",
            "record 3: line 3 of file 1 is not valid JSON",
        ],
    )


def test_a_repeated_login_and_day_keeps_the_first_record():
    """Two records for one user and day would write one row twice; the later one is reported and skipped."""
    raw = [usage("octocat", shown=10, accepted=5), usage("hubot"), usage("octocat", shown=99, accepted=1)]

    assert parse_usage_records(raw) == (
        [
            CopilotUsageRecord(login="octocat", day=DAY, shown=10, accepted=5),
            CopilotUsageRecord(login="hubot", day=DAY, shown=12, accepted=4),
        ],
        ["record 3: same user_login and day as record 1, skipped"],
    )


def test_logins_are_kept_exactly_as_sent():
    """No case folding or trimming: "Octocat" and "octocat" are different logins."""
    valid, problems = parse_usage_records([usage("Octocat"), usage("octocat")])

    assert [record.login for record in valid] == ["Octocat", "octocat"]
    assert problems == []
