"""The benchmark run: every pair's two sides, the SQL floors, the export, the dashboard page and the shadow cost.

Measurement rules, the same for every row:
- One warm-up call, then up to `size.reps` measured runs; a side stops once
  `size.side_budget_s` is spent, after at least one run. The runs actually
  made are reported with p50 and p95 (statistics.quantiles, inclusive), in ms.
- SQL queries are counted per run with shadow.measure.measured(), around the
  side's call only.
- Pair sides are called directly (pair.legacy / pair.optimized), never
  through the rollout or the shadow runner.
- Write pairs and write floors run inside a transaction (a savepoint when
  already in one) that is rolled back after each run, outside the
  measurement, so every run starts from the same rows.
- Cached optimized sides (every dashboard card) are measured cold (metrics
  cache cleared before each run) and, as `optimized_warm`, with the cache warm.
- Dashboard cards without a legacy twin (SERVICES) are measured alone, as
  served, cold and warm, their query counts including the data stamp's read.
- Pages are requested through django.test.Client as a logged-in team member.
  Shadow sampling is set to 0 for the measured team on every pair, except
  where the shadow cost is measured; flags and rates are restored at the end.
- The deferred shadow mode sends its comparisons through a real Redis broker
  to a real Celery worker process the bench starts and stops
  (bench/deferred.py); without a reachable Redis it is reported as skipped.
  It is measured twice: with the worker paused (SIGSTOP) while the requests
  are timed, so the figure is what publishing costs a request, and with the
  worker consuming meanwhile, which on a machine of few cores adds the CPU it
  takes from the requests.
Nothing here asserts a target: targets are evaluated and reported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import importlib
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import django
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client

from apps.integrations.services.copilot_sync import CopilotUsageRecord
from apps.metrics.cache import metrics_cache
from apps.metrics.models import TeamMember
from apps.metrics.services import dashboard as dashboard_services
from apps.metrics.services.ai_impact import get_ai_impact
from apps.metrics.services.common import monday_of
from apps.metrics.services.pr_list import PRFilters
from apps.teams.models import Membership, Team
from bench import deferred
from bench.datasets import Dataset, ensure_dataset
from bench.floors import FLOORS
from bench.sizes import Size
from flags.services import disable_for_teams, enable_for_teams
from shadow import pairs as pair_registry
from shadow.diff import compare
from shadow.measure import Measurement, measured
from shadow.models import SamplingRate
from shadow.pairs import Pair
from shadow.sampling import forget_rates, set_rate
from shadow.testing import force_side

logger = logging.getLogger(__name__)

ACTOR = "benchmark"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Range of the read pairs and floors: the dashboard's longest.
RANGE_DAYS = 90
EXPORT_PAIR = "metrics.pr_export"
RSS_SAMPLE_EVERY = 1000
# The cards paired last (issue: each at least 10x faster than legacy at L).
CARD_PAIRS = [
    "metrics.reviewer_workload", "metrics.cycle_time_trend", "metrics.review_time_trend", "metrics.ai_adoption_trend",
    "metrics.pr_size_distribution", "metrics.copilot_metrics", "metrics.recent_prs",
]
# Dashboard cards that are not pairs (no legacy twin): measured as served, cold and warm, without a floor.
SERVICES: dict[str, Callable[..., Any]] = {
    "metrics.ai_impact": get_ai_impact,
}
PAIR_MODULES = [
    "apps.integrations.services.copilot_sync",
    "apps.metrics.services.dashboard",
    "apps.metrics.services.pr_export",
    "apps.metrics.services.weekly_aggregation",
]


# --- timing ------------------------------------------------------------------------


def summarise(runs: list[Measurement]) -> dict[str, Any]:
    """p50, p95 and mean wall time in ms over the runs, their count, and the SQL queries of a run.

    queries is the last run's count; queries_min and queries_max are added only when runs differed.
    """
    walls = [run.wall_ms for run in runs]
    p95 = statistics.quantiles(walls, n=20, method="inclusive")[18] if len(walls) > 1 else walls[0]
    counts = [run.queries for run in runs]
    summary = {
        "p50_ms": round(statistics.median(walls), 3),
        "p95_ms": round(p95, 3),
        "mean_ms": round(statistics.fmean(walls), 3),
        "runs": len(runs),
        "queries": counts[-1],
    }
    if min(counts) != max(counts):
        summary.update(queries_min=min(counts), queries_max=max(counts))
    return summary


def timed(
    call: Callable[[], Any],
    *,
    reps: int,
    budget_s: float,
    before_each: Callable[[], None] | None = None,
    around: Callable[[], Any] = nullcontext,
    warmup: bool = True,
) -> tuple[dict[str, Any], Any]:
    """Warm up once, then measure `call` up to `reps` times within `budget_s` (at least once).

    before_each runs before every call, outside the measurement; `around()` is
    a context manager entered around each call, outside the measurement too.
    Returns the summary and the last run's value.
    """
    if warmup:
        if before_each:
            before_each()
        with around():
            call()
    runs: list[Measurement] = []
    value = None
    deadline = time.perf_counter() + budget_s
    while len(runs) < reps and (not runs or time.perf_counter() < deadline):
        if before_each:
            before_each()
        with around(), measured() as meter:
            value = call()
        runs.append(meter.measurement)
    return summarise(runs), value


@contextmanager
def rolled_back() -> Iterator[None]:
    """A transaction (or savepoint) that is always rolled back: the next run sees the same rows."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


def clear_metrics_cache() -> None:
    metrics_cache().clear()


def speedup(slow: dict, fast: dict) -> float | None:
    return round(slow["p50_ms"] / fast["p50_ms"], 2) if fast["p50_ms"] else None


# --- the run -------------------------------------------------------------------------


@dataclasses.dataclass
class Bench:
    size: Size
    dataset: Dataset
    client: Client
    results: dict

    @property
    def team(self) -> Team:
        return self.dataset.team

    def read_range(self) -> dict:
        end = self.dataset.end_date
        return {"start_date": end - dt.timedelta(days=RANGE_DAYS - 1), "end_date": end}

    def time(self, call: Callable[[], Any], **options: Any) -> tuple[dict, Any]:
        options.setdefault("reps", self.size.reps)
        options.setdefault("budget_s", self.size.side_budget_s)
        return timed(call, **options)


def run(size: Size, *, output_dir: Path | None = None, out: TextIO | None = None) -> tuple[dict, Path]:
    """Build or reuse the size's dataset, measure everything, write the JSON and print the table.

    Returns the results and the JSON file's path (<output_dir>/<YYYY-MM-DD>-<size>.json).
    """
    out = out or sys.stdout
    started = time.perf_counter()
    _import_pairs()
    dataset = ensure_dataset(size)
    print(
        f"dataset {size.name}: {'reused' if dataset.reused else 'built'} in {dataset.build_seconds} s, "
        f"{dataset.counts}",
        file=out,
        flush=True,
    )
    bench = Bench(size=size, dataset=dataset, client=_logged_in_client(dataset.team), results={})
    results = bench.results
    results.update(
        size=size.name,
        date=dt.date.today().isoformat(),
        machine=machine_info(),
        dataset={
            "team": dataset.team.slug,
            "end_date": dataset.end_date.isoformat(),
            "noise_teams": len(dataset.noise_teams),
            "reused": dataset.reused,
            "build_seconds": dataset.build_seconds,
            "rows": dataset.counts,
        },
        settings={"reps": size.reps, "side_budget_s": size.side_budget_s, "range_days": RANGE_DAYS},
    )
    with _benchmark_state(dataset.team):
        steps = (measure_pairs, measure_floors, measure_services, measure_export, measure_dashboard, measure_shadow_cost)
        for step in steps:
            step_started = time.perf_counter()
            step(bench)
            print(f"  {step.__name__}: {time.perf_counter() - step_started:.1f} s", file=out, flush=True)
    results["targets"] = evaluate_targets(results)
    results["total_seconds"] = round(time.perf_counter() - started, 1)

    output_dir = Path(output_dir or RESULTS_DIR)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{results['date']}-{size.name}.json"
    path.write_text(json.dumps(results, indent=2, default=_json_default) + "\n")
    print(format_table(results), file=out)
    print(f"\nwritten to {path}", file=out)
    return results, path


def _import_pairs() -> None:
    """Every module that registers a pair, so the registry is complete whatever was imported before."""
    for module in PAIR_MODULES:
        importlib.import_module(module)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"Cannot serialise {type(value).__name__}")


def _logged_in_client(team: Team) -> Client:
    user, _ = get_user_model().objects.get_or_create(username=f"{team.slug}-viewer")
    Membership.objects.get_or_create(user=user, team=team)
    # The test client's default host "testserver" is not in ALLOWED_HOSTS outside the test run.
    hosts = [host for host in settings.ALLOWED_HOSTS if host and "*" not in host and not host.startswith(".")]
    client = Client(HTTP_HOST=hosts[0] if hosts else "localhost")
    client.force_login(user)
    return client


def dashboard_pairs() -> dict[str, Pair]:
    """The pairs the dashboard view calls, by their attribute name in the services module it imports."""
    return {name: value for name, value in vars(dashboard_services).items() if isinstance(value, Pair)}


@contextmanager
def _benchmark_state(team: Team) -> Iterator[None]:
    """No sampling for the team on any pair, its dashboard flags off; afterwards flags off and team rates removed."""
    for pair in pair_registry.all():
        set_rate(pair_name=pair.name, rate=0, team=team, actor=ACTOR)
    set_dashboard_flags(team, on=False)
    try:
        yield
    finally:
        set_dashboard_flags(team, on=False)
        for pair in pair_registry.all():
            SamplingRate.objects.filter(pair_name=pair.name, team=team).delete()
            forget_rates(pair.name)


def set_dashboard_flags(team: Team, *, on: bool) -> None:
    for pair in dashboard_pairs().values():
        if on:
            enable_for_teams(name=pair.name, teams=[team], actor=ACTOR, reason="benchmark", force=True)
        else:
            disable_for_teams(name=pair.name, teams=[team], actor=ACTOR, reason="benchmark")


def set_dashboard_rates(team: Team, rate: float) -> None:
    for pair in dashboard_pairs().values():
        set_rate(pair_name=pair.name, rate=rate, team=team, actor=ACTOR)


# --- 2, 4: every pair, both sides --------------------------------------------------


def pair_kwargs(bench: Bench, pair: Pair) -> tuple[dict, str]:
    """The keyword arguments a pair is measured with (team excluded), and how they were chosen."""
    team, end = bench.team, bench.dataset.end_date
    if pair.name == "metrics.weekly_aggregation":
        week = monday_of(end) - dt.timedelta(days=7)
        members = TeamMember.objects.filter(team=team, is_active=True).count()
        return {"week_start": week}, f"the complete week of {week.isoformat()}, {members} active members"
    if pair.name == "integrations.copilot_sync":
        records = copilot_report(bench)
        return {"records": records}, (
            f"a report of {len({r.login for r in records})} users x {bench.size.sync_days} days "
            f"({len(records)} records) over existing and new rows"
        )
    if pair.name == EXPORT_PAIR:
        days = bench.size.export_pairs_days
        if days is None:
            return {"filters": PRFilters()}, "every PR of the team"
        start = end - dt.timedelta(days=days - 1)
        return {"filters": PRFilters(date_from=start)}, (
            f"PRs created in the last {days} days (subset: legacy costs a query per PR; the export section "
            "exports every PR)"
        )
    # The read pairs take a date range; the dashboard's longest, ending on the data's last day.
    return bench.read_range(), f"the last {RANGE_DAYS} days of data"


def copilot_report(bench: Bench) -> list[CopilotUsageRecord]:
    """Every member of the team x the last sync_days days, deterministic counts (a seeded generator)."""
    import random

    rng = random.Random(f"{bench.size.seed}:copilot-report")
    logins = list(
        TeamMember.objects.filter(team=bench.team).order_by("github_id").values_list("github_username", flat=True)
    )
    end = bench.dataset.end_date
    records = []
    for offset in range(bench.size.sync_days):
        day = end - dt.timedelta(days=offset)
        for login in logins:
            shown = rng.randint(0, 300)
            accepted = int(shown * rng.uniform(0.1, 0.5))
            records.append(CopilotUsageRecord(login=login, day=day, shown=shown, accepted=accepted))
    return records


def _side_call(pair: Pair, side: str, kwargs: dict) -> Callable[[], Any]:
    function = pair.legacy if side == "legacy" else pair.optimized
    if pair.stream:
        # The rows as a client consumes them: every one produced, in order.
        return lambda: list(function(**kwargs))
    return lambda: function(**kwargs)


def measure_pairs(bench: Bench) -> None:
    team = bench.team
    rows = {}
    for pair in pair_registry.all():
        kwargs, described = pair_kwargs(bench, pair)
        kwargs = {"team": team, **kwargs}
        around = rolled_back if pair.writes else nullcontext
        # Cached optimized sides (every dashboard card): cold runs start from an empty cache.
        before_each = clear_metrics_cache if pair.cache is not None else None
        legacy, legacy_value = bench.time(_side_call(pair, "legacy", kwargs), around=around)
        optimized, optimized_value = bench.time(
            _side_call(pair, "optimized", kwargs), around=around, before_each=before_each
        )
        row = {
            "pair": pair.name,
            "params": described,
            "writes": pair.writes,
            "legacy": legacy,
            "optimized": optimized,
            "speedup": speedup(legacy, optimized),
            "sides_equal": compare(legacy_value, optimized_value, pair.rules).matched,
        }
        if pair.cache is not None:
            clear_metrics_cache()
            row["optimized_warm"], _ = bench.time(_side_call(pair, "optimized", kwargs))
        if pair.name == "integrations.copilot_sync":
            # A one-day report of the same team: the optimized side's query count must not move with the size.
            one_day = [record for record in kwargs["records"] if record.day == bench.dataset.end_date]
            small, _ = timed(
                _side_call(pair, "optimized", {"team": team, "records": one_day}),
                reps=1, budget_s=0, around=rolled_back, warmup=False,
            )
            row["optimized_queries_one_day_report"] = small["queries"]
        row["_value"] = optimized_value
        rows[pair.name] = row
    bench.results["pairs"] = rows


# --- 3: the floors ---------------------------------------------------------------------


def measure_floors(bench: Bench) -> None:
    floors = []
    for floor in FLOORS:
        pair_row = bench.results["pairs"][floor.pair]
        kwargs = {"team": bench.team, **pair_kwargs(bench, pair_registry.get(floor.pair))[0]}
        timing, value = bench.time(partial(floor.run, **kwargs), around=rolled_back if floor.writes else nullcontext)
        optimized = pair_row["optimized"]
        floors.append(
            {
                "pair": floor.pair,
                "floor": timing,
                "optimized_p50_ms": optimized["p50_ms"],
                "optimized_over_floor": round(optimized["p50_ms"] / timing["p50_ms"], 2) if timing["p50_ms"] else None,
                "floor_equal": value == pair_row["_value"],
                "rows": len(value),
            }
        )
    for row in bench.results["pairs"].values():
        row.pop("_value", None)
    bench.results["floors"] = floors


# --- 3b: the dashboard cards without a twin ----------------------------------------------------


def measure_services(bench: Bench) -> None:
    """Each of SERVICES over the read range: cold (metrics cache cleared before each run) and warm.

    Queries per run hold the team's data stamp (one), plus the computation's on a cold run: for the AI
    impact card 2 cold and 1 warm, whatever the size. Reported, not a target.
    """
    kwargs = {"team": bench.team, **bench.read_range()}
    rows = {}
    for name, service in SERVICES.items():
        call = partial(service, **kwargs)
        cold, _value = bench.time(call, before_each=clear_metrics_cache)
        clear_metrics_cache()
        warm, _value = bench.time(call)
        rows[name] = {"service": name, "params": f"the last {RANGE_DAYS} days of data", "cold": cold, "warm": warm}
    bench.results["services"] = rows


# --- 5: the export -------------------------------------------------------------------------


def _rss_kb(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux 4.0+); False where the kernel refuses."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def export_once(bench: Bench, side: str) -> dict:
    """Download the whole CSV export through the page, as a client reads it: piece by piece, many lines a piece.

    Rows are the line ends received less the header's (the bench's PR titles hold no line break); they must
    be the team's PR count.
    """
    url = f"/app/{bench.team.slug}/prs/export.csv"
    expected_rows = bench.dataset.counts["PullRequest"]
    gc.collect()
    peak_resettable = _reset_peak_rss()
    base = peak = _rss_kb()
    line_ends = 0
    with force_side(EXPORT_PAIR, side), measured() as meter:
        response = bench.client.get(url)
        _check_ok(response, url)
        for piece in response.streaming_content:
            before, line_ends = line_ends, line_ends + piece.count(b"\r\n")
            if line_ends // RSS_SAMPLE_EVERY != before // RSS_SAMPLE_EVERY:
                peak = max(peak, _rss_kb())
        # Exhausting streaming_content closed the response; closing it again would fire request_finished,
        # whose close_old_connections drops a connection that is inside a transaction.
    peak = max(peak, _rss_kb(), _rss_kb("VmHWM") if peak_resettable else 0)
    seconds = meter.measurement.wall_ms / 1000
    rows = line_ends - 1  # the header line
    if rows != expected_rows:
        raise RuntimeError(f"The {side} export sent {rows} rows for {expected_rows} PRs")
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds) if seconds else None,
        "rss_growth_mb": round((peak - base) / 1024, 1),
        "queries": meter.measurement.queries,
        "runs": 1,
    }


def measure_export(bench: Bench) -> None:
    # Optimized first: memory the legacy side takes is not always handed back, and would hide the other's growth.
    bench.results["export"] = {side: export_once(bench, side) for side in ("optimized", "legacy")}


# --- 6, 7: the dashboard page and the shadow cost -------------------------------------------


class BenchError(Exception):
    pass


def _check_ok(response, url: str) -> None:
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}")


def _dashboard_call(bench: Bench) -> Callable[[], int]:
    url = f"/app/{bench.team.slug}/"

    def call() -> int:
        response = bench.client.get(url)
        _check_ok(response, url)
        return len(response.content)

    return call


def measure_dashboard(bench: Bench) -> None:
    team, call = bench.team, _dashboard_call(bench)
    results = {}
    set_dashboard_flags(team, on=False)
    results["flag_off"], _ = bench.time(call, before_each=clear_metrics_cache)
    set_dashboard_flags(team, on=True)
    results["flag_on"], _ = bench.time(call, before_each=clear_metrics_cache)
    clear_metrics_cache()
    results["flag_on_warm_cache"], _ = bench.time(call)
    results["conditions"] = (
        "GET /app/<team>/ (30 days); flag_off and flag_on clear the metrics cache before each request"
    )
    bench.results["dashboard"] = results


@contextmanager
def deferred_dashboard_pairs() -> Iterator[list[str]]:
    """The dashboard's pairs as deferred pairs for the block: a sampled call serves one side and queues the comparison.

    Yields the pairs' names.
    """
    originals = dashboard_pairs()
    try:
        for attribute, pair in originals.items():
            deferred_pair = dataclasses.replace(pair, deferred=True)
            setattr(dashboard_services, attribute, deferred_pair)
            pair_registry.unregister(pair.name)
            pair_registry.register(deferred_pair)
        yield sorted(pair.name for pair in originals.values())
    finally:
        for attribute, pair in originals.items():
            setattr(dashboard_services, attribute, pair)
            pair_registry.unregister(pair.name)
            pair_registry.register(pair)


# The deferred mode's two rows, and whether the worker is paused while the requests are timed.
DEFERRED_MODES = {"deferred_100pct": True, "deferred_100pct_worker_running": False}
# In plain words, for the table, the lines under it and the conditions.
DEFERRED_LABELS = {
    "deferred_100pct": "worker paused while timed",
    "deferred_100pct_worker_running": "worker consuming while timed",
}


def measure_deferred(bench: Bench, call: Callable[[], Any], **options: Any) -> dict[str, dict]:
    """The dashboard with its pairs deferred at 100 %, through a real broker to a real worker (bench/deferred.py).

    One worker is started and measured under twice, in this order; the rows are
    keyed as in DEFERRED_MODES:
    - deferred_100pct: the worker is stopped (SIGSTOP) while the requests are
      timed and continued (SIGCONT) right after the last one, so the request
      figure is publishing alone, with no worker taking CPU from the requests;
    - deferred_100pct_worker_running: the worker consumes while the requests
      are timed, as in production when it shares the machine's cores.
    Request side: the usual timing; `enqueued` is what the requests (warm-up
    included) published to the broker. Worker side: the comparisons the worker
    completed (the team's evidence runs on the dashboard's pairs, after minus
    before) and `worker_drain_s`, from the end of the last request (when a
    paused worker is continued) until the worker had completed every enqueued
    comparison (None when it had not within `worker_drain_timeout_s`). When the
    broker or worker cannot be used, a row's figures are None and `skipped`
    says why.
    """
    target = deferred.broker()
    common: dict[str, Any] = {"broker": target.shown, "queue": deferred.QUEUE}
    rows: dict[str, dict] = {}
    try:
        deferred.check_usable(target)
        with (
            deferred.clean_broker(target),
            deferred.bench_celery_app(target),
            deferred.worker(target) as worker,
            deferred_dashboard_pairs() as names,
        ):
            for mode, paused in DEFERRED_MODES.items():
                rows[mode] = {**_deferred_once(bench, call, worker, names, paused=paused, **options), **common}
    except deferred.DeferredUnavailable as error:
        logger.warning("Deferred shadow mode not measured: %s", error)
        skipped = {"p50_ms": None, "p95_ms": None, "mean_ms": None, "runs": 0, "queries": None, **common,
                   "enqueued": None, "worker_completed": None, "worker_drain_s": None, "skipped": str(error)}
        for mode, paused in DEFERRED_MODES.items():
            rows.setdefault(mode, {**skipped, "worker_paused_while_timed": paused})
    return {mode: rows[mode] for mode in DEFERRED_MODES}


def _deferred_once(
    bench: Bench, call: Callable[[], Any], worker: deferred.Worker, names: list[str], *, paused: bool, **options: Any
) -> dict:
    """One deferred measurement on a ready worker: the requests timed (the worker paused or not), then the drain."""
    with deferred.published() as enqueued:
        before = deferred.evidence_totals(bench.team, names)
        with worker.paused() if paused else nullcontext():
            started = time.perf_counter()
            summary, _ = bench.time(call, **options)
            last_request = time.perf_counter()
        drain_s = deferred.wait_for_runs(
            bench.team, names, before["runs"] + enqueued[0], since=last_request, timeout=deferred.DRAIN_TIMEOUT_S
        )
        after = deferred.evidence_totals(bench.team, names)
    completed = after["runs"] - before["runs"]
    if drain_s is None:
        logger.warning(
            "The worker completed %s of %s deferred comparisons within %s s; its log ends:\n%s",
            completed, enqueued[0], deferred.DRAIN_TIMEOUT_S, worker.log_tail(),
        )
    # The time the worker could work: a paused worker only from the end of the last request.
    working_s = (0 if paused else last_request - started) + drain_s if drain_s is not None else None
    return {
        **summary,
        "worker": worker.command,
        "worker_paused_while_timed": paused,
        "enqueued": enqueued[0],
        "worker_completed": completed,
        "worker_outcomes": {name: after[name] - before[name] for name in deferred.EVIDENCE_COUNTS if name != "runs"},
        "worker_records_kept": after["records"] - before["records"],
        "worker_drained": drain_s is not None,
        "worker_drain_s": round(drain_s, 3) if drain_s is not None else None,
        "worker_drain_timeout_s": deferred.DRAIN_TIMEOUT_S,
        "worker_comparisons_per_s": round(completed / working_s, 1) if working_s and completed else None,
    }


def measure_shadow_cost(bench: Bench) -> None:
    """Dashboard with the flag on and a warm cache (the steady state), under each shadowing mode."""
    team, call = bench.team, _dashboard_call(bench)
    reps = {"reps": max(bench.size.reps, bench.size.shadow_reps)}
    set_dashboard_flags(team, on=True)
    results = {}
    for mode, rate in (("off", 0), ("sampled_1pct", 0.01), ("inline_100pct", 1)):
        set_dashboard_rates(team, rate)
        results[mode], _ = bench.time(call, **reps)
    set_dashboard_rates(team, 1)
    results.update(measure_deferred(bench, call, **reps))
    set_dashboard_rates(team, 0)
    base = results["off"]["p50_ms"]
    for mode in ("sampled_1pct", "inline_100pct", *DEFERRED_MODES):
        p50 = results[mode]["p50_ms"]
        added = p50 - base if p50 is not None else None
        results[mode]["added_p50_ms"] = round(added, 3) if added is not None else None
        results[mode]["added_p50_pct"] = round(added * 100 / base, 2) if added is not None and base else None
    results["conditions"] = (
        "flag on, warm metrics cache; rates set for the measured team on the dashboard's pairs. "
        + _deferred_conditions(results)
    )
    bench.results["shadow_cost"] = results


def _deferred_conditions(results: dict) -> str:
    paused, running = results["deferred_100pct"], results["deferred_100pct_worker_running"]
    if "skipped" in paused:
        return "deferred_100pct and deferred_100pct_worker_running: not measured (see their skipped reason)"
    return (
        f"Deferred rows: comparisons published to a real Redis broker ({paused['broker']}, queue "
        f"{deferred.QUEUE}) and run by one real Celery worker process (solo pool, one process) started by the bench "
        f"on the same database and the same {os.cpu_count()} cores. deferred_100pct: the worker is paused (SIGSTOP) "
        "while the requests are timed, so its added p50 is what publishing the comparisons costs a request; the "
        "worker is continued (SIGCONT) after the last request and its drain is timed from then. "
        + (
            "deferred_100pct_worker_running: not measured (see its skipped reason)"
            if "skipped" in running
            else "deferred_100pct_worker_running: measured next, the worker consuming while the requests are timed, "
            "so its added p50 also holds the CPU the worker takes from the requests on these cores (contention, "
            "not queueing)"
        )
    )


# --- 8: targets, machine, table --------------------------------------------------------------


def evaluate_targets(results: dict) -> list[dict]:
    """The issue's targets against this run's numbers (they are meant for size L)."""
    pairs, floors = results["pairs"], {row["pair"]: row for row in results["floors"]}
    export, page, shadow = results["export"]["optimized"], results["dashboard"], results["shadow_cost"]
    sync = pairs["integrations.copilot_sync"]
    checks = [
        ("team breakdown speed-up", pairs["metrics.team_breakdown"]["speedup"], ">=", 50),
        ("team breakdown optimized / floor", floors["metrics.team_breakdown"]["optimized_over_floor"], "<=", 2),
        ("weekly aggregation speed-up", pairs["metrics.weekly_aggregation"]["speedup"], ">=", 20),
        ("copilot sync queries, full minus one-day report",
         sync["optimized"]["queries"] - sync["optimized_queries_one_day_report"], "==", 0),
        ("export rows/s", export["rows_per_s"], ">=", 100_000),
        ("export RSS growth MB", export["rss_growth_mb"], "<", 50),
        ("dashboard p50 ms, flag on (cold)", page["flag_on"]["p50_ms"], "<", 300),
        ("dashboard p50 ms, warm cache", page["flag_on_warm_cache"]["p50_ms"], "<", 30),
        ("dashboard queries, flag on (cold)", page["flag_on"]["queries"], "<=", 20),
        *((f"{name.removeprefix('metrics.').replace('_', ' ')} speed-up", pairs[name]["speedup"], ">=", 10)
          for name in CARD_PAIRS if name in pairs),
        ("shadow 1% added to p50, %", shadow["sampled_1pct"]["added_p50_pct"], "<", 2),
        ("shadow deferred added to p50, ms", shadow["deferred_100pct"]["added_p50_ms"], "<", 1),
    ]
    compare_ops = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
                   "==": lambda a, b: a == b}
    return [
        {
            "target": name,
            "value": value,
            "goal": f"{op} {goal}",
            "met": value is not None and compare_ops[op](value, goal),
        }
        for name, value, op, goal in checks
    ]


def machine_info() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=settings.BASE_DIR
        ).stdout.strip()
        dirty = bool(subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True,
            cwd=settings.BASE_DIR,
        ).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "", False
    return {
        "cpu_model": cpu or platform.processor(),
        "cpu_count": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "postgresql": server_version,
        "python": platform.python_version(),
        "django": django.get_version(),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[_fmt(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        aligned = (cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        lines.append("  ".join(aligned))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_table(results: dict) -> str:
    machine = results["machine"]
    parts = [
        f"\nSize {results['size']} on {machine['cpu_model']} ({machine['cpu_count']} cores), "
        f"PostgreSQL {machine['postgresql']}, commit {machine['git_commit'][:10]}"
        + (" (uncommitted changes)" if machine["git_dirty"] else ""),
        f"Dataset: {results['dataset']['rows']}, {results['dataset']['noise_teams']} noise teams",
        "",
        "Pairs (ms; runs after one warm-up; queries per run)",
    ]
    rows = []
    for row in results["pairs"].values():
        legacy, optimized = row["legacy"], row["optimized"]
        rows.append([row["pair"], legacy["p50_ms"], legacy["p95_ms"], legacy["runs"], legacy["queries"],
                     optimized["p50_ms"], optimized["p95_ms"], optimized["runs"], optimized["queries"],
                     row["speedup"], "yes" if row["sides_equal"] else "NO"])
        if "optimized_warm" in row:
            warm = row["optimized_warm"]
            rows.append(["  (optimized, warm cache)", None, None, None, None, warm["p50_ms"], warm["p95_ms"],
                         warm["runs"], warm["queries"], speedup(legacy, warm), ""])
    parts.append(_table(["pair", "legacy p50", "p95", "runs", "queries", "optimized p50", "p95", "runs", "queries",
                         "speed-up", "equal"], rows))
    parts.extend(["", "Params: " + "; ".join(f"{row['pair']}: {row['params']}" for row in results["pairs"].values())])
    parts.extend(["", "SQL floor (one hand-written statement)"])
    parts.append(_table(
        ["pair", "floor p50", "p95", "runs", "optimized p50", "optimized / floor", "floor equal"],
        [[row["pair"], row["floor"]["p50_ms"], row["floor"]["p95_ms"], row["floor"]["runs"], row["optimized_p50_ms"],
          row["optimized_over_floor"], "yes" if row["floor_equal"] else "NO"] for row in results["floors"]],
    ))
    parts.extend(["", "Dashboard cards without a twin, as served (ms; queries per run, the data stamp included)"])
    parts.append(_table(
        ["service", "cold p50", "p95", "runs", "queries", "warm p50", "p95", "runs", "queries"],
        [[row["service"], row["cold"]["p50_ms"], row["cold"]["p95_ms"], row["cold"]["runs"], row["cold"]["queries"],
          row["warm"]["p50_ms"], row["warm"]["p95_ms"], row["warm"]["runs"], row["warm"]["queries"]]
         for row in results["services"].values()],
    ))
    parts.extend(["", "Export of every PR through the page (one run each)"])
    parts.append(_table(
        ["side", "rows", "seconds", "rows/s", "RSS growth MB", "queries"],
        [[side, row["rows"], row["seconds"], row["rows_per_s"], row["rss_growth_mb"], row["queries"]]
         for side, row in results["export"].items()],
    ))
    parts.extend(["", "Dashboard page (ms)"])
    parts.append(_table(
        ["case", "p50", "p95", "runs", "queries"],
        [[case, row["p50_ms"], row["p95_ms"], row["runs"], row["queries"]]
         for case, row in results["dashboard"].items() if isinstance(row, dict)],
    ))
    parts.extend(["", "Shadow cost on the dashboard (flag on, warm cache; ms)"])
    parts.append(_table(
        ["mode", "p50", "p95", "mean", "runs", "added to p50", "added %"],
        [[mode + (f" ({DEFERRED_LABELS[mode]})" if mode in DEFERRED_LABELS else ""), row["p50_ms"], row["p95_ms"],
          row["mean_ms"], row["runs"], row.get("added_p50_ms"), row.get("added_p50_pct")]
         for mode, row in results["shadow_cost"].items() if isinstance(row, dict)],
    ))
    parts.extend(_deferred_line(mode, results["shadow_cost"][mode]) for mode in DEFERRED_MODES)
    parts.extend(["", "Targets (for size L)"])
    parts.append(_table(
        ["target", "value", "goal", "met"],
        [[row["target"], row["value"], row["goal"], "yes" if row["met"] else "no"] for row in results["targets"]],
    ))
    return "\n".join(parts)


def _deferred_line(mode: str, row: dict) -> str:
    if "skipped" in row:
        return f"{mode} not measured: {row['skipped']}"
    if row["worker_paused_while_timed"]:
        how = ("the worker was paused while the requests were timed, so the added p50 is the cost of publishing "
               "alone; continued after the last request, it")
        since = "after it was continued"
    else:
        how = ("the worker was consuming while the requests were timed, so the added p50 includes the CPU it took "
               "from them on the same cores; it")
        since = "after the last request"
    drained = (
        f"drained {_fmt(row['worker_drain_s'])} s {since}"
        if row["worker_drained"]
        else f"not drained within {row['worker_drain_timeout_s']:.0f} s"
    )
    return (
        f"{mode}: {row['enqueued']} enqueued to {row['broker']} ({row['queue']}); {how} completed "
        f"{row['worker_completed']} ({row['worker_outcomes']}), {drained}"
    )
