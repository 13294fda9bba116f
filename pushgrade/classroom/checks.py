"""What a converted test does that will not work, or not mean the same, in the grader: each is a
note for the teacher. The grader runs the pushed commit's files (no .git), without the network,
as user nobody; Classroom's runner had the history its checkout fetched, the network and sudo."""

from __future__ import annotations

import posixpath
import re

from pushgrade.classroom.files import Selection, is_source, named_in
from pushgrade.classroom.model import Conversion, Kind, NoteKind, Test
from pushgrade.classroom.shell import commands, one_line
from pushgrade.classroom.template import Template

_NETWORK_PROGRAMS = frozenset((
    "curl", "wget", "ssh", "scp", "sftp", "ftp", "nc", "ncat", "telnet", "rsync", "aria2c",
))  # fmt: skip
_INSTALLERS = {
    "pip": "install", "pip3": "install", "npm": "install", "yarn": "add", "pnpm": "install",
    "gem": "install", "bundle": "install", "apt-get": "install", "apt": "install",
}  # fmt: skip
_GIT_REMOTE = frozenset(("clone", "fetch", "pull", "ls-remote", "submodule", "push"))
_GIT_HARMLESS = frozenset(("--version", "version", "init", "config", "help"))
_GRADE_FILE = re.compile(r"^(score|scores|grade|grades|points|result|results|marks?)(\.\w+)?$")
_ALWAYS = re.compile(r"(\|\|\s*(true|:|exit\s+0)|;\s*(true|exit\s+0))\s*$")


def check(test: Test, template: Template, chosen: Selection, conversion: Conversion) -> None:
    """Notes on `test` (its setup and run as they will be run)."""
    text = "\n".join(t for t in (test.setup, test.run) if t)
    network, history = [], []
    for words in commands(text):
        what = _network(words, template)
        if what:
            network.append(" ".join(words[:3]))
        if posixpath.basename(words[0]) == "git":
            verb = next((w for w in words[1:] if not w.startswith("-")), "")
            if verb and verb not in _GIT_REMOTE | _GIT_HARMLESS:
                history.append(f"git {verb}")
    if any(("http://" in word or "https://" in word) for word in text.split()):
        network.append("a URL")
    if network:
        conversion.needs_network.append(test.name)
        conversion.note(
            NoteKind.CHECK,
            test.where,
            f"it reaches the network ({_listed(network)}), which the grader does not have "
            "(network: false): fetch what it needs in the Dockerfile, or this fails",
        )
    if history:
        conversion.note(
            NoteKind.CHECK,
            test.where,
            f"it reads the git history ({_listed(history)}): pushgrade grades the pushed "
            "commit's files, without .git, so this fails as it is",
        )
    for named in named_in(text, template):
        if named.role == "read" and named.path not in chosen.taken and not is_source(named.path):
            conversion.note(
                NoteKind.CHECK,
                test.where,
                f"it grades what it reads from {named.path}, a file of the student's repository "
                "the student can edit",
            )
    for words in commands(text):
        if posixpath.basename(words[0]) in ("cat", "jq", "grep", "head", "tail", "awk"):
            for word in words[1:]:
                base = posixpath.basename(word)
                if _GRADE_FILE.match(base) and word not in chosen.taken:
                    conversion.note(
                        NoteKind.CHECK,
                        test.where,
                        f"it reads a grade from {word}, which the student's code can write",
                    )
    if "${{" in text:
        conversion.note(
            NoteKind.CHECK,
            test.where,
            "it holds a GitHub Actions expression (${{ … }}), which the grader's shell cannot "
            "evaluate",
        )
    judged_by_exit = test.kind is Kind.COMMAND or (
        test.kind is Kind.AUTOGRADING_JSON and not test.input and not test.expected
    )
    if judged_by_exit and _ALWAYS.search(test.run.strip()):
        conversion.note(
            NoteKind.CHECK,
            test.where,
            f"`{one_line(test.run, 60)}` passes whatever the student's code does (it did in "
            "Classroom too)",
        )


def _network(words: list[str], template: Template) -> bool:
    program = posixpath.basename(words[0])
    rest = words[1:]
    verb = next((w for w in rest if not w.startswith("-")), "")
    if program in _NETWORK_PROGRAMS:
        return True
    if program == "git":
        return verb in _GIT_REMOTE
    if program in _INSTALLERS or re.match(r"^pip3(\.\d+)?$", program):
        return verb in ("install", "add", "i", "ci", "update", "upgrade") or (
            program in ("yarn", "bundle") and not verb
        )
    if re.match(r"^python[0-9.]*$", program) and rest[:2] == ["-m", "pip"]:
        return "install" in rest
    if program == "mvn" or program.endswith("mvnw"):
        return not ({"-o", "--offline"} & set(rest))
    if program in ("gradle", "gradlew"):
        return "--offline" not in rest
    if program == "go":
        return verb in ("get", "install", "mod") or (
            verb in ("build", "test", "run") and template.has("go.sum")
        )
    if program == "cargo":
        return verb in ("install", "fetch", "update") or (
            verb in ("build", "test", "run", "check") and _crates(template)
        )
    if program == "dotnet":
        return verb in ("restore", "build", "test", "run", "add")
    return program == "npx"


def _crates(template: Template) -> bool:
    """Whether the Rust project depends on crates (its Cargo.lock lists more than itself)."""
    try:
        return template.read("Cargo.lock").count(b"[[package]]") > 1
    except ValueError:
        return False


def _listed(items: list[str]) -> str:
    unique = list(dict.fromkeys(items))
    shown = ", ".join(f"`{one_line(i, 40)}`" for i in unique[:3])
    return shown + (f" and {len(unique) - 3} more" if len(unique) > 3 else "")
