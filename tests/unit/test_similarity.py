"""The similarity report's core on 30 submissions of one small task (tests/unit/samples/similarity:
a word-statistics homework, its template, 26 students who wrote their own and 4 who copied):
the planted copies are exactly the pairs reported, whatever was done to hide them, and no two
independent solutions are, though a small task makes them converge; the template's code counts
for nobody."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ghapp.core import similarity
from ghapp.core.similarity import (
    Settings,
    SourceFile,
    SubmittedCode,
    compare,
    compare_json,
    decoded,
    in_order,
    payload,
    report_from_json,
    wanted,
)

SAMPLES = Path(__file__).parent / "samples" / "similarity"
# Each planted pair, and what its copier did to hide it.
PLANTED = {
    ("gus", "hal"): "hal is gus's solution with every variable renamed",
    ("ola", "omar"): "ola is omar's solution with its functions in another order",
    (
        "tara",
        "tim",
    ): "tim is tara's solution with its comments and docstrings rewritten, more added",
    ("dan", "dara"): "dan is dara's solution renamed, reordered and commented anew",
}
# Students who barely started: the template and one function of their own each.
BARELY_STARTED = ("yuri", "zoe")


def files_of(folder: Path) -> tuple[SourceFile, ...]:
    return tuple(
        SourceFile(str(p.relative_to(folder)), p.read_text())
        for p in sorted(folder.rglob("*"))
        if p.is_file() and wanted(str(p.relative_to(folder)), p.stat().st_size)
    )


SUBMISSIONS = [
    SubmittedCode(folder.name, files_of(folder))
    for folder in sorted(SAMPLES.iterdir())
    if folder.is_dir() and folder.name != "template"
]
TEMPLATE = files_of(SAMPLES / "template")


@pytest.fixture(scope="module")
def report():
    return compare(SUBMISSIONS, TEMPLATE)


def why(pairs) -> str:
    return "; ".join(f"{a}~{b}: {score:.2f}" for (a, b), score in pairs)


def test_the_samples_are_thirty_submissions_of_one_task_and_a_template():
    assert len(SUBMISSIONS) == 30
    assert all(s.files for s in SUBMISSIONS)
    assert [f.path for f in TEMPLATE] == ["wordstats.py"]  # README.md is not code
    assert [f.path for f in next(s for s in SUBMISSIONS if s.key == "xia").files] == [
        "textutil.py",
        "wordstats.py",
    ]


def test_the_planted_copies_are_exactly_the_pairs_reported(report):
    found = {(p.a, p.b): p for p in report.pairs}
    missed = {pair: reason for pair, reason in PLANTED.items() if pair not in found}
    assert not missed, f"copies not found: {missed}"
    extra = sorted((pair, p.score) for pair, p in found.items() if pair not in PLANTED)
    assert not extra, f"independent solutions reported: {why(extra)}"
    assert report.compared == 30
    for pair, reason in PLANTED.items():
        # Each side is nearly all the other's: what was changed is invisible to the tokens.
        assert found[pair].similarity_a >= 0.9 and found[pair].similarity_b >= 0.9, reason
        assert found[pair].tokens >= 250, reason


def test_no_two_independent_solutions_come_near_the_threshold(report):
    independent = sorted(
        ((pair, score) for pair, score in report.scores.items() if pair not in PLANTED),
        key=lambda item: -item[1],
    )
    assert len(independent) > 150  # many pairs share something: a small task converges
    substantial = Settings(threshold=0.0, min_tokens=Settings().min_tokens, top=10_000)
    matched_enough = {
        (p.a, p.b): p.score
        for p in compare(SUBMISSIONS, TEMPLATE, substantial).pairs
        if (p.a, p.b) not in PLANTED
    }
    highest = max(matched_enough.items(), key=lambda item: item[1])
    assert highest[1] < 0.5, f"too close to {Settings().threshold}: {why([highest])}"
    # Above 0.5 only pairs with a barely-started student, whose few own lines are a loop
    # every beginner writes: too little to report, whatever the share.
    close = [(pair, s) for pair, s in independent if s >= 0.5]
    assert all(set(pair) & set(BARELY_STARTED) for pair, _ in close), why(close)
    assert report.below == independent[0][1]


def test_the_templates_code_counts_for_nobody(report):
    without = compare(SUBMISSIONS, ())
    found = {(p.a, p.b) for p in without.pairs}
    # Without the template, the two who barely started look alike: their code is its code.
    assert BARELY_STARTED in found
    assert BARELY_STARTED not in {(p.a, p.b) for p in report.pairs}
    assert report.scores.get(BARELY_STARTED, 0.0) < 0.3
    # And the template itself, submitted unchanged, has nothing of its own to compare.
    alone = compare([SubmittedCode("unchanged", TEMPLATE), *SUBMISSIONS[:3]], TEMPLATE)
    assert alone.compared == 3


def test_each_fragment_shows_the_copy_beside_its_original(report):
    found = {(p.a, p.b): p for p in report.pairs}
    renamed = found[("gus", "hal")]
    assert any("best_word" in f.text_a and "top_w" in f.text_b for f in renamed.fragments)
    # Functions moved elsewhere: each is a fragment of its own, beside the place it moved to.
    moved = found[("ola", "omar")]
    assert len(moved.fragments) >= 3
    buckets = next(f for f in moved.fragments if "for count in sorted(buckets" in f.text_a)
    assert "for count in sorted(buckets" in buckets.text_b
    assert buckets.first_a != buckets.first_b
    lines_a = SAMPLES.joinpath("ola", "wordstats.py").read_text().splitlines()
    assert buckets.text_a.splitlines()[0] == lines_a[buckets.first_a - 1]
    # The template's docstrings, on the ends of a fragment, are not what is shown as copied
    # when the student's own code around them is long enough to tell.
    recommented = found[("tara", "tim")]
    assert all(f.last_a >= f.first_a and f.last_b >= f.first_b for f in recommented.fragments)


def test_the_same_code_gives_the_same_report_in_any_process():
    """Python salts its string hashes per process; copydetect hashes k-grams with them. With
    every k-gram kept no score depends on the salt: another process gives the same report."""
    asked = payload(SUBMISSIONS[:12], TEMPLATE)
    script = "import sys; from ghapp.core.similarity import compare_json; "
    script += "sys.stdout.buffer.write(compare_json(sys.stdin.buffer.read()))"
    salted = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"  # not this process's salt
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=asked,
        capture_output=True,
        env={"PYTHONHASHSEED": salted, "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=True,
    )
    there = report_from_json(done.stdout)
    here = report_from_json(compare_json(asked))
    assert there == here and there.pairs  # the copies among the first 12 (dan, dara)
    assert json.loads(done.stdout)["pairs"][0]["fragments"]


def test_what_counts_as_a_submissions_code():
    assert wanted("wordstats.py", 100) and wanted("src/Main.java", 100) and wanted("a/b.C", 9)
    for path in ("README.md", "data.csv", "notes.txt", "Makefile", "x.ipynb"):
        assert not wanted(path, 100), path
    for path in ("node_modules/x/index.js", ".github/x.py", "venv/lib/a.py", "build/gen.c"):
        assert not wanted(path, 100), path
    assert not wanted("empty.py", 0)
    assert not wanted("huge.py", similarity.MAX_FILE_BYTES + 1)
    assert in_order(["b/z.py", "a.py", "a/b/c.py", "z.py"]) == [
        "a.py",
        "z.py",
        "b/z.py",
        "a/b/c.py",
    ]
    assert decoded(b"x = 1\n") == "x = 1\n"
    assert decoded(b"\xef\xbb\xbfx = 1\n") == "x = 1\n"  # a BOM is not code
    assert decoded(b"x = 1\0\n") is None  # binary
    assert decoded(b"x = '\xff'\n") is None  # not UTF-8
    assert decoded(b"x = [" + b"1, " * 500 + b"]\n") is None  # minified or generated


def test_a_submissions_size_is_capped():
    many = [SourceFile(f"f{i}.py", "x = 1\n") for i in range(similarity.MAX_FILES + 5)]
    assert len(similarity.capped(many)) == similarity.MAX_FILES
    big = [SourceFile(f"f{i}.py", "x" * 30_000) for i in range(10)]
    kept = similarity.capped(big)
    assert sum(len(f.text) for f in kept) <= similarity.MAX_SUBMISSION_CHARS


def test_hostile_code_is_compared_in_bounded_time():
    """The same statement thousands of times (a k-gram repeated everywhere), and odd names."""
    flood = "x = x + 1\n" * 6000
    submissions = [
        SubmittedCode("flood-1", (SourceFile("a.py", flood),)),
        SubmittedCode("flood-2", (SourceFile("b\u202e.py", flood),)),
        SubmittedCode("empty", (SourceFile("e.py", "\n\n"),)),
        SubmittedCode("odd", (SourceFile("<script>.py", "print('<b>')\n" * 3),)),
    ]
    started = time.monotonic()
    found = compare(submissions, TEMPLATE)
    assert time.monotonic() - started < 30
    assert [(p.a, p.b) for p in found.pairs] == [("flood-1", "flood-2")]
    assert found.compared == 3  # "empty" has no code to compare


def test_a_commits_code_is_its_own_source_files(tmp_path):
    """What the work loop takes of an extracted commit: text source files by suffix, top-level
    first; never through a link, never binary, huge, minified or vendored files."""
    from ghapp.work.similarity import source_files

    (tmp_path / "src").mkdir()
    (tmp_path / "node_modules" / "lib").mkdir(parents=True)
    (tmp_path / "main.py").write_text("print('hi')\n")
    (tmp_path / "src" / "util.py").write_text("def f():\n    return 1\n")
    (tmp_path / "node_modules" / "lib" / "index.js").write_text("module.exports = 1;\n")
    (tmp_path / "blob.py").write_bytes(b"\x00\x01\x02 not text")
    (tmp_path / "latin1.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "huge.py").write_text("x = 1\n" * 20_000)
    (tmp_path / "min.js").write_text("var a=1;" * 500)
    (tmp_path / "notes.md").write_text("# notes\n")
    (tmp_path / "empty.py").write_text("\n\n")
    (tmp_path / "link.py").symlink_to(tmp_path / "main.py")
    (tmp_path / "linked").symlink_to(tmp_path / "src", target_is_directory=True)
    found = source_files(tmp_path)
    assert [f.path for f in found] == ["main.py", "src/util.py"]
    assert found[0].text == "print('hi')\n"
