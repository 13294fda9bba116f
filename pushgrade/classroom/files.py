"""Which of the template's files go into the grader's files/ (laid over the student's files at
each run: the teacher's copy wins).

Not the whole template: its starter code would replace the student's solution. What goes in:
files that look like tests (`test_*.py`, `*_test.py`, `*.test.js`, `*Test.java`, `conftest.py`,
anything under `test/`, `tests/`, `__tests__/`, `spec/`), files a command names that look like a
test or a harness (`python3 tests.py`, `bash check.sh`) or are data a test feeds its program
(`< cases/in1.txt`, `diff out.txt expected.txt`), and the files a build step needs (package.json).
A source file a command names (`python3 main.py`) is the student's and stays theirs; a data file
a command reads as the graded output (`cat answer.txt`) too, and the checks flag it. `.github/` is
left out (but for a file a command names). `--tests-path` adds paths, `--drop-path` drops them.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from pushgrade.classroom.model import TemplateError
from pushgrade.classroom.shell import commands
from pushgrade.classroom.template import Template, normalize

_SKIP = frozenset((
    ".git", "node_modules", "__pycache__", ".pytest_cache", ".venv", "venv", ".mypy_cache", ".tox",
    ".idea", ".vscode", ".gradle", ".DS_Store",
))  # fmt: skip
_TEST_DIRS = frozenset(("test", "tests", "__tests__", "spec", "specs", "testing"))
_TEST_NAME = re.compile(
    r"^test_|_tests?\.[^.]+$|\.(test|spec)\.[^.]+$|_spec\.[^.]+$|[a-z0-9]Tests?\.[^.]+$"
    r"|^conftest\.py$|^tests?\.[^.]+$"
)
_HARNESS = re.compile(r"test|check|grade|grading|judge|verif|spec|autograd|evaluat|harness|expect")
_SOURCE = frozenset((
    ".py", ".pyw", ".ipynb", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".java", ".kt",
    ".kts", ".scala", ".groovy", ".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".vue", ".rb",
    ".go", ".rs", ".cs", ".fs", ".vb", ".swift", ".php", ".pl", ".pm", ".r", ".jl", ".lua", ".hs",
    ".ml", ".clj", ".ex", ".exs", ".erl", ".dart", ".m", ".mm", ".sh", ".bash", ".zsh", ".ps1",
    ".bat", ".sql", ".html", ".htm", ".css", ".scss", ".s", ".asm", ".f90", ".pas", ".lisp",
    ".scm", ".rkt", ".v", ".sv", ".vhd",
))  # fmt: skip
_READERS = frozenset((
    "cat", "head", "tail", "grep", "egrep", "fgrep", "jq", "awk", "gawk", "sed", "wc", "less",
    "more", "tac", "cut", "sort", "uniq", "strings", "od", "xxd", "hexdump", "nl",
))  # fmt: skip
_INTERPRETERS = re.compile(
    r"^(python[0-9.]*|pypy3?|bash|sh|zsh|dash|node|nodejs|deno|ruby|perl|php|Rscript|lua|"
    r"java|javac|gcc|g\+\+|cc|clang|clang\+\+|make|go|dotnet|julia|swift|kotlinc?|scala|"
    r"pytest|py\.test)$"
)
_REDIRECT_OUT = frozenset((">", ">>", "2>", "&>", "2>>", ">|"))
_GLOB = re.compile(r"[*?\[]")
BUILD_REASON = "the build installs what it lists"


@dataclass(frozen=True)
class Named:
    """A template path a command names, and how the command uses it."""

    path: str
    role: str  # input (after <), read (by cat/grep/...), program, argument
    folder: bool = False


@dataclass
class Selection:
    taken: dict[str, str] = field(default_factory=dict)  # path → why
    left: dict[str, str] = field(default_factory=dict)  # named by a command, left to the student
    build: list[str] = field(default_factory=list)  # into build/ (requirements files)
    dropped: list[str] = field(default_factory=list)  # by --drop-path


def looks_like_test(path: str) -> bool:
    parts = path.split("/")
    return any(p.lower() in _TEST_DIRS for p in parts[:-1]) or bool(_TEST_NAME.search(parts[-1]))


def is_source(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in _SOURCE


def named_in(text: str, template: Template) -> list[Named]:
    """The template's files and folders `text`'s commands name, with their role."""
    found: list[Named] = []
    for words in commands(text):
        program = posixpath.basename(words[0])
        for index, word in enumerate(words):
            before = words[index - 1] if index else ""
            if word in _REDIRECT_OUT or word == "<" or before in _REDIRECT_OUT:
                continue
            if before == "<":
                role = "input"
            elif index and program in _READERS:
                role = "read"
            elif index == 0 or (index == 1 and _INTERPRETERS.match(program)):
                role = "program"
            else:
                role = "argument"
            for candidate in {word, word.rpartition("=")[2]}:
                found += _paths(candidate, role, template)
    return found


def _paths(word: str, role: str, template: Template) -> list[Named]:
    path = normalize(word)
    if not path:
        return []
    if template.has(path):
        return [Named(path, role)]
    if path in template.dirs:
        return [Named(path, role, folder=True)]
    if _GLOB.search(path):
        return [Named(f, role) for f in sorted(template.files) if fnmatch.fnmatchcase(f, path)]
    return []


def select(
    template: Template,
    texts: Iterable[str],
    *,
    build_files: Iterable[str] = (),
    build_needs: Iterable[str] = (),
    extra: Iterable[str] = (),
    drop: Iterable[str] = (),
) -> Selection:
    """What goes into files/ and build/, each path with the reason it was chosen."""
    chosen = Selection()
    for path in sorted(template.files):
        if _skipped(path):
            continue
        if looks_like_test(path):
            chosen.taken[path] = "looks like a test"
    for text in texts:
        for named in named_in(text, template):
            _judge(named, template, chosen)
    for path in build_files:
        chosen.taken.setdefault(path, BUILD_REASON)
        chosen.left.pop(path, None)
    chosen.build = sorted(set(build_needs))
    for wanted in extra:
        paths = _matching(wanted, template, "--tests-path")
        for path in paths:
            chosen.taken[path] = "--tests-path"
            chosen.left.pop(path, None)
    for unwanted in drop:
        paths = _matching(unwanted, template, "--drop-path")
        for path in paths:
            if chosen.taken.pop(path, None) is not None:
                chosen.dropped.append(path)
    return chosen


def _judge(named: Named, template: Template, chosen: Selection) -> None:
    paths = template.under(named.path) if named.folder else [named.path]
    for path in paths:
        if path in chosen.taken or _config(path) or _skipped(path, github_ok=True):
            continue
        base = posixpath.basename(path).lower()
        if named.folder:
            if looks_like_test(path) or _HARNESS.search(named.path.lower()):
                chosen.taken[path] = f"in {named.path}/, which a test names"
            else:
                chosen.left.setdefault(named.path + "/", "a folder a test names")
            continue
        if looks_like_test(path) or _HARNESS.search(base):
            chosen.taken[path] = "a test names it, and it looks like a test"
        elif named.role == "input":
            chosen.taken[path] = "a test feeds it to the program (<)"
        elif is_source(path):
            chosen.left.setdefault(path, "a test names it; it looks like the student's code")
        elif named.role == "read":
            chosen.left.setdefault(path, "a test reads it as the output it grades")
        else:
            chosen.taken[path] = "a test names it, and it is data, not code"


def _config(path: str) -> bool:
    return path == ".github/classroom/autograding.json" or path.startswith(".github/workflows/")


def _skipped(path: str, *, github_ok: bool = False) -> bool:
    parts = path.split("/")
    if not github_ok and parts[0] == ".github":
        return True
    return any(part in _SKIP for part in parts) or path.endswith((".pyc", ".class", ".o"))


def _matching(pattern: str, template: Template, option: str) -> list[str]:
    path = normalize(pattern.strip())
    if not path:
        raise TemplateError(f"{option} {pattern!r}: give a path inside the template")
    if template.has(path):
        return [path]
    if path in template.dirs:
        return template.under(path)
    matches = [f for f in sorted(template.files) if fnmatch.fnmatchcase(f, path)]
    if not matches:
        raise TemplateError(f"{option} {pattern!r}: no such file or folder in the template")
    return matches
