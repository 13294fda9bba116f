"""The dashboard's charts, in one house style: pygal's SVG, put inline in the page with its
script and inline styles taken out (the pages' Content-Security-Policy allows neither; the
stylesheet's "insights" block colours them), sized by a viewBox so they shrink to a phone's
width; and each chart's numbers as the CSV beside it."""

from __future__ import annotations

import csv
import functools
import io
import math
import xml.etree.ElementTree as ET  # serialising pygal's tree; nothing is parsed
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pygal
from markupsafe import Markup
from pygal.style import Style

from ghapp.core.insights import Figure, Series, TestChange, TestFailures, short_label
from web.gradebook import cell, number

# The viewBox: drawn at the width of the page, at most 40rem (its text 1.3 times as large as laid
# out), and on a phone's 355 px at 0.74 times: 10 px and more.
WIDTH, HEIGHT = 480, 300
# Sizes pygal lays the chart out with; the stylesheet's insights block draws text at the same.
STYLE = Style(
    background="transparent",
    plot_background="transparent",
    foreground="#1f2328",
    foreground_strong="#1f2328",
    foreground_subtle="#59636e",
    colors=("#0969da", "#8250df", "#cf222e", "#9a6700"),
    font_family="system-ui, sans-serif",
    label_font_size=14,
    major_label_font_size=14,
    legend_font_size=14,
    value_font_size=13,
    title_font_size=16,
    tooltip_font_size=14,
    no_data_font_size=18,
)
_KINDS = {
    "scores": pygal.Bar,
    "latency": pygal.Bar,
    "pushes": pygal.StackedBar,
    "tests": pygal.HorizontalBar,
    "regrade": pygal.HorizontalBar,
    "attempts": pygal.Line,
}
_PERCENT = ("tests",)
CHAR_PX, GAP_PX = 8.5, 14.0  # about how wide a label's character is at 14 px; room between two
_DROPPED = ("script", "style")
SVGS_KEPT = 128  # charts kept drawn, per process (tens of KiB each)
STAMP = "%Y-%m-%dT%H:%M:%SZ"  # times in the CSVs: UTC, ISO 8601
ATTEMPT_COLUMNS = (
    "attempt", "commit", "pushed_at", "graded_at", "score", "max", "late", "gradings", "job",
)  # fmt: skip


def _ticks(top: float, most: int = 6) -> list[float]:
    """Round, whole steps from 0 past `top` (0 1 2 3, 0 5 10 15), never half a student."""
    for exponent in range(12):
        for mantissa in (1, 2, 5):
            step = mantissa * 10**exponent
            if top / step <= most:
                return [i * step for i in range(math.ceil(top / step) + 1)]
    return [0, top]


def _spaced(labels: tuple[str, ...], marks: tuple[str, ...], *, points: bool) -> dict[str, str]:
    """The labels to write along the x axis, level (no tilted text on a phone), and how each
    is anchored: the marks (the deadline) first, then others from the left, each only where it
    keeps clear of those already placed; one at an end of the plot is anchored to stay in.
    Labels name bars (centred in their slot) or, `points`, a line's points (from end to end)."""
    plot = 0.9 * WIDTH  # about what pygal leaves of the width once the y labels are drawn
    slot = plot / max(len(labels) - (1 if points else 0), 1)
    placed: list[tuple[float, float]] = []
    chosen: dict[str, str] = {}
    for i in [*(i for i, t in enumerate(labels) if t in marks), *range(len(labels))]:
        text = labels[i]
        if text in chosen:
            continue
        width = CHAR_PX * len(text)
        centre = i * slot if points else (i + 0.5) * slot
        low, high, anchor = centre - width / 2, centre + width / 2, "middle"
        if low < 0:
            edge = centre if points else centre - slot / 2
            low, high, anchor = edge, edge + width, "start"
        elif high > plot:
            edge = centre if points else centre + slot / 2
            low, high, anchor = edge - width, edge, "end"
        if all(high + GAP_PX <= a or low >= b + GAP_PX for a, b in placed):
            placed.append((low, high))
            chosen[text] = anchor
    return chosen


def _chart(figure: Figure, anchors: dict[str, str]):
    kind = _KINDS[figure.key]
    horizontal = kind is pygal.HorizontalBar
    rows = len(figure.labels)
    values = [v for s in figure.series for v in s.values if v is not None]
    top = max(values, default=0)
    config = dict(
        style=STYLE,
        js=[],
        css=[],
        disable_xml_declaration=True,
        classes=["pygal-chart", f"chart-{figure.key}"],
        width=WIDTH,
        height=max(HEIGHT, 80 + 28 * rows * len(figure.series)) if horizontal else HEIGHT,
        explicit_size=False,
        margin=6,
        spacing=8,
        legend_at_bottom=True,
        show_legend=len(figure.series) > 1,
        legend_at_bottom_columns=1 if any(len(s.name) > 12 for s in figure.series) else None,
        truncate_label=-1,
        truncate_legend=-1,
        print_values=kind is not pygal.Line and rows <= 20,
        print_zeroes=False,
        no_data_text="Nothing yet",
        include_x_axis=True,
        show_minor_x_labels=True,
    )
    if figure.key in _PERCENT:
        config.update(range=(0, 100), y_labels=[0, 25, 50, 75, 100])
    else:
        ticks = _ticks(top or 1)
        config.update(range=(0, ticks[-1]), y_labels=ticks)
        if figure.key == "attempts":
            config.update(dots_size=5)
    if anchors and len(anchors) < rows:  # not room for every label: those that fit
        config.update(x_labels_major=list(anchors), show_minor_x_labels=False)
    if figure.key == "pushes" and rows > 5:
        config.update(print_values=False)
    chart = kind(**config)
    # pygal stacks a horizontal chart's first label at the bottom: the first (the most failed)
    # belongs on top.
    order = (lambda items: list(reversed(items))) if horizontal else list
    chart.x_labels = order(figure.labels)
    for series in figure.series:
        options = {}
        if figure.key == "attempts" and series.name == "late":
            options = {"stroke": False, "dots_size": 8}
        values = order(series.values)
        if kind is pygal.StackedBar:  # a stack of nothing is no bar (a third of the drawing)
            values = [v or None for v in values]
        chart.add(series.name, values, **options)
    return chart


@functools.lru_cache(maxsize=SVGS_KEPT)
def svg(figure: Figure, title: str | None = None) -> Markup:
    """The chart as an inline `<svg>`: no script, no style of its own, every label escaped,
    each bar or dot with a title (the label, the series, the value) for a pointer to read.
    Drawing takes pygal tens of milliseconds; the same numbers are drawn once (a figure is
    its numbers: frozen, compared whole)."""
    title = title or figure.title
    kind = _KINDS[figure.key]
    anchors = {}
    if kind is not pygal.HorizontalBar:  # whose labels are rows, one above the other
        anchors = _spaced(figure.labels, figure.marks, points=kind is pygal.Line)
    root = _chart(figure, anchors).render_tree()
    _clean(root)
    full = dict(zip(figure.labels, figure.titles, strict=False))
    names = [s.name for s in figure.series]
    _point_titles(root, names, full)
    _x_axis(root, figure.marks, anchors)
    for element in root.findall("title"):  # pygal's own says "Pygal"
        element.text = title
    root.set("role", "img")
    root.set("aria-label", title)
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 (escaped by ElementTree)


def _clean(element: ET.Element) -> None:
    """Remove pygal's script, stylesheet, tooltip layer, comments, ids and inline styles."""
    for child in list(element):
        tag = child.tag if isinstance(child.tag, str) else ""
        classes = (child.get("class") or "").split()
        if tag in _DROPPED or not tag or "tooltip-overlay" in classes:
            element.remove(child)
            continue
        _clean(child)
    for name in ("style", "id"):
        element.attrib.pop(name, None)


def _x_axis(root: ET.Element, marks: tuple[str, ...], anchors: dict[str, str]) -> None:
    """Mark the deadline's labels; anchor the labels `anchors` says to (at the plot's ends)."""
    for axis in root.iter("g"):
        if "x" not in (axis.get("class") or "").split():
            continue
        for label in axis.iter("text"):
            classes = [label.get("class") or ""]
            if label.text in marks:
                classes.append("mark")
            if anchors.get(label.text or "", "middle") != "middle":
                classes.append(anchors[label.text or ""])
            label.set("class", " ".join(c for c in classes if c))


def _point_titles(root: ET.Element, names: list[str], full: dict[str, str]) -> None:
    for group in root.iter("g"):
        classes = (group.get("class") or "").split()
        index = next((c[len("serie-") :] for c in classes if c.startswith("serie-")), None)
        if "series" not in classes or index is None or not index.isdigit():
            continue
        name = names[int(index)] if int(index) < len(names) else ""
        for point in group.iter("g"):
            if not {"bar", "dots"} & set((point.get("class") or "").split()):
                continue
            descs = {(d.get("class") or "").split()[0]: d.text or "" for d in point.iter("desc")}
            label = descs.get("x_label", "")
            said = short_label(full.get(label, label), 1000)
            text = ET.SubElement(point, "title")
            text.text = f"{said} · {name}: {descs.get('value', '')}"


def _cell(value: object) -> str:
    """A number as the dashboard writes it; text with a spreadsheet's formula start kept text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return number(value)
    return cell("" if value is None else str(value))


def csv_text(figure: Figure) -> str:
    """The chart's numbers: a header, then a line per label (CRLF, as spreadsheets expect)."""
    header, rows = figure.table()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_cell(name) for name in header])
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


# -- the insights' tables as charts ------------------------------------------------------------


def failures_figure(table: Sequence[TestFailures], *, top: int = 30) -> Figure:
    """The failure rate of the `top` most failed tests (in percent); the CSV has every test."""
    shown = list(table[:top])
    regraded = any(t.before is not None for t in table)
    series = [Series("failing %", tuple(round(100 * t.rate, 1) for t in shown))]
    if regraded:
        series.append(
            Series(
                "before the regrade %", tuple(round(100 * (t.rate_before or 0), 1) for t in shown)
            )
        )
    columns = ("test", "visibility", "failing", "graded", "failing_percent")
    if regraded:
        columns += ("failing_before_regrade", "graded_before_regrade")
    rows = tuple(
        (
            t.name,
            t.visibility,
            t.failing,
            t.ran,
            round(100 * t.rate, 1),
            *((t.before, t.ran_before) if regraded else ()),
        )
        for t in table
    )
    return Figure(
        key="tests",
        title="Failing, by test (% of repos)",
        labels=tuple(short_label(t.name) for t in shown),
        series=tuple(series),
        columns=columns,
        rows=rows,
        titles=tuple(t.name for t in shown),
    )


def changes_figure(table: Sequence[TestChange], *, top: int = 30) -> Figure:
    shown = [c for c in table if c.broke or c.fixed][:top] or list(table[:top])
    return Figure(
        key="regrade",
        title="Failing before and after the regrade (repos)",
        labels=tuple(short_label(c.name) for c in shown),
        series=(
            Series("before", tuple(c.before for c in shown)),
            Series("after", tuple(c.after for c in shown)),
        ),
        columns=("test", "failing_before", "failing_after", "newly_failing", "newly_passing"),
        rows=tuple((c.name, c.before, c.after, c.broke, c.fixed) for c in table),
        titles=tuple(c.name for c in shown),
    )


@dataclass(frozen=True)
class Attempt:
    """A commit graded: its newest grading's score."""

    number: int
    sha: str
    graded_at: datetime
    score: float | None
    max_score: float | None
    late: bool
    job_id: int
    gradings: int = 1  # how often the commit was graded (more: regraded)
    pushed_at: datetime | None = None  # when the commit was first pushed


def attempts_figure(attempts: Sequence[Attempt]) -> Figure:
    """Score per attempt, in the order the commits were first graded; late ones apart."""
    labels = tuple(f"#{a.number}" for a in attempts)
    scores = [a.score if a.score is not None and math.isfinite(a.score) else None for a in attempts]
    series = [Series("score", tuple(scores))]
    if any(a.late for a in attempts):
        late = (s if a.late else None for s, a in zip(scores, attempts, strict=True))
        series.append(Series("late", tuple(late)))
    rows = tuple(
        (
            a.number,
            a.sha,
            "" if a.pushed_at is None else a.pushed_at.astimezone(UTC).strftime(STAMP),
            a.graded_at.astimezone(UTC).strftime(STAMP),
            number(a.score),
            number(a.max_score),
            "yes" if a.late else "no",
            a.gradings,
            a.job_id,
        )
        for a in attempts
    )
    return Figure(
        key="attempts",
        title="Score per attempt",
        labels=labels,
        series=tuple(series),
        columns=ATTEMPT_COLUMNS,
        rows=rows,
        zero_is_data=True,
    )
