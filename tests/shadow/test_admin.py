"""The shadow admin: editable sampling rates that apply at once, read-only evidence and records, staff only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from flags.models import FlagAudit
from shadow import sampling
from shadow.models import MS_BUCKETS, DailyEvidence, SamplingRate, ShadowRecord
from tests.factories import DailyEvidenceFactory, SamplingRateFactory, ShadowRecordFactory, UserFactory

pytestmark = pytest.mark.django_db

PAIR = "test.pair"


def legacy(*, team):
    return 1


def optimized(*, team):
    return 1


@pytest.fixture
def pair(make_pair, settings):
    settings.SHADOW_DEFAULT_RATE = 0.01
    return make_pair(PAIR, legacy=legacy, optimized=optimized)


def url(model: str, view: str, *args) -> str:
    return reverse(f"admin:shadow_{model}_{view}", args=args)


def rate_entries() -> list[tuple]:
    """(scope, before, after, actor, reason) of the pair's audit entries, oldest first."""
    return [
        (entry.scope, entry.before, entry.after, entry.actor, entry.reason)
        for entry in FlagAudit.objects.filter(flag_name=PAIR).order_by("created_at", "id")
    ]


# --- sampling rates ---------------------------------------------------------------------------


def test_adding_a_rate_records_the_user_and_applies_at_once(admin_client, pair, team):
    """A rate added in the admin is stored with updated_by "user:<name>", audited, and the warm cache sees it at once."""
    assert sampling.rate_for(PAIR, team) == 0.01

    response = admin_client.post(url("samplingrate", "add"), {"pair_name": PAIR, "team": team.pk, "rate": "0.5"})

    assert response.status_code == 302
    assert list(SamplingRate.objects.values_list("pair_name", "team", "rate", "updated_by")) == [
        (PAIR, team.pk, Decimal("0.5000"), "user:admin")
    ]
    assert rate_entries() == [("acme", "sampling default", "sampling 0.5", "user:admin", "changed in the admin")]
    assert sampling.rate_for(PAIR, team) == 0.5


def test_changing_a_rate_records_the_user_and_applies_at_once(admin_client, pair, team, other_team):
    """Editing the all-teams rate: the new value for every team without its own, attributed to the editor and audited."""
    row = SamplingRateFactory(pair_name=PAIR, team=None, rate=Decimal("0.2"))
    assert sampling.rate_for(PAIR, other_team) == 0.2

    response = admin_client.post(url("samplingrate", "change", row.pk), {"pair_name": PAIR, "team": "", "rate": "0.05"})

    row.refresh_from_db()
    assert response.status_code == 302
    assert (row.rate, row.updated_by) == (Decimal("0.0500"), "user:admin")
    assert rate_entries() == [("all", "sampling 0.2", "sampling 0.05", "user:admin", "changed in the admin")]
    assert sampling.rate_for(PAIR, other_team) == 0.05


def test_moving_a_rate_to_another_team_audits_both_scopes(admin_client, pair, team, other_team):
    """The row now speaks for another team: the old team lost its rate, the new one gained it."""
    row = SamplingRateFactory(pair_name=PAIR, team=team, rate=Decimal("0.3"))

    admin_client.post(url("samplingrate", "change", row.pk), {"pair_name": PAIR, "team": other_team.pk, "rate": "0.3"})

    assert rate_entries() == [
        ("acme", "sampling 0.3", "sampling default", "user:admin", "changed in the admin"),
        ("globex", "sampling default", "sampling 0.3", "user:admin", "changed in the admin"),
    ]


def test_deleting_a_rate_falls_back_at_once(admin_client, pair, team):
    """Deleting the team's rate: the default applies from the next call; the deletion is audited."""
    row = SamplingRateFactory(pair_name=PAIR, team=team, rate=Decimal("1"))
    assert sampling.rate_for(PAIR, team) == 1.0

    response = admin_client.post(url("samplingrate", "delete", row.pk), {"post": "yes"})

    assert response.status_code == 302
    assert rate_entries() == [("acme", "sampling 1", "sampling default", "user:admin", "changed in the admin")]
    assert sampling.rate_for(PAIR, team) == 0.01


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"pair_name": "no.such.pair", "rate": "0.5"}, "Select a valid choice."),
        ({"pair_name": PAIR, "rate": "1.5"}, "Ensure this value is less than or equal to 1."),
        ({"pair_name": PAIR, "rate": "-0.1"}, "Ensure this value is greater than or equal to 0."),
    ],
)
def test_an_unregistered_pair_or_a_rate_outside_0_to_1_is_refused(admin_client, pair, data, error):
    """The form offers registered pairs only and keeps the rate within 0 to 1."""
    response = admin_client.post(url("samplingrate", "add"), {"team": "", **data})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert SamplingRate.objects.count() == 0
    assert FlagAudit.objects.count() == 0


# --- read-only evidence and records -----------------------------------------------------------


@pytest.fixture
def evidence(pair, team) -> DailyEvidence:
    legacy_ms = [0] * (len(MS_BUCKETS) + 1)
    legacy_ms[MS_BUCKETS.index(20)] = 2
    optimized_ms = [0] * (len(MS_BUCKETS) + 1)
    optimized_ms[MS_BUCKETS.index(2)] = 2
    return DailyEvidenceFactory(
        pair_name=PAIR, team=team, runs=3, matches=2, mismatches=1,
        legacy_ms_histogram=legacy_ms, optimized_ms_histogram=optimized_ms,
    )


@pytest.fixture
def record(pair, team) -> ShadowRecord:
    return ShadowRecordFactory(pair_name=PAIR, team=team, error="")


def test_evidence_is_listed_with_its_medians(admin_client, evidence):
    """The list shows the counts and p50 ms legacy → optimized."""
    page = admin_client.get(url("dailyevidence", "changelist")).content.decode()

    assert '<td class="field-p50_ms">20 → 2</td>' in page
    assert '<td class="field-mismatches">1</td>' in page


@pytest.mark.parametrize("model", ["dailyevidence", "shadowrecord"])
def test_evidence_and_records_cannot_be_added(admin_client, evidence, record, model):
    """No add page, even for a superuser."""
    assert admin_client.get(url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", ["dailyevidence", "shadowrecord"])
def test_evidence_and_records_cannot_be_changed(admin_client, evidence, record, model):
    """The change page is read-only (no save button) and a POST is refused."""
    pk = {"dailyevidence": evidence.pk, "shadowrecord": record.pk}[model]

    page = admin_client.get(url(model, "change", pk))
    posted = admin_client.post(url(model, "change", pk), {"runs": "99", "outcome": "error"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403
    assert (DailyEvidence.objects.get().runs, ShadowRecord.objects.get().outcome) == (3, "mismatch")


@pytest.mark.parametrize("model", ["dailyevidence", "shadowrecord"])
def test_evidence_and_records_cannot_be_deleted(admin_client, evidence, record, model):
    """No delete page, and the changelist offers no actions (so no bulk delete)."""
    pk = {"dailyevidence": evidence.pk, "shadowrecord": record.pk}[model]

    assert admin_client.post(url(model, "delete", pk), {"post": "yes"}).status_code == 403
    assert admin_client.get(url(model, "changelist")).context["action_form"] is None
    assert (DailyEvidence.objects.count(), ShadowRecord.objects.count()) == (1, 1)


def test_a_record_shows_its_unredacted_differences(admin_client, record):
    """Staff see the full difference lines, personal values included; a row stored before the sides were kept
    shows its line across both columns."""
    page = admin_client.get(url("shadowrecord", "change", record.pk)).content.decode()

    assert (
        '<tr><td><code>[0].title</code></td>'
        '<td colspan="2"><code>[0].title: &quot;Fix login&quot; != &quot;Fix logout&quot;</code></td></tr>'
    ) in page


def test_a_record_page_is_titled_and_shows_both_sides_the_arguments_and_the_replay_command(admin_client, pair, team):
    """The title names the pair and the team's slug; each difference is a row under Legacy | Optimized; the
    arguments read as words, by name (no codec markers); the command that replays the call is shown."""
    record = ShadowRecordFactory(
        pair_name=PAIR, team=team, error="",
        diff=[{
            "path": "[3].avg_cycle_time", "line": "[3].avg_cycle_time: 12.50 != 12.51",
            "redacted": "[3].avg_cycle_time: 12.50 != 12.51", "legacy": "12.50", "optimized": "12.51",
            "legacy_redacted": "12.50", "optimized_redacted": "12.51",
        }],
        call_arguments={"team_id": team.pk, "start": {"__date__": "2024-05-01"}, "limit": 10},
    )

    page = admin_client.get(url("shadowrecord", "change", record.pk)).content.decode()

    assert "<h1>Mismatch in test.pair for acme</h1>" in page
    assert "<thead><tr><th>Path</th><th>Legacy</th><th>Optimized</th></tr></thead>" in page
    assert "<tr><td><code>[3].avg_cycle_time</code></td><td><code>12.50</code></td><td><code>12.51</code></td></tr>" in page
    assert "<code>limit=10, start=2024-05-01</code>" in page
    assert "__date__" not in page
    assert f"<code>python manage.py rollout verify test.pair --record {record.pk}</code>" in page


def test_a_stale_cache_record_labels_its_sides_cached_and_fresh(admin_client, pair, team):
    record = ShadowRecordFactory(
        pair_name=PAIR, team=team, outcome=ShadowRecord.Outcome.STALE_CACHE,
        diff=[{
            "path": "", "line": "cached vs fresh: <root>: 10 != 12", "redacted": "cached vs fresh: <root>: 10 != 12",
            "legacy": "10", "optimized": "12", "legacy_redacted": "10", "optimized_redacted": "12",
        }],
    )

    page = admin_client.get(url("shadowrecord", "change", record.pk)).content.decode()

    assert "<thead><tr><th>Path</th><th>Cached</th><th>Fresh</th></tr></thead>" in page
    assert "<tr><td><code>&lt;root&gt;</code></td><td><code>10</code></td><td><code>12</code></td></tr>" in page


def test_the_record_list_selects_each_team_with_its_record(admin_client, pair, team, other_team):
    """The list names each record's team without a query per row."""
    ShadowRecordFactory.create_batch(3, pair_name=PAIR, team=team)
    ShadowRecordFactory.create_batch(3, pair_name=PAIR, team=other_team)
    admin_client.get(url("shadowrecord", "changelist"))

    with CaptureQueriesContext(connection) as few:
        admin_client.get(url("shadowrecord", "changelist"))
    ShadowRecordFactory.create_batch(6, pair_name=PAIR, team=other_team)
    with CaptureQueriesContext(connection) as more:
        admin_client.get(url("shadowrecord", "changelist"))

    assert len(more.captured_queries) == len(few.captured_queries)


# --- staff only -------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["samplingrate", "dailyevidence", "shadowrecord"])
def test_a_logged_in_non_staff_user_is_sent_to_the_admin_login(client, record, model):
    """A member without is_staff is redirected to the admin's login page and sees no data."""
    client.force_login(UserFactory(username="member", is_staff=False))

    response = client.get(url(model, "changelist"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={url(model, 'changelist')}"


def test_an_anonymous_visitor_is_sent_to_the_admin_login(client, record):
    """Not logged in: redirected to the admin's login page."""
    response = client.get(url("shadowrecord", "change", record.pk))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
