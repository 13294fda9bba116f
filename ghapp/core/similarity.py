"""How alike the submissions of one assignment are: every student's code against every other's,
the template's code left out, the most similar pairs with their matching fragments. Pure: source
text in, pairs out; the work loop (`ghapp.work.similarity`) runs it in a process of its own.

The fingerprints are copydetect's: winnowing (Schleimer, Wilkerson and Aiken 2003, the algorithm
of MOSS) over pygments tokens in which every name becomes one letter, strings another, and
comments and layout are dropped; so renamed variables, reordered functions and rewritten
comments do not hide a copy. Chosen over Dolos and JPlag (a Node.js or a Java runtime beside
ours) and MOSS (students' code sent to a third party): a maintained pure-Python library, on
PyPI, for the ~500 languages pygments knows. copydetect (with numpy and matplotlib) is imported
only when a report is computed, never by the web or the CLI.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

# -- which files are a submission's code -------------------------------------------------------

# By suffix: languages taught, as pygments names them by file name. Text, data and notebooks
# are not code a student writes line by line.
SOURCE_SUFFIXES = frozenset(
    {
        ".py", ".java", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cs", ".js", ".mjs",
        ".jsx", ".ts", ".tsx", ".go", ".rs", ".rb", ".kt", ".kts", ".scala", ".swift", ".php",
        ".hs", ".ml", ".mli", ".r", ".jl", ".lua", ".pl", ".sh", ".sql", ".dart", ".ex", ".exs",
        ".erl", ".clj", ".fs", ".fsx", ".vb", ".pas", ".f90", ".v", ".sv", ".vhd", ".vhdl",
        ".asm", ".s", ".scm", ".rkt", ".lisp", ".elm", ".nim", ".zig",
    }
)  # fmt: skip
# Folders of other people's code (dependencies, build output).
SKIPPED_FOLDERS = frozenset(
    {
        "node_modules", "vendor", "third_party", "venv", "env", "site-packages", "__pycache__",
        "build", "dist", "target", "out", "bin", "obj",
    }
)  # fmt: skip
MAX_FILE_BYTES = 64 * 1024  # a bigger "source" file is generated or data, not a student's
MAX_LINE_CHARS = 1000  # a longer line: minified, generated
MAX_FILES = 40  # of one submission, top-level files first
# Tokenising is the cost (about 20 s a megabyte here): these keep a report of the largest
# class within the work loop's deadline. 64 KiB is some 1,500 lines, more than a homework.
MAX_SUBMISSION_CHARS = 64 * 1024  # of one submission, all files together
MAX_SUBMISSIONS = 300  # of one report: the most recent; the report says when there were more


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative, POSIX
    text: str


def wanted(path: str, size: int) -> bool:
    """Whether the file at `path` (relative to the commit's root) of `size` bytes is source
    code to compare: by its suffix, not hidden, not in a folder of dependencies or builds."""
    parts = PurePosixPath(path).parts
    if not parts or size > MAX_FILE_BYTES or size <= 0:
        return False
    if any(p.startswith(".") or p.lower() in SKIPPED_FOLDERS for p in parts):
        return False
    return PurePosixPath(parts[-1]).suffix.lower() in SOURCE_SUFFIXES


def in_order(paths: Iterable[str]) -> list[str]:
    """The order files are taken in until a cap is reached: top-level first, then by name."""
    return sorted(paths, key=lambda p: (p.count("/"), p))


def decoded(data: bytes) -> str | None:
    """A file's text, or None when it is not text a student writes: binary (a NUL byte), not
    UTF-8, or with a line longer than `MAX_LINE_CHARS` (minified)."""
    if b"\0" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if any(len(line) > MAX_LINE_CHARS for line in text.splitlines()):
        return None
    return text


def capped(files: Iterable[SourceFile]) -> tuple[SourceFile, ...]:
    """`files` (in order) up to `MAX_FILES` of them and `MAX_SUBMISSION_CHARS` in all."""
    kept, chars = [], 0
    for file in files:
        if len(kept) == MAX_FILES or chars + len(file.text) > MAX_SUBMISSION_CHARS:
            break
        kept.append(file)
        chars += len(file.text)
    return tuple(kept)


# -- comparing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    # copydetect's thresholds count characters of the filtered code, where `total += len(w)` is
    # `V+=V(V)`. On tests/unit/samples/similarity (25 independent solutions of a small task, 4
    # planted copies, its template) the planted copies score 0.98 at k=15, 0.96 at 20, 0.95 at
    # 25, 0.92 at 35; the most similar independent pair with 100 characters or more matched
    # scores 0.57 at 15, 0.56 at 20, 0.46 at 25, and none matches that much from 30 on. 25,
    # copydetect's default (about two statements), keeps them well apart and still finds a
    # copy whose statements were edited here and there (an edit hides the k characters around
    # it). `guarantee_t == noise_t`: every k-gram is kept (a winnowing window of 1), so no score
    # depends on Python's per-process string hashes, and files this small cost little.
    noise_t: int = 25
    guarantee_t: int = 25
    # Reported: at least this share of one side's own code (the template's left out) is found
    # in the other, and at least `min_tokens` characters of it. On the samples (k=25) the
    # copies score 0.95 and more with 287 characters or more; the independent ones 0.46 at
    # most, or 0.70 for a student who wrote 64 characters of their own (a counting loop).
    threshold: float = 0.6
    min_tokens: int = 100
    top: int = 50  # pairs kept, most similar first
    fragments: int = 12  # per pair, the longest
    fragment_lines: int = 80  # of one side of a fragment; longer ones are cut (marked)

    @property
    def window(self) -> int:
        return self.guarantee_t - self.noise_t + 1


@dataclass(frozen=True)
class SubmittedCode:
    key: str  # the repository
    files: tuple[SourceFile, ...]


@dataclass(frozen=True)
class Fragment:
    """A stretch of A's code and the stretch of B's it matches (lines count from 1)."""

    path_a: str
    first_a: int
    last_a: int
    text_a: str
    path_b: str
    first_b: int
    last_b: int
    text_b: str
    tokens: int  # filtered characters matched


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    similarity_a: float  # the share of A's own code (the template's left out) found in B
    similarity_b: float
    tokens: int  # filtered characters matched, the smaller side's
    fragments: tuple[Fragment, ...] = ()

    @property
    def score(self) -> float:
        return max(self.similarity_a, self.similarity_b)


@dataclass(frozen=True)
class Report:
    pairs: tuple[Pair, ...]  # reported (above the threshold), most similar first
    compared: int  # submissions with code of their own
    below: float = 0.0  # the highest score of a pair not reported: the teacher's yardstick
    scores: dict[tuple[str, str], float] = field(default_factory=dict, compare=False)


def compare(
    submissions: Sequence[SubmittedCode],
    template: Sequence[SourceFile] = (),
    settings: Settings = Settings(),
) -> Report:
    """Every submission against every other; the template's code matches nothing."""
    from copydetect.utils import get_token_coverage

    boilerplate: set = set()
    for file in template:
        boilerplate |= _fingerprint(file, settings.noise_t, 1).hashes
    prints = []
    for submitted in submissions[:MAX_SUBMISSIONS]:
        files = []
        for file in capped(submitted.files):
            fp = _fingerprint(file, settings.noise_t, settings.window)
            # Removed here, not by copydetect's `boilerplate=`: its intersect1d assumes unique
            # hashes, which a winnowed file's are not, and then misses some. What the template's
            # k-grams cover is kept, to cut it off the ends of the fragments shown.
            fp.template = _covered(fp, [i for h, i in fp.hash_idx.items() if h in boilerplate])
            fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in boilerplate}
            fp.hashes = set(fp.hash_idx)
            fp.token_coverage = get_token_coverage(fp.hash_idx, fp.k, len(fp.filtered_code))
            if fp.hashes:
                files.append((file, fp))
        if files:
            prints.append(_Prints(submitted.key, files))
    reported, scores, below = [], {}, 0.0
    for i, a in enumerate(prints):
        for b in prints[i + 1 :]:
            common = a.hashes & b.hashes
            if not common:
                continue
            tokens_a, tokens_b = a.matched(common), b.matched(common)
            share_a, share_b = float(tokens_a / a.coverage), float(tokens_b / b.coverage)
            pair = Pair(a.key, b.key, share_a, share_b, min(tokens_a, tokens_b))
            scores[(a.key, b.key)] = pair.score
            if pair.score >= settings.threshold and pair.tokens >= settings.min_tokens:
                reported.append((pair, a, b))
            else:
                below = max(below, pair.score)
    reported.sort(key=lambda item: (-item[0].score, -item[0].tokens, item[0].a, item[0].b))
    for pair, *_ in reported[settings.top :]:
        below = max(below, pair.score)
    pairs = tuple(_with_fragments(pair, a, b, settings) for pair, a, b in reported[: settings.top])
    return Report(pairs, len(prints), below, scores)


class _Prints:
    """One submission's fingerprints, file by file."""

    def __init__(self, key: str, files: list) -> None:
        self.key, self.files = key, files
        self.hashes = set().union(*(fp.hashes for _, fp in files))
        self.coverage = max(sum(fp.token_coverage for _, fp in files), 1)

    def matched(self, common: set) -> int:
        """How many characters of its filtered code the k-grams of `common` cover."""
        total = 0
        for _, fp in self.files:
            if fp.hashes & common:
                starts, ends = _slices(fp, fp.hashes & common)
                total += int((ends - starts).sum())
        return total


def _covered(fp, starts: list):
    """Which characters of the filtered code the k-grams starting at `starts` cover."""
    import numpy as np

    covered = np.zeros(len(fp.filtered_code), dtype=bool)
    if starts:
        at = np.concatenate(starts)
        for offset in range(fp.k):
            covered[at + offset] = True
    return covered


def _fingerprint(file: SourceFile, k: int, window: int):
    from copydetect import CodeFingerprint

    return CodeFingerprint(file.path, k, window, fp=io.StringIO(file.text))


def _slices(fp, hashes: Iterable):
    import numpy as np
    from copydetect.utils import get_copied_slices

    found = [fp.hash_idx[h] for h in hashes]
    idx = np.concatenate(found) if found else np.array([], dtype=int)
    return get_copied_slices(idx, fp.k)


_MAX_REPEATS = 20  # a k-gram repeated more often in a file says nothing of where it matches


def _with_fragments(pair: Pair, a: _Prints, b: _Prints, settings: Settings) -> Pair:
    """The pair with its matching fragments, the longest `settings.fragments`: stretches of A
    whose k-grams follow each other in B too, so a function moved elsewhere is a fragment of
    its own, beside the place it moved to."""
    found = []
    for file_a, fa in a.files:
        for file_b, fb in b.files:
            for span_a, span_b in _runs(fa, fb):
                span_a, span_b = _own(fa, span_a), _own(fb, span_b)
                if span_a[1] > span_a[0] and span_b[1] > span_b[0]:
                    found.append((span_a[1] - span_a[0], file_a, fa, span_a, file_b, fb, span_b))
    found.sort(key=lambda f: (-f[0], f[1].path, f[3][0]))
    chosen: list = []
    for item in found:
        if len(chosen) == settings.fragments:
            break
        _, file_a, _, (start, end), *_ = item
        if not any(c[1] is file_a and c[3][0] <= start and end <= c[3][1] for c in chosen):
            chosen.append(item)  # not a repeat of a stretch of A already shown
    fragments = []
    for tokens, file_a, fa, span_a, file_b, fb, span_b in chosen:
        first_a, last_a, text_a = _lines(file_a.text, _raw(fa, span_a), settings.fragment_lines)
        first_b, last_b, text_b = _lines(file_b.text, _raw(fb, span_b), settings.fragment_lines)
        fragments.append(
            Fragment(
                file_a.path, first_a, last_a, text_a, file_b.path, first_b, last_b, text_b, tokens
            )
        )
    fragments.sort(key=lambda f: (f.path_a, f.first_a))
    return Pair(pair.a, pair.b, pair.similarity_a, pair.similarity_b, pair.tokens, tuple(fragments))


def _runs(fa, fb) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Stretches of the filtered code of A and B made of shared k-grams that follow each other
    (within a k-gram's length) in both: (start, end) in A, (start, end) in B."""
    k = fa.k
    matches = []
    for h in fa.hashes & fb.hashes:
        at_a, at_b = fa.hash_idx[h], fb.hash_idx[h]
        if len(at_a) <= _MAX_REPEATS and len(at_b) <= _MAX_REPEATS:
            matches += [(int(pa), int(pb)) for pa in at_a for pb in at_b]
    matches.sort()
    runs: list[list[int]] = []  # [first_a, last_a, first_b, last_b]
    open_runs: list[list[int]] = []
    for pa, pb in matches:
        open_runs = [r for r in open_runs if pa - r[1] <= k]
        follows = [r for r in open_runs if pa > r[1] and 0 < pb - r[3] <= k]
        if follows:
            run = min(follows, key=lambda r: (pa - r[1]) + (pb - r[3]))
            run[1], run[3] = pa, pb
        else:
            run = [pa, pa, pb, pb]
            runs.append(run)
            open_runs.append(run)
    return [((r[0], r[1] + k), (r[2], r[3] + k)) for r in runs]


def _own(fp, span: tuple[int, int]) -> tuple[int, int]:
    """`span` without the template's code at its ends (a k-gram of the student's own code may
    begin, or end, in the template's)."""
    import numpy as np

    own = np.flatnonzero(~fp.template[span[0] : span[1]])
    return (span[0] + int(own[0]), span[0] + int(own[-1]) + 1) if len(own) else (0, 0)


def _raw(fp, span) -> tuple[int, int]:
    """A span of the filtered code as character offsets of the file's text (as copydetect's
    `compare_files` maps them)."""
    import numpy as np

    span = np.array(span, dtype=np.int64)
    if len(fp.offsets) > 0:
        at = np.clip(np.searchsorted(fp.offsets[:, 0], span), 0, fp.offsets.shape[0] - 1)
        span = span + fp.offsets[:, 1][at]
    return int(span[0]), int(span[1])


def _lines(text: str, span: tuple[int, int], most: int) -> tuple[int, int, str]:
    """The whole lines a character span covers: first and last line number, and their text
    (at most `most` lines, the cut marked)."""
    start, end = max(span[0], 0), min(max(span[1], span[0] + 1), len(text))
    first = text.count("\n", 0, start) + 1
    last = first + text.count("\n", start, max(end - 1, start))
    lines = text.splitlines()[first - 1 : last]
    if len(lines) > most:
        lines = [*lines[:most], f"… ({len(lines) - most} more lines)"]
    return first, last, "\n".join(lines)


# -- across a process boundary --------------------------------------------------------------


def payload(submissions: Sequence[SubmittedCode], template: Sequence[SourceFile]) -> bytes:
    """What `compare_json` takes."""
    files = lambda found: [[f.path, f.text] for f in found]  # noqa: E731
    asked = {
        "submissions": [{"key": s.key, "files": files(s.files)} for s in submissions],
        "template": files(template),
    }
    return json.dumps(asked).encode()


def compare_json(data: bytes) -> bytes:
    """`compare` of a `payload`, as JSON that `report_from_json` reads."""
    asked = json.loads(data)
    files = lambda found: capped(SourceFile(str(p), str(t)) for p, t in found)  # noqa: E731
    submissions = [SubmittedCode(str(s["key"]), files(s["files"])) for s in asked["submissions"]]
    report = compare(submissions, files(asked["template"]))
    found = {"pairs": [asdict(p) for p in report.pairs], "compared": report.compared}
    return json.dumps({**found, "below": report.below}).encode()


def report_from_json(data: bytes) -> Report:
    found = json.loads(data)
    pairs = tuple(
        Pair(
            str(p["a"]),
            str(p["b"]),
            float(p["similarity_a"]),
            float(p["similarity_b"]),
            int(p["tokens"]),
            tuple(Fragment(**f) for f in p["fragments"]),
        )
        for p in found["pairs"]
    )
    return Report(pairs, int(found["compared"]), float(found["below"]))
