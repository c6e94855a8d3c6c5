"""One contract test base for every legacy/optimized pair, like Django's SessionTestsMixin for session backends.

A pair's contract suite is a class that subclasses `PairContract` and declares
what is particular to its pair; the checks every pair owes (registration,
examples, agreement on demo data, exact query counts on both sides) then come
from here, written once. The suite's own behaviour tests are methods of the
same class that take the `side` fixture, so each runs once per side.

    class TestTeamBreakdownContract(PairContract):
        pair_name = "metrics.team_breakdown"
        entry_point = dashboard.get_team_breakdown
        sides = (legacy.get_team_breakdown, optimized.get_team_breakdown)
        signature = "(*, team: 'Team', start_date: 'dt.date', end_date: 'dt.date') -> 'list[dict]'"

        demo_cases = {"last-week": {"start_date": dt.date(2026, 11, 14), "end_date": dt.date(2026, 11, 20)}}

        call_kwargs = {"start_date": START, "end_date": END}
        queries = {"legacy": {5: 26, 50: 251}, "optimized": {5: 1, 50: 1}}

        def build(self, team, size):
            authors_with_prs(team, size)

        def test_empty_team(self, team, side):
            assert side(team=team, start_date=START, end_date=END) == []

The base is named without a "Test" prefix, so pytest collects its tests only
through the suites that subclass it. Its parametrized tests (demo cases, query
sizes) are generated from the subclass's declarations by the class's own
`pytest_generate_tests`, which pytest calls for every test function of a
collected class.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.core.management import call_command

import shadow
from apps.teams.models import Team
from shadow import pairs as registry
from shadow.checks import signature_problems

SIDES = ("legacy", "optimized")

# The seeded demo history (tformance's seed_demo): small but varied enough (UTC and Berlin teams,
# null authors, inactive members, bots, weekend usage), and fixed in time by --end-date.
DEMO_SEED = ["--teams", "2", "--members", "12", "--prs", "300", "--days", "30", "--end-date", "2026-11-20"]
DEMO_SLUGS = ["demo-1", "demo-2"]


def _case_id(value: Any) -> str:
    """A readable test id for a query size: 5 -> "5", (3, 1) -> "3x1"."""
    if isinstance(value, tuple):
        return "x".join(str(part) for part in value)
    return str(value)


class PairContract:
    """What every pair owes, checked on both sides; subclass it once per pair.

    Declarations (class attributes and methods a subclass provides):

    pair_name      the registered name, e.g. "metrics.team_breakdown".
    entry_point    what callers import, e.g. dashboard.get_team_breakdown: it must be the pair.
    sides          (legacy function, optimized function) as defined in legacy.py and optimized.py.
    signature      optional: the exact signature string of the sides.
    demo_cases     {test id: case}: argument sets compared on the seeded demo teams. By default a
                   case is the call's keyword arguments; override `demo_kwargs` when they depend on
                   the team (e.g. records rebuilt from the team's seeded rows).
    call_kwargs    keyword arguments (besides team) of the measured calls.
    queries        {"legacy": {size: n}, "optimized": {size: n}}: exact queries of one call.
    rerun_queries  optional, same shape: exact queries of a second, identical call (write pairs
                   updating the rows they just created, a cache hit).
    build          build(team, size): create the data of a measured call; may return keyword
                   arguments that depend on that data (e.g. the report records), added to call_kwargs.

    Hooks with defaults: `call` (a stream side is consumed into a list), `demo_kwargs`,
    `check_demo_comparisons` and `check_measured_results` (extra assertions of a suite),
    `build_for_examples` (data a pair's examples need).
    """

    pair_name: ClassVar[str]
    entry_point: ClassVar[Any]
    # A tuple, so the functions are never turned into bound methods of the test class.
    sides: ClassVar[tuple[Callable[..., Any], Callable[..., Any]]]
    signature: ClassVar[str | None] = None
    demo_cases: ClassVar[dict[str, Any]] = {}
    call_kwargs: ClassVar[dict[str, Any]] = {}
    queries: ClassVar[dict[str, dict[Any, int]]] = {}
    rerun_queries: ClassVar[dict[str, dict[Any, int]] | None] = None

    def pair(self) -> shadow.Pair[Any, Any]:
        """The registered pair, looked up by name as the rest of the product does."""
        return registry.get(self.pair_name)

    # --- hooks a suite may override ---------------------------------------------------------

    def build(self, team: Any, size: Any) -> dict[str, Any] | None:
        """Create the data of a measured call of the given size for `team`."""
        raise NotImplementedError(f"{type(self).__name__} declares queries but no build(team, size)")

    def call(self, function: Callable[..., Any], **kwargs: Any) -> Any:
        """Call one side and return its result; a stream side is consumed, so its queries all happen here."""
        result = function(**kwargs)
        return list(result) if self.pair().stream else result

    def demo_kwargs(self, team: Any, case: Any) -> dict[str, Any]:
        """The keyword arguments (besides team) of a demo case for one demo team."""
        return dict(case)

    def check_demo_comparisons(self, comparisons: list[Any]) -> None:
        """Extra assertions on the demo comparisons (one per demo team), e.g. each side's queries."""

    def check_measured_results(self, team: Any, size: Any, results: list[Any]) -> None:
        """Extra assertions on what the measured calls returned (the first call, then the rerun if any).

        So that an exact count is never met by a call that silently did less, e.g. returned no rows.
        """

    def build_for_examples(self, team: Any) -> None:
        """Create the data the pair's examples need for `team` (none for most pairs)."""

    # --- fixtures ---------------------------------------------------------------------------

    @pytest.fixture(params=SIDES)
    def side(self, request: pytest.FixtureRequest) -> Callable[..., Any]:
        """One side of the registered pair, called directly (no flag, no shadow run): every behaviour test runs twice."""
        return self.pair().side(request.param)

    @pytest.fixture
    def demo_teams(self, db: None, settings: Any) -> list[Any]:
        """The seeded demo teams, by slug.

        The shadow time budget is raised so a loaded test machine cannot turn a
        slow legacy side into a timeout instead of a comparison.
        """
        settings.SHADOW_TIME_BUDGET_MS = 120_000
        call_command("seed_demo", *DEMO_SEED, stdout=io.StringIO())
        return list(Team.objects.filter(slug__startswith="demo-").order_by("slug"))

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Parametrize the base's tests from this suite's declarations: one test per demo case, side and size."""
        if "demo_case" in metafunc.fixturenames:
            metafunc.parametrize("demo_case", list(self.demo_cases.values()), ids=list(self.demo_cases))
        if "query_side" in metafunc.fixturenames:
            # Loud at collection rather than a silently skipped or one-sided measurement.
            sizes = {side: list(self.queries.get(side, {})) for side in SIDES}
            if len(sizes["legacy"]) != 2 or sizes["legacy"] != sizes["optimized"]:
                raise ValueError(f"{type(self).__name__}.queries must give both sides' counts at the same two sizes")
            runs = [(side, size) for side in SIDES for size in sizes[side]]
            metafunc.parametrize(("query_side", "query_size"), runs, ids=[f"{side}-{_case_id(size)}" for side, size in runs])

    # --- the checks every pair owes -----------------------------------------------------------

    def test_entry_point_is_the_registered_pair(self) -> None:
        """Callers import the entry point: it must be the pair, with the functions of legacy.py and optimized.py as sides.

        Both sides must share one keyword-only signature with `team`, or the pair could not swap them.
        """
        pair = self.pair()

        assert self.entry_point is pair
        assert (pair.legacy, pair.optimized) == self.sides
        assert signature_problems(pair) == []
        if self.signature is not None:
            assert str(inspect.signature(pair.optimized)) == self.signature

    @pytest.mark.django_db
    def test_examples_are_keyword_sets_the_pair_accepts(self, team: Any) -> None:
        """`rollout verify` calls the pair with each example: each must be a dict of its parameters besides team.

        Every parameter without a default must be given; parameters with a default may be left out.
        """
        self.build_for_examples(team)
        parameters = inspect.signature(self.pair().legacy).parameters
        accepted = set(parameters) - {"team"}
        required = {name for name in accepted if parameters[name].default is inspect.Parameter.empty}

        examples = self.pair().examples(team)

        assert isinstance(examples, list)
        assert examples != []
        for example in examples:
            assert isinstance(example, dict)
            assert required <= set(example) <= accepted, sorted(example)

    @pytest.mark.django_db
    def test_shadow_comparison_matches_on_demo_data(self, demo_teams: list[Any], demo_case: Any) -> None:
        """On the seeded demo history both sides agree, on every demo team: outcome "match", empty diff."""
        comparisons = [
            shadow.compare(self.pair_name, team=team, **self.demo_kwargs(team, demo_case)) for team in demo_teams
        ]

        assert [(comparison.team_slug, comparison.outcome, comparison.diff) for comparison in comparisons] == [
            (slug, "match", []) for slug in DEMO_SLUGS
        ]
        self.check_demo_comparisons(comparisons)

    @pytest.mark.django_db
    def test_query_count(self, team: Any, django_assert_num_queries: Any, query_side: str, query_size: Any) -> None:
        """Each side issues exactly the declared number of queries at two data sizes.

        Two sizes show whether a side's count is constant or grows with the data (the legacy N+1).
        """
        kwargs = {**self.call_kwargs, **(self.build(team, query_size) or {})}
        function = self.pair().side(query_side)

        with django_assert_num_queries(self.queries[query_side][query_size]):
            results = [self.call(function, team=team, **kwargs)]
        if self.rerun_queries is not None:
            with django_assert_num_queries(self.rerun_queries[query_side][query_size]):
                results.append(self.call(function, team=team, **kwargs))

        self.check_measured_results(team, query_size, results)
