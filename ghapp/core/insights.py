"""What a class struggles with, as arithmetic: score histograms, pushes against the deadline,
how long results took, per-test failure rates and what a regrade changed. A chart is a
`Figure`: the labels and series it draws and the table its CSV gives (web.charts draws it),
from plain values read elsewhere. Stored results are not trusted to be well-formed: what
cannot be read is left out."""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, Protocol

FAILING = ("failed", "errored")
DASH = "\N{EN DASH}"  # between the ends of a range, as in 2-5 s
LABEL_CHARS = 32  # of a test name in a chart; the tables show more, the title all of it
MAX_PUSH_BINS = 48
# Bin widths for pushes over time, finest first: the finest giving at most MAX_PUSH_BINS.
PUSH_WIDTHS = tuple(
    timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
)
# Result latency bins: upper edges in seconds (the last bin is open).
LATENCY_EDGES = (1, 2, 5, 10, 30, 60, 120, 300, 900)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Figure:
    """One chart: `labels` along its axis, one value per label in each series; `columns` and
    `rows` are its numbers for the CSV (by default the labels and the series); `marks` are
    labels to stand out (the deadline); `titles` the full text of labels cut short."""

    key: str
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    label_column: str = "label"
    columns: tuple[str, ...] = ()
    rows: tuple[tuple, ...] = ()
    marks: tuple[str, ...] = ()
    titles: tuple[str, ...] = ()
    note: str = ""  # a line under the chart
    zero_is_data: bool = False  # a score of 0 is something to draw; a count of 0 is not

    @property
    def empty(self) -> bool:
        values = [v for s in self.series for v in s.values if v is not None]
        return not any(values) and not (self.zero_is_data and values)

    def table(self) -> tuple[tuple[str, ...], tuple[tuple, ...]]:
        if self.columns:
            return self.columns, self.rows
        header = (self.label_column, *(s.name for s in self.series))
        values = zip(*(s.values for s in self.series), strict=True) if self.series else ()
        return header, tuple((label, *v) for label, v in zip(self.labels, values, strict=True))


def short_label(text: str, limit: int = LABEL_CHARS) -> str:
    """A name on one line and at most `limit` characters (an ellipsis marks a cut)."""
    text = _UNPRINTABLE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0 ≤ q ≤ 1) by linear interpolation between the closest ranks (the
    median of 1, 2, 3, 4 is 2.5); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _number(value: float) -> str:
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:g}"


# -- scores ------------------------------------------------------------------------------------


Scored = tuple[float | None, float | None]  # (score, max_score) of one graded run


def score_histogram(latest: Sequence[Scored], best: Sequence[Scored]) -> Figure:
    """How many repos scored what, by their latest and by their best graded run. One bin per
    point when every run is out of the same whole number of points (at most 20) and scored
    whole; else ten bins of a tenth of the points each (of the percentage when the runs are
    out of different maxima), each holding its lower edge, the last its upper too."""
    latest = [(_real(s), _real(m)) for s, m in latest]  # NaN or infinity: no score
    best = [(_real(s), _real(m)) for s, m in best]
    scored = [(s, m) for s, m in (*latest, *best) if s is not None and m is not None and m > 0]
    maxima = {m for _, m in scored}
    top = maxima.pop() if len(maxima) == 1 else None
    whole = top is not None and float(top).is_integer() and top <= 20
    whole = whole and all(float(s).is_integer() for s, _ in scored)
    if whole:
        labels = tuple(str(i) for i in range(int(top) + 1))
    else:
        width = top / 10 if top is not None else 10.0
        labels = tuple(f"{_number(i * width)}{DASH}{_number((i + 1) * width)}" for i in range(10))

    def counts(runs: Sequence[Scored]) -> tuple[float, ...]:
        found = [0] * len(labels)
        for score, most in runs:
            if score is None or most is None or most <= 0:
                continue
            if whole:
                found[min(max(int(score), 0), len(labels) - 1)] += 1
                continue
            fraction = score / (top if top is not None else most)
            found[min(max(math.floor(round(fraction * 10, 9)), 0), 9)] += 1
        return tuple(found)

    unscored = sum(1 for s, m in latest if s is None or m is None or m <= 0)
    repos = "1 repo" if unscored == 1 else f"{unscored} repos"
    return Figure(
        key="scores",
        title="Scores (repos)" if top is not None else "Scores, in % of the points (repos)",
        labels=labels,
        series=(Series("latest", counts(latest)), Series("best", counts(best))),
        label_column="score" if top is not None else "percent",
        note=f"Not counted: {repos} whose latest graded run has no score (it errored)."
        if unscored
        else "",
    )


# -- pushes over time --------------------------------------------------------------------------


TIMINGS = (("on_time", "on time"), ("late", "late"), ("closed", "closed (not graded)"))


def push_timeline(
    pushes: Sequence[tuple[datetime, str | None]],
    *,
    due: datetime | None,
    cutoff: datetime | None,
    now: datetime,
    max_bins: int = MAX_PUSH_BINS,
) -> Figure:
    """Pushes per interval, by how the deadline judged them (on time, late, closed), from the
    first push to the last (or to the deadline, once it has passed). The interval is the finest
    of `PUSH_WIDTHS` that keeps to `max_bins`; a bin starts at the deadline, and at the cutoff
    too when it falls on a bin's start. Times are shown in the deadline's UTC offset. Pushes
    not judged (another branch) are left out."""
    judged = [(at, timing) for at, timing in pushes if timing in dict(TIMINGS)]
    zone = due.tzinfo if due is not None and due.tzinfo is not None else UTC
    names = tuple(name for _, name in TIMINGS)
    if not judged:
        return Figure("pushes", "Pushes over time", (), tuple(Series(n, ()) for n in names))
    start = min(at for at, _ in judged)
    end = max(at for at, _ in judged)
    if due is not None and due <= now:
        start, end = min(start, due), max(end, due)
    width = next((w for w in PUSH_WIDTHS if (end - start) / w < max_bins - 1), PUSH_WIDTHS[-1])
    midnight = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    origin = due if due is not None else midnight
    first = (start - origin) // width
    count = (end - origin) // width - first + 1
    edges = [origin + (first + i) * width for i in range(count)]
    counts = {timing: [0] * count for timing, _ in TIMINGS}
    for at, timing in judged:
        counts[timing][(at - origin) // width - first] += 1
    shape = "%d %b" if width >= timedelta(days=1) else "%d %b %H:%M"
    titles = [edge.astimezone(zone).strftime(shape) for edge in edges]
    labels = list(titles)
    marks = []
    for word, moment in (("due", due), ("cutoff", cutoff)):
        if moment is not None and moment in edges:  # the bin it starts: named by it
            i = edges.index(moment)
            labels[i], titles[i] = word, f"{word} {titles[i]}"
            marks.append(word)
    series = tuple(Series(name, tuple(counts[t])) for t, name in TIMINGS)
    rows = tuple(
        (edge.astimezone(zone).isoformat(), *(counts[t][i] for t, _ in TIMINGS))
        for i, edge in enumerate(edges)
    )
    minutes = int(width.total_seconds() // 60)
    units = ((1440, "d"), (60, "h"), (1, "min"))
    every = next(f"{minutes // n} {unit}" for n, unit in units if minutes >= n)
    return Figure(
        key="pushes",
        title=f"Pushes per {every}",
        labels=tuple(labels),
        series=series,
        columns=("from", *names),
        rows=rows,
        marks=tuple(marks),
        titles=tuple(titles),
    )


# -- result latency ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    figure: Figure
    count: int
    median_s: float | None
    p90_s: float | None


def _span(low: float, high: float | None = None) -> str:
    """1 s, 30 s, 2 min; a range in one unit where it can be (1-2 s, but 30 s-1 min)."""

    def unit(seconds: float) -> tuple[str, str]:
        return (f"{seconds / 60:g}", "min") if seconds >= 60 else (f"{seconds:g}", "s")

    (a, a_unit), (b, b_unit) = unit(low), unit(high if high is not None else low)
    if high is None:
        return f"{a} {a_unit}"
    return f"{a}{DASH}{b} {b_unit}" if a_unit == b_unit else f"{a} {a_unit}{DASH}{b} {b_unit}"


def latency(seconds: Sequence[float], *, min_bins: int = 5) -> Latency:
    """How long results took (a push received → its result accepted by GitHub): a histogram
    over `LATENCY_EDGES`, trailing empty bins dropped (`min_bins` kept), and its median and
    90th percentile."""
    edges = (0, *LATENCY_EDGES)
    labels = [f"< {_span(edges[1])}"]
    labels += [_span(low, high) for low, high in itertools.pairwise(edges[1:])]
    labels.append(f"≥ {_span(edges[-1])}")
    counts = [0] * len(labels)
    for value in seconds:
        counts[sum(1 for edge in LATENCY_EDGES if value >= edge)] += 1
    used = max([min_bins, *(i + 1 for i, c in enumerate(counts) if c)])
    figure = Figure(
        key="latency",
        title="Time to result",
        labels=tuple(labels[:used]),
        series=(Series("results", tuple(counts[:used])),),
        label_column="time to result",
    )
    return Latency(figure, len(seconds), percentile(seconds, 0.5), percentile(seconds, 0.9))


# -- tests -------------------------------------------------------------------------------------


class TestSeen(NamedTuple):
    """One test of a stored outcome, as far as it could be read (a tuple: a class of 500 has
    ten thousand of them on a page)."""

    __test__ = False  # not a pytest test class, despite the name

    name: str
    status: str
    visibility: str = "visible"
    score: float | None = None
    max_score: float | None = None
    output: str = ""

    @property
    def failing(self) -> bool:
        return self.status in FAILING


def _real(value: object) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok and math.isfinite(value) else None


def parse_tests(raw: object) -> list[TestSeen]:
    """The tests of a stored outcome's `tests` list; entries without a name or a status are
    left out."""
    found = []
    for entry in raw if isinstance(raw, list) else ():
        if not isinstance(entry, dict):
            continue
        name, status = entry.get("name"), entry.get("status")
        if not isinstance(name, str) or not isinstance(status, str):
            continue
        visibility, output = entry.get("visibility"), entry.get("output")
        visibility = visibility if isinstance(visibility, str) else "visible"
        output = output if isinstance(output, str) else ""
        score, most = _real(entry.get("score")), _real(entry.get("max_score"))
        found.append(TestSeen(name, status, visibility, score, most, output))
    return found


def tests_by_submission(rows: Iterable[tuple[int, str, str, object]]) -> dict[int, list[TestSeen]]:
    """(submission id, name, status, visibility) rows, as each submission's tests; a test
    without a visibility is visible (Gradescope's default)."""
    found: dict[int, list[TestSeen]] = {}
    for submission, name, status, visibility in rows:
        if isinstance(name, str) and isinstance(status, str):
            shown = visibility if isinstance(visibility, str) else "visible"
            found.setdefault(submission, []).append(TestSeen(name, status, shown))
    return found


@dataclass(frozen=True)
class TestFailures:
    """How many repos fail one test (by their latest graded run), and which."""

    __test__ = False

    name: str
    visibility: str  # the least visible it was reported with
    failing: int
    ran: int  # repos whose latest run has it
    repos: tuple[str, ...]  # those failing it
    before: int | None = None  # failing before the regrade (None: no repo was regraded)
    ran_before: int | None = None

    @property
    def rate(self) -> float:
        return self.failing / self.ran if self.ran else 0.0

    @property
    def rate_before(self) -> float | None:
        if self.before is None or self.ran_before is None:
            return None
        return self.before / self.ran_before if self.ran_before else 0.0

    @property
    def hidden(self) -> bool:
        return self.visibility != "visible"


_SECRECY = {"visible": 0, "after_published": 1, "after_due_date": 2, "hidden": 3}


def _by_test(runs: Mapping[str, Sequence[TestSeen]]) -> dict[str, tuple[set, set, str]]:
    """Test name → (repos that ran it, repos failing it, its least visible visibility). A repo
    with two tests of one name fails it when either fails."""
    found: dict[str, tuple[set, set, str]] = {}
    for repo, tests in runs.items():
        for test in tests:
            ran, failing, seen = found.setdefault(test.name, (set(), set(), "visible"))
            ran.add(repo)
            if test.failing:
                failing.add(repo)
            if _SECRECY.get(test.visibility, 3) > _SECRECY.get(seen, 3):
                found[test.name] = (ran, failing, test.visibility)
    return found


def failures(
    latest: Mapping[str, Sequence[TestSeen]],
    previous: Mapping[str, Sequence[TestSeen]] | None = None,
) -> list[TestFailures]:
    """Per test, the repos failing it in their latest graded run, most failed first (by rate,
    then count, then name). With `previous` (the grading before the newest, of each repo whose
    latest commit was graded again), also how many failed it before: the class as it stood
    with those repos' earlier gradings."""
    now = _by_test(latest)
    before = _by_test({**latest, **previous}) if previous else None
    names = now.keys() | (before.keys() if before else set())
    table = []
    for name in names:
        ran, failing, visibility = now.get(name, (set(), set(), "visible"))
        was = before.get(name) if before is not None else None
        if was is not None and name not in now:
            visibility = was[2]
        table.append(
            TestFailures(
                name=name,
                visibility=visibility,
                failing=len(failing),
                ran=len(ran),
                repos=tuple(sorted(failing, key=str.lower)),
                before=None if before is None else len(was[1]) if was else 0,
                ran_before=None if before is None else len(was[0]) if was else 0,
            )
        )
    return sorted(table, key=lambda t: (-t.rate, -t.failing, t.name))


@dataclass(frozen=True)
class TestChange:
    """What a regrade changed about one test, over the repos graded again."""

    __test__ = False

    name: str
    before: int  # of the regraded repos, failing it in the grading before
    after: int  # failing it in the newest
    broke: int  # passing (or without it) before, failing now
    fixed: int  # failing before, passing (or without it) now


def changes(
    latest: Mapping[str, Sequence[TestSeen]], previous: Mapping[str, Sequence[TestSeen]]
) -> list[TestChange]:
    """Per test, over the repos in `previous` (graded again): failing before and after, and how
    many moved each way. Tests the regrade changed most first."""
    regraded = {repo: latest.get(repo, ()) for repo in previous}
    after, before = _by_test(regraded), _by_test(previous)
    table = []
    for name in after.keys() | before.keys():
        now = after.get(name, (set(), set(), ""))[1]
        was = before.get(name, (set(), set(), ""))[1]
        table.append(TestChange(name, len(was), len(now), len(now - was), len(was - now)))
    return sorted(table, key=lambda c: (-(c.broke + c.fixed), -c.after, c.name))


# -- regraded commits -------------------------------------------------------------------------


class Graded(Protocol):
    submission_id: int
    repo: str
    head_sha: str


def previous_gradings(runs: Iterable[Graded], latest: Iterable[Graded]) -> dict[str, int]:
    """For each of the `latest` runs that graded its commit again, the repo and the submission
    id of the grading just before it (of the same commit)."""
    earlier: dict[tuple[str, str], list[int]] = {}
    for run in runs:
        earlier.setdefault((run.repo, run.head_sha), []).append(run.submission_id)
    found = {}
    for run in latest:
        before = [i for i in earlier.get((run.repo, run.head_sha), ()) if i < run.submission_id]
        if before:
            found[run.repo] = max(before)
    return found
