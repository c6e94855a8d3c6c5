"""shadow.diff: normalisation, comparison rules, field paths, ignore rules and redaction."""

from __future__ import annotations

import datetime as dt
import enum
import pickle
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from shadow.diff import (
    MISSING,
    CompareRules,
    ComparisonResult,
    Difference,
    IgnoreRule,
    compare,
    normalise,
    redact_value,
    render_value,
)


def rows(*cycle_times: str) -> list[dict]:
    return [{"member_id": index, "avg_cycle_time": Decimal(value)} for index, value in enumerate(cycle_times)]


def paths(result: ComparisonResult) -> list[str]:
    return [difference.path for difference in result.differences]


@dataclass
class Row:
    member_id: int
    prs_merged: int
    ai_pct: Decimal


@dataclass(frozen=True)
class Summary:
    rows: tuple[Row, ...]
    total: int


class Source(enum.Enum):
    COPILOT = "copilot"


# --- equality and the basic difference -------------------------------------------------------


def test_equal_structures_match():
    """Deep-equal results give no differences at all."""
    value = {"rows": rows("1.00", "2.50"), "total": 2, "when": dt.date(2024, 5, 6), "note": None}

    result = compare(value, {**value, "rows": rows("1.00", "2.50")})

    assert result.matched is True
    assert result.differences == ()
    assert result.ignored == ()
    assert result.lines(redact=True) == []


def test_difference_in_a_list_of_dicts_renders_its_path_and_both_values():
    """Only the differing leaf is reported, as `[3].avg_cycle_time: 12.50 != 12.51`."""
    result = compare(rows("1.00", "2.00", "3.00", "12.50"), rows("1.00", "2.00", "3.00", "12.51"))

    assert result.matched is False
    assert result.differences == (Difference("[3].avg_cycle_time", Decimal("12.50"), Decimal("12.51")),)
    assert result.lines(redact=False) == ["[3].avg_cycle_time: 12.50 != 12.51"]
    assert result.lines(redact=True) == ["[3].avg_cycle_time: 12.50 != 12.51"]


def test_root_dict_key_path_starts_with_a_dot_and_the_root_renders_as_root():
    """A top-level key is `.prs_merged`; a difference of the whole value is at "" shown as <root>."""
    keyed = compare({"prs_merged": 3}, {"prs_merged": 4})
    whole = compare(3, 4)

    assert keyed.lines(redact=False) == [".prs_merged: 3 != 4"]
    assert whole.differences[0].path == ""
    assert whole.lines(redact=False) == ["<root>: 3 != 4"]


def test_nested_paths_and_unusual_keys():
    """Nested lists chain as `[0].rows[2].title`; keys beyond [A-Za-z0-9_-] are JSON-quoted."""
    legacy = [{"rows": [{"t": 1}, {"t": 1}, {"t": 1}], "a.b": 1, "": 1, "*": 1, "2024-05-06": 1}]
    optimized = [{"rows": [{"t": 1}, {"t": 1}, {"t": 2}], "a.b": 2, "": 2, "*": 2, "2024-05-06": 2}]

    result = compare(legacy, optimized)

    assert paths(result) == ["[0].rows[2].t", '[0]["a.b"]', '[0][""]', '[0]["*"]', "[0].2024-05-06"]


# --- numbers ----------------------------------------------------------------------------------


def test_numbers_within_the_tolerance_are_equal():
    """The default tolerance is 0.000001 absolute, inclusive."""
    legacy = {"x": Decimal("1.000001"), "y": Decimal("5")}
    optimized = {"x": Decimal("1.000000"), "y": Decimal("5.0000005")}

    result = compare(legacy, optimized)

    assert result.matched is True


def test_numbers_beyond_the_tolerance_differ():
    """A difference just past the tolerance is reported."""
    result = compare({"x": Decimal("1.0000011")}, {"x": Decimal("1")})

    assert result.lines(redact=False) == [".x: 1.0000011 != 1"]


def test_custom_tolerance():
    """A pair can loosen the tolerance, e.g. to a cent."""
    rules = CompareRules(tolerance=Decimal("0.01"))

    assert compare(Decimal("12.50"), Decimal("12.51"), rules).matched is True
    assert compare(Decimal("12.50"), Decimal("12.52"), rules).matched is False


def test_float_compares_with_decimal_by_its_shortest_text():
    """0.1 becomes Decimal("0.1"), so it equals Decimal("0.1"); 0.1 vs 0.2 still differs."""
    assert compare(0.1, Decimal("0.1")).matched is True
    assert compare(12.5, Decimal("12.50")).matched is True
    assert compare([0.1], [Decimal("0.2")]).lines(redact=False) == ["[0]: 0.1 != 0.2"]


def test_int_and_decimal_compare_by_value():
    """12 equals Decimal("12.00"); 12 vs Decimal("12.5") differs."""
    assert compare({"n": 12}, {"n": Decimal("12.00")}).matched is True
    assert compare({"n": 12}, {"n": Decimal("12.5")}).lines(redact=False) == [".n: 12 != 12.5"]


def test_bool_is_not_a_number():
    """True and 1 are different values; so are False and 0."""
    result = compare({"a": True, "b": False}, {"a": 1, "b": 0})

    assert result.lines(redact=False) == [".a: True != 1", ".b: False != 0"]


def test_none_and_zero_differ():
    """None is not 0 (nor 0.00)."""
    result = compare({"a": None, "b": Decimal("0.00")}, {"a": 0, "b": None})

    assert result.lines(redact=False) == [".a: None != 0", ".b: 0.00 != None"]


def test_nan_equals_nan_and_infinities_equal_only_themselves():
    """Non-finite values neither crash the comparison nor hide a difference."""
    assert compare(float("nan"), Decimal("NaN")).matched is True
    assert compare(float("inf"), Decimal("Infinity")).matched is True
    assert compare(float("inf"), float("-inf")).lines(redact=False) == ["<root>: Infinity != -Infinity"]
    assert compare(Decimal("NaN"), 1).lines(redact=False) == ["<root>: NaN != 1"]
    assert compare(Decimal("sNaN"), Decimal("NaN")).matched is True


# --- types, dicts and lists ---------------------------------------------------------------------


def test_type_mismatch_is_one_difference_with_both_whole_values():
    """A list against a dict is reported once at that path, not per leaf."""
    result = compare({"rows": [1, 2]}, {"rows": {"a": 1}})

    assert result.differences == (Difference(".rows", [1, 2], {"a": 1}),)
    assert result.lines(redact=False) == [".rows: [1, 2] != {'a': 1}"]


def test_string_and_number_differ():
    """"12" is not 12."""
    assert compare(["12"], [12]).lines(redact=False) == ["[0]: '12' != 12"]


def test_key_missing_on_the_optimized_side():
    """A legacy-only key is a difference with <missing> on the optimized side."""
    result = compare({"a": 1, "b": 2}, {"a": 1})

    assert result.differences == (Difference(".b", 2, MISSING),)
    assert result.lines(redact=False) == [".b: 2 != <missing>"]


def test_key_missing_on_the_legacy_side():
    """An optimized-only key is a difference with <missing> on the legacy side."""
    result = compare({"a": 1}, {"a": 1, "c": "x"})

    assert result.differences == (Difference(".c", MISSING, "x"),)
    assert result.lines(redact=False) == [".c: <missing> != 'x'"]


def test_list_length_difference_compares_the_common_prefix_and_reports_the_lengths():
    """Lengths differ at `<path>#len`; items of the common prefix are still compared."""
    legacy = [{"rows": [1, 2, 3]}]
    optimized = [{"rows": [1, 5, 3, 4]}]

    result = compare(legacy, optimized)

    assert result.lines(redact=False) == ["[0].rows#len: 3 != 4", "[0].rows[1]: 2 != 5"]


def test_tuples_and_lists_are_equal():
    """A tuple and a list with the same items are the same result."""
    assert compare((1, (2, 3)), [1, [2, 3]]).matched is True


def test_dataclasses_and_dicts_are_equal():
    """A dataclass compares as the dict of its fields, recursively."""
    legacy = Summary(rows=(Row(1, 2, Decimal("50.00")),), total=2)
    optimized = {"rows": [{"member_id": 1, "prs_merged": 2, "ai_pct": Decimal("50.00")}], "total": 2}

    assert compare(legacy, optimized).matched is True
    assert compare(legacy, {**optimized, "total": 3}).lines(redact=False) == [".total: 2 != 3"]


def test_sets_are_normalised_to_sorted_lists():
    """Sets compare regardless of iteration order; a real element difference is reported."""
    assert normalise({"b", "a", "c"}) == ["a", "b", "c"]
    assert compare({3, 1, 2}, frozenset({2, 3, 1})).matched is True
    assert compare({"tools": {"copilot", "cursor"}}, {"tools": {"cursor", "claude"}}).lines(redact=False) == [
        ".tools[0]: 'copilot' != 'claude'"
    ]


def test_aware_datetimes_at_the_same_instant_are_equal():
    """Aware datetimes are converted to UTC before comparing."""
    in_berlin = dt.datetime(2024, 5, 6, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    in_utc = dt.datetime(2024, 5, 6, 10, 0, tzinfo=dt.UTC)

    assert compare({"merged_at": in_berlin}, {"merged_at": in_utc}).matched is True
    assert normalise(in_berlin) == in_utc
    assert normalise(in_berlin).tzinfo is dt.UTC


def test_aware_datetimes_at_different_instants_render_in_utc():
    """A real time difference shows both instants as ISO text in UTC."""
    result = compare(
        dt.datetime(2024, 5, 6, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")), dt.datetime(2024, 5, 6, 11, 0, tzinfo=dt.UTC)
    )

    assert result.lines(redact=False) == ["<root>: 2024-05-06T10:00:00+00:00 != 2024-05-06T11:00:00+00:00"]


def test_naive_and_aware_datetimes_differ():
    """A naive datetime never equals an aware one, even with the same wall time in UTC."""
    result = compare(dt.datetime(2024, 5, 6, 10, 0), dt.datetime(2024, 5, 6, 10, 0, tzinfo=dt.UTC))

    assert result.lines(redact=False) == ["<root>: 2024-05-06T10:00:00 != 2024-05-06T10:00:00+00:00"]


def test_date_and_datetime_differ():
    """A date is not midnight of that date."""
    assert compare(dt.date(2024, 5, 6), dt.datetime(2024, 5, 6)).matched is False


def test_normalise_plain_values():
    """Enums become their values, non-str keys become text, unknown objects their repr."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque>"

    value = {
        "source": Source.COPILOT,
        dt.date(2024, 5, 6): 1,
        7: 2.5,
        "tuple": (1, "a"),
        "opaque": Opaque(),
        "flag": True,
        "nothing": None,
    }

    assert normalise(value) == {
        "source": "copilot",
        "2024-05-06": 1,
        "7": Decimal("2.5"),
        "tuple": [1, "a"],
        "opaque": "<Opaque>",
        "flag": True,
        "nothing": None,
    }
    assert normalise(normalise(value)) == normalise(value)


# --- unordered collections -----------------------------------------------------------------------


def test_unordered_root_list_matches_in_any_order():
    """With "" unordered, the same rows in another order match."""
    rules = CompareRules(unordered=("",))
    legacy = [{"id": 1, "n": Decimal("1.0")}, {"id": 2, "n": 2}, {"id": 3, "n": 3}]
    optimized = [{"n": 3, "id": 3}, {"id": 1, "n": 1}, {"id": 2, "n": Decimal("2.00")}]

    assert compare(legacy, optimized, rules).matched is True
    assert compare(legacy, optimized).matched is False


def test_unordered_list_still_reports_real_element_differences():
    """Sorting does not hide a changed element: it shows at its sorted position."""
    rules = CompareRules(unordered=("",))

    result = compare([{"id": 2, "n": 20}, {"id": 1, "n": 10}], [{"id": 1, "n": 10}, {"id": 2, "n": 21}], rules)

    assert result.lines(redact=False) == ["[1].n: 20 != 21"]


def test_unordered_change_that_moves_an_item_in_the_sort_order_is_one_difference():
    """Identical items cancel out first, so a changed row does not shift the pairing of the others."""
    rules = CompareRules(unordered=("",))
    legacy = [{"a_score": 1, "id": "a"}, {"a_score": 2, "id": "b"}, {"a_score": 3, "id": "c"}]
    optimized = [{"a_score": 3, "id": "c"}, {"a_score": 9, "id": "a"}, {"a_score": 2, "id": "b"}]

    result = compare(legacy, optimized, rules)

    assert result.lines(redact=False) == ["[0].a_score: 1 != 9"]


def test_unordered_lists_count_duplicates_and_report_extra_items_by_length():
    """[1, 1, 2] is not [1, 2, 2]; an extra item shows as a length difference ("#len" at the root)."""
    rules = CompareRules(unordered=("",))

    assert compare([1, 1, 2], [2, 1, 2], rules).lines(redact=False) == ["[1]: 1 != 2"]
    assert compare([1, 2], [2, 3, 1], rules).lines(redact=False) == ["#len: 2 != 3"]


def test_unordered_items_equal_within_the_tolerance_still_match():
    """Items whose keys differ only below the tolerance are paired and compare equal."""
    rules = CompareRules(unordered=("",))

    assert compare([Decimal("1.0000001"), 5], [5, Decimal("1")], rules).matched is True


def test_unordered_nested_lists_with_wildcards():
    """Unordered lists inside unordered lists are ordered first, so the outer order is stable."""
    rules = CompareRules(unordered=("rows", "rows[*].tools"))
    legacy = {"rows": [{"id": 1, "tools": ["b", "a"]}, {"id": 2, "tools": ["c", "d"]}], "order": [1, 2]}
    optimized = {"rows": [{"id": 2, "tools": ["d", "c"]}, {"id": 1, "tools": ["a", "b"]}], "order": [1, 2]}

    assert compare(legacy, optimized, rules).matched is True
    assert compare(legacy, {**optimized, "order": [2, 1]}, rules).lines(redact=False) == [
        ".order[0]: 1 != 2",
        ".order[1]: 2 != 1",
    ]


def test_unordered_pattern_applies_to_that_list_only():
    """"" makes the root list unordered, not the lists inside its items."""
    rules = CompareRules(unordered=("",))

    result = compare([[1, 2]], [[2, 1]], rules)

    assert result.lines(redact=False) == ["[0][0]: 1 != 2", "[0][1]: 2 != 1"]


# --- ignore rules --------------------------------------------------------------------------------


def test_ignore_rule_moves_differences_to_ignored_with_the_reason():
    """An ignored difference keeps the result matched and carries the rule's reason."""
    rules = CompareRules(ignore=(IgnoreRule("[*].avg_cycle_time", reason="legacy rounds half down"),))

    result = compare(rows("1.00", "12.50"), rows("1.00", "12.51"), rules)

    assert result.matched is True
    assert result.differences == ()
    assert result.ignored == (
        Difference("[1].avg_cycle_time", Decimal("12.50"), Decimal("12.51"), ignored_because="legacy rounds half down"),
    )
    assert result.ignored[0].render(redact=False) == (
        "[1].avg_cycle_time: 12.50 != 12.51  (ignored: legacy rounds half down)"
    )
    assert result.lines(redact=False) == []


def test_ignore_rule_covers_the_whole_subtree_below_its_path():
    """A rule on "[*].extra" also ignores "[3].extra.x" and length differences below it."""
    rules = CompareRules(ignore=(IgnoreRule("[*].extra", reason="debug payload"),))
    legacy = [{"extra": {"x": 1, "list": [1]}, "extras": 1}]
    optimized = [{"extra": {"x": 2, "list": [1, 2]}, "extras": 2}]

    result = compare(legacy, optimized, rules)

    assert [difference.path for difference in result.ignored] == ["[0].extra.x", "[0].extra.list#len"]
    assert paths(result) == ["[0].extras"]


def test_ignore_rule_with_a_key_wildcard():
    """".*.value" matches the value of every top-level entry and nothing else."""
    rules = CompareRules(ignore=(IgnoreRule(".*.value", reason="sampled value"),))

    legacy = {"a": {"value": 1, "n": 1}, "b": {"value": 1}}
    optimized = {"a": {"value": 2, "n": 2}, "b": {"value": 3}}

    result = compare(legacy, optimized, rules)

    assert [difference.path for difference in result.ignored] == [".a.value", ".b.value"]
    assert paths(result) == [".a.n"]


def test_first_matching_ignore_rule_gives_the_reason():
    """Rules are tried in order; a missing key under an ignored path is ignored too."""
    rules = CompareRules(
        ignore=(IgnoreRule("rows[*].title", reason="first"), IgnoreRule("rows[*]", reason="second"))
    )

    result = compare({"rows": [{"title": "a", "n": 1}]}, {"rows": [{"title": "b"}]}, rules)

    assert [(d.path, d.ignored_because) for d in result.ignored] == [
        (".rows[0].title", "second"),
        (".rows[0].n", "second"),
    ]


def test_ignore_rule_on_the_root_ignores_everything():
    """The empty pattern is the root."""
    result = compare([1], [2], CompareRules(ignore=(IgnoreRule("", reason="not compared yet"),)))

    assert result.matched is True
    assert [difference.path for difference in result.ignored] == ["[0]"]


def test_ignore_rule_without_a_reason_raises():
    """An ignore rule must say why the difference is acceptable."""
    with pytest.raises(ValueError, match="reason"):
        IgnoreRule("[*].title")
    with pytest.raises(ValueError, match="reason"):
        IgnoreRule("[*].title", reason="   ")


@pytest.mark.parametrize("pattern", ["[", "[x]", "a..b", "[*", ".a b", '["unclosed]', "rows#len.x", "a*"])
def test_malformed_patterns_raise_when_the_rules_are_built(pattern):
    """Pattern errors surface at declaration time, not during a comparison."""
    with pytest.raises(ValueError, match="Invalid path pattern"):
        CompareRules(unordered=(pattern,))


def test_rules_reject_a_bare_string_and_a_negative_tolerance():
    """unordered="rows" would be six one-letter patterns; a negative tolerance is meaningless."""
    with pytest.raises(ValueError, match="tuple"):
        CompareRules(unordered="rows")
    with pytest.raises(ValueError, match="tolerance"):
        CompareRules(tolerance=Decimal("-1"))
    with pytest.raises(ValueError, match="tolerance"):
        CompareRules(tolerance="a cent")


def test_rendered_paths_work_as_patterns():
    """Every rendered path, quoted keys included, can be pasted into an ignore rule."""
    legacy = [{"a.b": {"x": 1}, "len": [1]}]
    optimized = [{"a.b": {"x": 2}, "len": [1, 2]}]
    found = compare(legacy, optimized).differences
    rules = CompareRules(ignore=tuple(IgnoreRule(difference.path, reason="known") for difference in found))

    result = compare(legacy, optimized, rules)

    assert [difference.path for difference in found] == ['[0]["a.b"].x', "[0].len#len"]
    assert result.matched is True
    assert len(result.ignored) == 2


# --- personal data -------------------------------------------------------------------------------


def test_personal_difference_is_flagged_and_redacted_when_rendering():
    """A difference under a personal key hides both values with redact=True only."""
    legacy = [{"member_name": "Ada"}, {"member_name": "Bob"}, {"member_name": "Cy"}]
    optimized = [{"member_name": "Ada"}, {"member_name": "Bob"}, {"member_name": "Cyd"}]

    result = compare(legacy, optimized)

    assert result.differences[0].personal is True
    assert result.lines(redact=True) == ["[2].member_name: [redacted] != [redacted]"]
    assert result.lines(redact=False) == ["[2].member_name: 'Cy' != 'Cyd'"]


def test_personal_applies_to_everything_below_a_personal_key():
    """A path through a personal key is personal even if the leaf key is not."""
    result = compare({"author_name": {"first": "A"}, "n": 1}, {"author_name": {"first": "B"}, "n": 2})

    assert [(d.path, d.personal) for d in result.differences] == [(".author_name.first", True), (".n", False)]


def test_redacted_rendering_hides_personal_keys_inside_whole_values_but_shows_absence():
    """A whole row reported at once keeps its numbers visible and its names hidden."""
    result = compare({"top": {"name": "Ada", "prs": 3}, "email": "a@x.io"}, {"email": None})

    assert result.lines(redact=True) == [
        ".top: {'name': [redacted], 'prs': 3} != <missing>",
        ".email: [redacted] != [redacted]",
    ]
    assert compare({}, {"email": "a@x.io"}).lines(redact=True) == [".email: <missing> != [redacted]"]


def test_custom_personal_fields():
    """A pair can declare its own personal keys."""
    rules = CompareRules(personal_fields=frozenset({"handle"}))

    result = compare({"handle": "ada", "name": "Ada"}, {"handle": "bob", "name": "Bob"}, rules)

    assert result.lines(redact=True) == [".handle: [redacted] != [redacted]", ".name: 'Ada' != 'Bob'"]


def test_redact_value_masks_nested_personal_keys_and_keeps_the_rest():
    """Personal values at any depth become "[redacted]"; other data and the input are untouched."""
    value = {
        "team": "acme",
        "rows": [
            Row(1, 2, Decimal("50.00")),
            {"display_name": "Ada", "stats": {"prs": 3, "email": None}, "reviewers": [{"login": "bob", "n": 1}]},
        ],
        "title": {"nested": "gone"},
    }

    redacted = redact_value(value)

    assert redacted == {
        "team": "acme",
        "rows": [
            {"member_id": 1, "prs_merged": 2, "ai_pct": Decimal("50.00")},
            {
                "display_name": "[redacted]",
                "stats": {"prs": 3, "email": "[redacted]"},
                "reviewers": [{"login": "[redacted]", "n": 1}],
            },
        ],
        "title": "[redacted]",
    }
    assert value["rows"][1]["display_name"] == "Ada"
    assert redact_value({"handle": "ada", "name": "Ada"}, frozenset({"handle"})) == {
        "handle": "[redacted]",
        "name": "Ada",
    }


# --- rendering and the result --------------------------------------------------------------------


def test_lines_are_cut_at_the_limit_with_a_count_of_the_rest():
    """lines() renders at most `limit` differences and says how many were left out."""
    result = compare(list(range(10)), list(range(100, 110)))

    assert result.lines(redact=False, limit=3) == ["[0]: 0 != 100", "[1]: 1 != 101", "[2]: 2 != 102", "… and 7 more"]
    assert len(result.lines(redact=False)) == 10
    assert result.lines(redact=False, limit=10)[-1] == "[9]: 9 != 109"


def test_long_values_are_truncated():
    """A large value renders as at most ~200 characters ending in an ellipsis."""
    text = render_value(list(range(100_000)))

    assert len(text) == 200
    assert text.startswith("[0, 1, 2, 3")
    assert text.endswith("…")
    assert render_value("x" * 500).endswith("…")


def test_value_rendering():
    """Strings quoted, Decimals as text, dates ISO, None bare, containers compact."""
    value = {"s": "abc", "d": Decimal("12.50"), "day": dt.date(2024, 5, 6), "none": None, "list": [1, True]}

    assert render_value(value) == "{'s': 'abc', 'd': 12.50, 'day': 2024-05-06, 'none': None, 'list': [1, True]}"
    assert render_value(MISSING) == "<missing>"


def test_missing_survives_pickling_as_the_same_marker():
    """Results can travel to a worker: MISSING stays the singleton."""
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert pickle.loads(pickle.dumps(compare({"a": 1}, {}))).differences[0].optimized is MISSING


# --- scale -----------------------------------------------------------------------------------------


def test_large_inputs_compare_without_error():
    """50,000 rows with rules compare without error; the one changed row gives one difference.

    Rows sort by their canonical key (keys in name order: ai_pct, id, ...), so the row with id 0
    (ai_pct 0) is first in the legacy order, which names it in the path.
    """
    legacy = [
        {"id": index, "name": f"m{index}", "ai_pct": Decimal(index % 100), "tools": ["b", "a"]}
        for index in range(50_000)
    ]
    optimized = [{**row, "tools": ["a", "b"]} for row in reversed(legacy)]
    optimized[-1] = {**optimized[-1], "ai_pct": Decimal("1.5"), "name": "renamed"}
    rules = CompareRules(unordered=("", "[*].tools"), ignore=(IgnoreRule("[*].name", reason="display only"),))

    result = compare(legacy, optimized, rules)

    assert result.lines(redact=True) == ["[0].ai_pct: 0 != 1.5"]
    assert [(d.path, d.ignored_because) for d in result.ignored] == [("[0].name", "display only")]
