"""The insights' arithmetic (histogram bins, percentiles, pushes against the deadline, per-test
failure rates, what a regrade changed) and the charts drawn from it: pure functions."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from ghapp.core.insights import (
    Figure,
    Series,
    TestSeen,
    changes,
    failures,
    latency,
    parse_tests,
    percentile,
    previous_gradings,
    push_timeline,
    score_histogram,
    short_label,
)
from web import charts
from web.charts import Attempt, attempts_figure, changes_figure, failures_figure

DUE = datetime(2026, 12, 1, 23, 59, tzinfo=timezone(timedelta(hours=1)))
NOW = DUE + timedelta(days=30)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.9, 7.0),
        ([1, 2, 3, 4], 0.5, 2.5),
        ([4, 1, 3, 2], 0.5, 2.5),  # any order
        (list(range(1, 11)), 0.9, 9.1),
        ([3, 1, 2], 0.0, 1),
        ([3, 1, 2], 1.0, 3),
    ],
)
def test_percentile(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected) if expected else expected is None


@pytest.mark.parametrize(
    ("latest", "best", "labels", "latest_counts", "best_counts"),
    [
        # Out of 5 whole points: one bin a point; an errored run (no score) is not counted.
        (
            [(3, 5), (5, 5), (None, None), (0, 5)],
            [(5, 5), (5, 5), (0, 5)],
            ("0", "1", "2", "3", "4", "5"),
            (1, 0, 0, 1, 0, 1),
            (1, 0, 0, 0, 0, 2),
        ),
        # A late penalty's 4.5: ten bins of half a point; 5 of 5 is in the last, 0.5 starts one.
        (
            [(4.5, 5), (5, 5), (0.5, 5), (0, 5)],
            [],
            tuple(f"{i / 2:g}\u2013{(i + 1) / 2:g}" for i in range(10)),
            (1, 1, 0, 0, 0, 0, 0, 0, 0, 2),
            (0,) * 10,
        ),
        # More than 20 points: ten bins; extra credit above the maximum lands in the last.
        (
            [(100, 100), (105, 100), (9.99, 100), (10, 100), (-3, 100)],
            [],
            tuple(f"{10 * i}\u2013{10 * (i + 1)}" for i in range(10)),
            (2, 1, 0, 0, 0, 0, 0, 0, 0, 2),
            (0,) * 10,
        ),
        # Out of different maxima: percent of each run's own.
        (
            [(1, 2), (3, 4), (10, 10)],
            [],
            tuple(f"{10 * i}\u2013{10 * (i + 1)}" for i in range(10)),
            (0, 0, 0, 0, 0, 1, 0, 1, 0, 1),
            (0,) * 10,
        ),
    ],
)
def test_score_histogram(latest, best, labels, latest_counts, best_counts):
    figure = score_histogram(latest, best)
    assert figure.labels == labels
    assert [s.name for s in figure.series] == ["latest", "best"]
    assert figure.series[0].values == latest_counts
    assert figure.series[1].values == best_counts


def test_a_histogram_says_what_it_left_out_and_is_empty_without_scores():
    figure = score_histogram([(None, None), (2, 5)], [(2, 5)])
    assert figure.note == "Not counted: 1 repo whose latest graded run has no score (it errored)."
    odd = score_histogram([(float("nan"), 5), (2, float("inf")), (True, 5), (2, 5)], [])
    assert odd.series[0].values == (0, 0, 1, 0, 0, 0) and odd.note.startswith("Not counted: 3")
    assert not figure.empty
    assert score_histogram([(None, None)], []).empty


def at(minutes: float) -> datetime:
    return DUE + timedelta(minutes=minutes)


def test_pushes_are_binned_from_the_deadline_and_marked_by_it():
    pushes = [(at(-7), "on_time"), (at(-1), "on_time"), (at(0), "on_time"), (at(0.5), "late"),
              (at(14), "late"), (at(16), "closed"), (at(3), None)]  # fmt: skip
    figure = push_timeline(pushes, due=DUE, cutoff=at(15), now=NOW)
    # 23 minutes: five-minute bins, one starting at the deadline, another at the cutoff.
    assert figure.title == "Pushes per 5 min"
    assert figure.labels == (
        "01 Dec 23:49", "01 Dec 23:54", "due", "02 Dec 00:04", "02 Dec 00:09", "cutoff",
    )  # fmt: skip
    assert figure.marks == ("due", "cutoff")
    assert figure.titles[2] == "due 01 Dec 23:59"  # in the deadline's UTC offset
    assert [s.values for s in figure.series] == [
        (1, 1, 1, 0, 0, 0),  # a push at the deadline itself is on time, in its bin
        (0, 0, 1, 0, 1, 0),
        (0, 0, 0, 0, 0, 1),
    ]  # the push not judged (another branch) is not there
    header, rows = figure.table()
    assert header == ("from", "on time", "late", "closed (not graded)")
    assert rows[2] == ("2026-12-01T23:59:00+01:00", 1, 1, 0)


@pytest.mark.parametrize(
    ("span", "title"),
    [
        (timedelta(hours=3), "Pushes per 5 min"),
        (timedelta(hours=4), "Pushes per 10 min"),
        (timedelta(days=1.5), "Pushes per 1 h"),
        (timedelta(days=2), "Pushes per 2 h"),
        (timedelta(days=14), "Pushes per 12 h"),
        (timedelta(days=400), "Pushes per 7 d"),
    ],
)
def test_the_push_bins_widen_with_the_span_to_at_most_48(span, title):
    start = DUE - span
    figure = push_timeline([(start, "on_time"), (DUE, "on_time")], due=DUE, cutoff=None, now=NOW)
    assert figure.title == title
    assert len(figure.labels) <= 48 or title.endswith("7 d")
    assert sum(figure.series[0].values) == 2


def test_a_deadline_still_to_come_does_not_stretch_the_chart():
    pushes = [(at(-60 * 24 * 7), "on_time"), (at(-60 * 24 * 7 + 50), "on_time")]
    figure = push_timeline(pushes, due=DUE, cutoff=None, now=at(-60 * 24 * 6))
    assert "due" not in figure.labels and len(figure.labels) == 11  # 5-minute bins
    assert push_timeline([], due=DUE, cutoff=None, now=NOW).empty
    no_due = push_timeline([(at(0), "on_time")], due=None, cutoff=None, now=NOW)
    assert no_due.table()[1][0][0] == "2026-12-01T22:55:00+00:00"  # UTC without a deadline


@pytest.mark.parametrize(
    ("seconds", "labels", "counts"),
    [
        ([], ("< 1 s", "1\u20132 s", "2\u20135 s", "5\u201310 s", "10\u201330 s"), (0,) * 5),
        (
            [0.2, 1.0, 1.9, 2.0],
            ("< 1 s", "1\u20132 s", "2\u20135 s", "5\u201310 s", "10\u201330 s"),
            (1, 2, 1, 0, 0),
        ),
        (
            [0.5, 45, 4000],
            (
                "< 1 s",
                "1\u20132 s",
                "2\u20135 s",
                "5\u201310 s",
                "10\u201330 s",
                "30 s\u20131 min",
                "1\u20132 min",
                "2\u20135 min",
                "5\u201315 min",
                "\u2265 15 min",
            ),
            (1, 0, 0, 0, 0, 1, 0, 0, 0, 1),
        ),
    ],
)
def test_latency_bins(seconds, labels, counts):
    found = latency(seconds)
    assert found.figure.labels == labels
    assert found.figure.series[0].values == counts
    assert found.count == len(seconds)


def test_latency_median_and_90th_percentile():
    found = latency([1.0, 2.0, 3.0, 4.0, 100.0])
    assert (found.median_s, found.p90_s) == (3.0, pytest.approx(61.6))
    assert latency([]).median_s is None


def test_stored_tests_are_read_as_far_as_they_can_be():
    raw = [
        {
            "name": "a",
            "status": "failed",
            "score": 0,
            "max_score": 2,
            "visibility": "hidden",
            "output": "no",
        },
        {"name": "b", "status": "passed", "score": True, "max_score": float("nan")},
        {"name": 3, "status": "failed"},
        {"status": "failed"},
        "c",
        None,
    ]
    assert parse_tests(raw) == [
        TestSeen("a", "failed", "hidden", 0.0, 2.0, "no"),
        TestSeen("b", "passed", "visible", None, None, ""),
    ]
    assert parse_tests(None) == [] and parse_tests({"tests": []}) == []


def seen(*pairs: str) -> list[TestSeen]:
    """`seen("a:failed", "b:passed", "h:failed:hidden")`"""
    found = []
    for pair in pairs:
        name, status, *visibility = pair.split(":")
        found.append(TestSeen(name, status, *(visibility or ["visible"])))
    return found


def test_failures_are_per_repo_most_failed_first():
    latest = {
        "r1": seen("a:failed", "b:passed", "h:errored:hidden"),
        "r2": seen("a:failed", "b:failed", "h:passed:after_due_date"),
        "r3": seen("a:passed", "b:skipped", "a:failed"),  # two tests named a: one fails
        "r4": [],
    }
    table = failures(latest)
    assert [(t.name, t.failing, t.ran, t.repos) for t in table] == [
        ("a", 3, 3, ("r1", "r2", "r3")),
        ("h", 1, 2, ("r1",)),  # 50 %, ahead of b's 1 of 3
        ("b", 1, 3, ("r2",)),
    ]
    assert table[1].visibility == "hidden" and table[1].hidden  # the least visible it was
    assert table[0].before is None and table[0].rate == 1.0


def test_failures_before_a_regrade_are_the_class_with_its_earlier_gradings():
    latest = {"r1": seen("a:passed", "new:failed"), "r2": seen("a:failed"), "r3": seen("a:failed")}
    previous = {"r1": seen("a:failed", "old:failed"), "r2": seen("a:passed")}
    table = {t.name: t for t in failures(latest, previous)}
    assert (table["a"].failing, table["a"].before) == (2, 2)  # r1 fixed, r2 broken
    assert (table["new"].before, table["new"].ran_before) == (0, 0)
    assert (table["old"].failing, table["old"].ran, table["old"].before) == (0, 0, 1)
    moved = {c.name: (c.before, c.after, c.broke, c.fixed) for c in changes(latest, previous)}
    assert moved == {"a": (1, 1, 1, 1), "new": (0, 1, 1, 0), "old": (1, 0, 0, 1)}
    figure = changes_figure(changes(latest, previous))
    assert figure.table()[0] == (
        "test", "failing_before", "failing_after", "newly_failing", "newly_passing",
    )  # fmt: skip


def test_the_tests_chart_shows_the_most_failed_and_its_csv_every_test():
    latest = {f"r{i}": seen(*(f"t{k}:{'failed' if k <= i else 'passed'}" for k in range(40)))
              for i in range(40)}  # fmt: skip
    figure = failures_figure(failures(latest), top=30)
    assert len(figure.labels) == 30 and len(figure.table()[1]) == 40
    assert figure.labels[0] == "t0" and figure.series[0].values[0] == 100.0
    assert figure.table()[1][-1] == ("t39", "visible", 1, 40, 2.5)


def test_previous_gradings_are_of_the_same_commit():
    run = lambda sid, repo, sha: SimpleNamespace(submission_id=sid, repo=repo, head_sha=sha)  # noqa: E731
    runs = [
        run(1, "a", "x"),
        run(2, "a", "y"),
        run(3, "a", "x"),
        run(4, "b", "z"),
        run(5, "a", "y"),
    ]
    latest = [run(5, "a", "y"), run(4, "b", "z")]
    assert previous_gradings(runs, latest) == {"a": 2}


def test_attempts_show_late_ones_apart():
    t = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    figure = attempts_figure(
        [
            Attempt(1, "a" * 40, t, 0.0, 5.0, False, 11),
            Attempt(2, "b" * 40, t, 4.5, 5.0, True, 12, 2),
        ]
    )
    assert figure.labels == ("#1", "#2")
    assert [s.values for s in figure.series] == [(0.0, 4.5), (None, 4.5)]
    assert not figure.empty  # a score of 0 is drawn
    assert figure.table()[1][1] == (
        2,
        "b" * 40,
        "",
        "2026-12-01T09:00:00Z",
        "4.5",
        "5",
        "yes",
        2,
        12,
    )


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("a\nb\tc\x00d\u2028e", 20, "a b c d e"),
        ("0123456789abc", 10, "012345678…"),
    ],
)
def test_short_labels(text, limit, expected):
    assert short_label(text, limit) == expected


EVIL = "</text><script>alert(1)</script>&amp;"


def test_a_chart_is_inline_svg_without_script_or_style_and_escapes_every_label():
    figure = failures_figure(failures({"r": seen(f"{EVIL}:failed", "ok:passed")}))
    svg = str(charts.svg(figure))
    assert svg.startswith("<svg") and 'viewBox="0 0 480 ' in svg
    assert "<script" not in svg and "<style" not in svg and " style=" not in svg
    assert " id=" not in svg and 'width="480"' not in svg.split(">")[0]
    assert "&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;" in svg
    assert 'role="img"' in svg and "Pygal" not in svg
    # Each bar has a title a pointer reads: the full label, the series, the value.
    assert "<title>ok · failing %: 0</title>" in svg


def test_a_charts_csv_is_its_numbers_and_keeps_formulas_text():
    figure = Figure(
        key="tests",
        title="t",
        labels=("=cmd()", "+1", "@x", "-2", "plain"),
        series=(Series("n", (1, 2.5, None, 0, 3)),),
    )
    text = charts.csv_text(figure)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert list(csv.reader(io.StringIO(text))) == [
        ["label", "n"], ["'=cmd()", "1"], ["'+1", "2.5"], ["'@x", ""], ["'-2", "0"],
        ["plain", "3"],
    ]  # fmt: skip
