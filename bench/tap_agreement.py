"""How often pushgrade's TAP reading agrees with tap-parser, the TAP maintainers' own parser, on
tap-parser's fixture set read at a fixed commit.

    git clone https://github.com/tapjs/tap-parser /tmp/tap-parser   # or any mirror of it
    .venv/bin/python bench/tap_agreement.py /tmp/tap-parser [--commit 166c24a] [--list]

For each `test/fixtures/*.tap` it compares what pushgrade reads with the `complete` event
tap-parser's own snapshot records for that stream (`tap-snapshots/test/parser/*.test.cjs`,
`bail=false`):
- the verdict: pushgrade's `passed` against tap-parser's `ok`;
- the counts: the top-level test points in order, each passed, failed or skipped (TODO and SKIP
  both read as skipped by pushgrade), against tap-parser's top-level `assert` events.

A stream pushgrade does not read as TAP at all (no plan, no test point, no bail out) is reported
apart: pushgrade then decides by the grader's exit code, which these fixtures do not have.
Nothing of tap-parser is copied here; its files are read from the git repository when run.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from runner.outcome import TestStatus  # noqa: E402
from runner.results.tap import parse_tap  # noqa: E402

# tap-parser 13.0.1, the last release before the package moved into the tapjs monorepo.
DEFAULT_COMMIT = "166c24a12642843a0ffea3a0e6e6b38741583276"

_EVENT = re.compile(r'^ {4}"(\w+)",$')
_FIELD = re.compile(r'^ {6}"(\w+)": (.*?),?$')


@dataclass(frozen=True)
class Theirs:
    ok: bool
    points: tuple[tuple[int | None, str], ...]  # (id, "passed" | "failed" | "skipped")


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def _truthy(value: str) -> bool:
    return value not in ("false", "null", '""', "0")


def read_snapshot(text: str, name: str) -> Theirs:
    """The top-level asserts and final verdict of the `bail=false` run of one fixture."""
    start = text.index(f"TAP {name} > output bail=false")
    block = text[start : text.index("\n`\n", start)]
    event = ""
    fields: dict[str, str] = {}
    points: list[tuple[int | None, str]] = []
    ok: bool | None = None

    def close() -> None:
        nonlocal ok
        if event == "assert":
            status = "passed" if fields.get("ok") == "true" else "failed"
            if _truthy(fields.get("skip", "false")) or _truthy(fields.get("todo", "false")):
                status = "skipped"
            number = fields.get("id", "null")
            points.append((None if number in ("null", "undefined") else int(number), status))
        elif event == "complete":
            ok = fields.get("ok") == "true"

    for line in block.splitlines():
        if match := _EVENT.match(line):
            close()
            event, fields = match[1], {}
        elif match := _FIELD.match(line):
            fields.setdefault(match[1], match[2])
    close()
    if ok is None:
        raise ValueError(f"{name}: no complete event in its snapshot")
    return Theirs(ok=ok, points=tuple(points))


_STATUS = {TestStatus.PASSED: "passed", TestStatus.FAILED: "failed", TestStatus.SKIPPED: "skipped"}


def compare(repo: Path, commit: str) -> list[tuple[str, str, str]]:
    """(fixture, what differs or "", detail) for every fixture."""
    names = sorted(
        Path(p).name
        for p in _git(repo, "ls-tree", "--name-only", commit, "test/fixtures/").split()
        if p.endswith(".tap")
    )
    rows = []
    for name in names:
        stream = _git(repo, "show", f"{commit}:test/fixtures/{name}")
        snapshot = _git(repo, "show", f"{commit}:tap-snapshots/test/parser/{name}.test.cjs")
        theirs = read_snapshot(snapshot, name)
        ours = parse_tap(stream)
        if ours is None:
            rows.append((name, "not TAP", f"tap-parser: ok={theirs.ok}"))
            continue
        mine = tuple(
            (int(t.number) if t.number and t.number.isdigit() else None, _STATUS[t.status])
            for t in ours.tests
        )
        differs = []
        if ours.passed != theirs.ok:
            differs.append("verdict")
        if [s for _, s in mine] != [s for _, s in theirs.points]:
            differs.append("counts")
        detail = (
            f"ours passed={ours.passed} {_tally(mine)}; tap-parser ok={theirs.ok} "
            f"{_tally(theirs.points)}; notes: {'; '.join(ours.notes) or '-'}"
        )
        rows.append((name, "+".join(differs), detail))
    return rows


def _tally(points: tuple[tuple[int | None, str], ...]) -> str:
    statuses = [s for _, s in points]
    return "/".join(f"{statuses.count(s)}{s[0]}" for s in ("passed", "failed", "skipped"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path, help="a clone (or bare mirror) of tapjs/tap-parser")
    parser.add_argument("--commit", default=DEFAULT_COMMIT)
    parser.add_argument(
        "--list", action="store_true", help="print every fixture, not only differences"
    )
    args = parser.parse_args()
    rows = compare(args.repo, args.commit)
    tap = [r for r in rows if r[1] != "not TAP"]
    verdicts = sum("verdict" not in r[1] for r in tap)
    both = sum(not r[1] for r in tap)
    for name, differs, detail in rows:
        if differs or args.list:
            print(f"{name:50} {differs or 'agrees':16} {detail}")
    print(
        f"\n{len(rows)} streams at {args.commit[:7]}: {len(rows) - len(tap)} not read as TAP; "
        f"of the other {len(tap)}, verdict agrees on {verdicts}, verdict and counts on {both}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
