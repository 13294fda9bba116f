"""Which of a test's setup commands move into the grader's image build, and which stay.

Classroom ran each setup command before its test, with the network and passwordless sudo. The
grader runs without either, so package installs become RUN steps of its Dockerfile, done once:
system packages (`apt-get install`), language packages (`pip install`, `npm install -g`, `gem
install`) and a project's own dependencies (`npm install`, `bundle install`: in /grader/files,
with the template's package.json, laid over the student's files at each run). Everything else
works on the student's files (compiling, `make`, `chmod`) and stays where it was, at each run.
An install that builds the student's own code (`pip install -e .`), or one after a `cd`, stays
too (and needs the network: the checks say so).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from pushgrade.classroom.model import BuildStep, Conversion, NoteKind
from pushgrade.classroom.shell import (
    lines,
    one_line,
    printable,
    program_words,
    quote,
    uses_sudo,
    without_sudo,
)
from pushgrade.classroom.template import Template, normalize

_APT = frozenset(("apt-get", "apt", "aptitude"))
_DEBIAN_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+:~-]+)?$")
_PIP = re.compile(r"^pip(3(\.\d+)?)?$")
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_PIP_VALUE_OPTIONS = frozenset((
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--upgrade-strategy",
    "--trusted-host", "--only-binary", "--no-binary", "--platform", "--python-version",
    "--implementation", "--abi", "--progress-bar", "--timeout", "--retries", "--proxy",
))  # fmt: skip
_NODE_LOCK = ("package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock")
_NODE_LOCK += ("pnpm-lock.yaml", ".npmrc", ".yarnrc", ".yarnrc.yml")
_RUBY_LOCK = ("Gemfile", "Gemfile.lock")


@dataclass(frozen=True)
class Stays:
    """An install that must stay at each run, and why."""

    reason: str


@dataclass(frozen=True)
class Absorbed:
    """A command the build makes needless (`apt-get update`), and why."""

    reason: str


Decision = BuildStep | Stays | Absorbed | None


def plan_setup(text: str, *, where: str, template: Template, conversion: Conversion) -> str:
    """Move `text`'s installs into the build (noted, each with `where`); the rest, to run at
    each test as Classroom did, is returned with its own line breaks and `&&`/`;`."""
    if not text.strip():
        return ""
    parsed, separable = lines(text)
    if not separable:
        conversion.note(
            NoteKind.KEPT,
            where,
            f"`{one_line(text)}` stays at each run as written (a here-document or a compound "
            "command is not taken apart)",
        )
        return text
    kept_lines = []
    for line in parsed:
        if line.segments is None:
            kept_lines.append(line.text.strip())
            continue
        kept: list[int] = []
        after_cd = False
        for index, segment in enumerate(line.segments):
            words = program_words(segment.words)
            decision = None if not words else decide(words, template)
            if words and words[0] in ("cd", "pushd"):
                after_cd = True
            if isinstance(decision, BuildStep) and after_cd:
                decision = Stays("it runs after a `cd`, in a folder of the student's files")
            if isinstance(decision, BuildStep):
                conversion.add_step(decision, where)
                conversion.note(NoteKind.MOVED, where, _moved(segment.text, decision))
            elif isinstance(decision, Absorbed):
                conversion.note(
                    NoteKind.MOVED, where, f"`{one_line(segment.text)}` dropped: {decision.reason}"
                )
            else:
                if isinstance(decision, Stays):
                    conversion.note(
                        NoteKind.KEPT,
                        where,
                        f"`{one_line(segment.text)}` stays at each run: {decision.reason}",
                    )
                kept.append(index)
        kept_lines.append(_join(line.segments, kept))
    return "\n".join(part for part in kept_lines if part)


def _moved(text: str, step: BuildStep) -> str:
    said = f"`{one_line(text)}` → `RUN {step.run}`"
    if step.needs:
        said += f" (with the template's {', '.join(step.needs)}: a student's edit is not used)"
    if step.files:
        said += f" (with the template's {', '.join(step.files)}, which replace the student's)"
    return said


def _join(segments, kept: list[int]) -> str:
    out = ""
    for n, index in enumerate(kept):
        text = segments[index].text
        if n:
            joiner = segments[index - 1].joiner or "&&"
            out += f" {joiner} " if joiner == "&&" else f"{joiner} "
        out += text
    return out


def strip_sudo(text: str, *, where: str, conversion: Conversion, what: str) -> str:
    """`text` without the `sudo` of its simple commands (the grader has no sudo: a command run
    with it would fail on 'sudo: not found'); noted. A text not taken apart keeps it."""
    if not uses_sudo(text):
        return text
    parsed, separable = lines(text)
    if separable and all(line.segments is not None for line in parsed):
        out = []
        for line in parsed:
            out.append(
                _join_texts(
                    [without_sudo(s.text) for s in line.segments], [s.joiner for s in line.segments]
                )
            )
        conversion.note(
            NoteKind.CHANGED,
            where,
            f"`sudo` taken off the {what}: the grader runs as user nobody, without sudo; a "
            "command that needs root fails there",
        )
        return "\n".join(out)
    conversion.note(
        NoteKind.CHECK,
        where,
        f"the {what} uses `sudo`, which the grader does not have (it runs as user nobody): "
        "this fails as it is",
    )
    return text


def _join_texts(texts: list[str], joiners: list[str]) -> str:
    out = ""
    for n, text in enumerate(texts):
        if n:
            joiner = joiners[n - 1] or "&&"
            out += f" {joiner} " if joiner == "&&" else f"{joiner} "
        out += text
    return out


def decide(words: list[str], template: Template) -> Decision:
    """What to do with one simple command (sudo and assignments already taken off)."""
    if not all(printable(word) for word in words):
        return None
    program = posixpath.basename(words[0])
    if program in _APT:
        return _apt(words)
    if _PIP.match(program):
        return _pip(words[0], words[1:], template)
    if _PYTHON.match(program) and words[1:3] == ["-m", "pip"]:
        return _pip("python3 -m pip", words[3:], template)
    if program in ("npm", "pnpm", "yarn"):
        return _node(program, words[1:], template)
    if program == "gem" and words[1:2] == ["install"]:
        gems = words[2:]
        if not [g for g in gems if not g.startswith("-")]:
            return None
        return BuildStep(f"gem install --no-document {quote(gems)}", stage=1)
    if program == "bundle" and words[1:2] in ([], ["install"]):
        if not template.has("Gemfile"):
            return Absorbed("the template has no Gemfile: there is nothing to install")
        files = tuple(f for f in _RUBY_LOCK if template.has(f))
        command = quote(["bundle", "install", *words[2:]])
        return BuildStep(f"cd /grader/files && {command}", stage=2, files=files)
    return None


def _apt(words: list[str]) -> Decision:
    rest = words[1:]
    verbs = [w for w in rest if not w.startswith("-")]
    if not verbs:
        return None
    verb = verbs[0]
    if verb == "update":
        return Absorbed("each apt step of the build updates the package lists itself")
    if verb in ("upgrade", "dist-upgrade", "full-upgrade"):
        return Absorbed("the image's packages are the base image's: build on a newer base instead")
    if verb != "install":
        return None
    packages = verbs[1:]
    if not packages:
        return None
    if not all(_DEBIAN_PACKAGE.match(p) for p in packages):
        return Stays("a package name pushgrade cannot read as a Debian package")
    return BuildStep(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        f"--no-install-recommends {quote(packages)} && rm -rf /var/lib/apt/lists/*",
        stage=0,
    )


def _pip(program: str, args: list[str], template: Template) -> Decision:
    if not args or args[0] != "install":
        return None
    out: list[str] = []
    needs: list[str] = []
    positional = 0
    rest = iter(args[1:])
    for arg in rest:
        option, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        flag, value = _requirements(arg, rest)
        if flag:
            path = normalize(value)
            if not path or not template.has(path):
                return Stays(f"its requirements file {value!r} is not in the template")
            needs.append(path)
            out += [flag, f"/grader/build/{path}"]
        elif option in ("-e", "--editable"):
            return Stays("it installs the student's own code (-e)")
        elif option in ("-t", "--target", "--prefix", "--root", "--src"):
            return Stays(f"it installs into {option}, among the student's files")
        elif option == "--user":
            continue  # the build's root user: installed for every user instead
        elif option in _PIP_VALUE_OPTIONS:
            out.append(arg)
            if not inline:
                out.append(next(rest, ""))
        elif arg.startswith("-"):
            out.append(arg)
        else:
            local = normalize(arg)
            if arg.startswith((".", "/")) or local in template.dirs or template.has(local):
                return Stays(f"it installs {arg!r} from the repository")
            out.append(arg)
            positional += 1
    if not positional and not needs:
        return None
    if "--no-cache-dir" not in out:
        out.insert(0, "--no-cache-dir")
    # Debian's own Python refuses pip beside its packages (PEP 668); the image is the grader's.
    return BuildStep(
        f"PIP_BREAK_SYSTEM_PACKAGES=1 {program} install {quote(out)}", stage=1, needs=tuple(needs)
    )


def _requirements(arg: str, rest) -> tuple[str, str]:
    """`-r FILE`, `-rFILE`, `--requirement=FILE` (and constraints): the flag and the file."""
    if arg in ("-r", "--requirement", "-c", "--constraint"):
        return arg, next(rest, "")
    if arg.startswith(("--requirement=", "--constraint=")):
        flag, _, value = arg.partition("=")
        return flag, value
    if arg[:2] in ("-r", "-c") and len(arg) > 2:
        return arg[:2], arg[2:]
    return "", ""


def _node(program: str, args: list[str], template: Template) -> Decision:
    verbs = [a for a in args if not a.startswith("-")]
    options = [a for a in args if a.startswith("-")]
    glob = bool({"-g", "--global"} & set(options))
    if program == "yarn" and verbs[:2] == ["global", "add"]:
        packages = verbs[2:]
        return BuildStep(f"yarn global add {quote(packages)}", stage=1) if packages else None
    verb = verbs[0] if verbs else ("install" if program == "yarn" else "")
    if verb not in ("install", "i", "add", "ci"):
        return None
    packages = verbs[1:]
    if glob:
        if not packages:
            return None
        return BuildStep(f"{program} install -g {quote(packages)}", stage=1)
    for package in packages:
        local = normalize(package)
        if package.startswith((".", "/")) or (local and local in template.dirs):
            return Stays(f"it installs {package!r} from the repository")
    if not template.has("package.json") and not packages:
        return Absorbed("the template has no package.json: there is nothing to install")
    files = tuple(f for f in _NODE_LOCK if template.has(f))
    command = [program, *(verbs or ["install"]), *options]
    # In /grader/files: the runner lays it (node_modules with it) over the student's files.
    return BuildStep(f"cd /grader/files && {quote(command)}", stage=2, files=files)
