"""`pushgrade import classroom SOURCE --base IMAGE`: read a Classroom template, convert its tests,
write the grader repository folder, and print what was done (IMPORT-NOTES.md).

Exit codes: 0 written; 2 a usage or input error (one line on standard error: the file, the line,
what to do); 3 it could not run (GitHub unreachable, the package's runner missing)."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from pushgrade.classroom import grader as texts
from pushgrade.classroom.convert import Grader, convert
from pushgrade.classroom.model import NoteKind, TemplateError
from pushgrade.classroom.source import REPO, CannotReach, Source, read
from pushgrade.classroom.template import Template

EXIT_DONE, EXIT_USAGE, EXIT_COULD_NOT_RUN = 0, 2, 3
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$")
_ASSIGNMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_REPO_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_SUFFIXES = re.compile(r"([-_.](template|starter|starter-code|classroom))+$", re.IGNORECASE)
# Everything the command writes: with --force, these are replaced and nothing else is touched.
WRITTEN = (
    "Dockerfile", "tests.json", "run_tests.py", "pushgrade-assignment.yml", "IMPORT-NOTES.md",
    "files", "build",
)  # fmt: skip
_TOOLS = {"java": ("temurin", "openjdk", "jdk", "java", "maven", "gradle"), "go": ("golang", "go")}


class CannotRun(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    try:
        out = _run(args)
    except TemplateError as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (CannotReach, CannotRun) as err:
        print(f"pushgrade: {err}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    except OSError as err:
        print(f"pushgrade: cannot write the grader: {err}", file=sys.stderr)
        return EXIT_COULD_NOT_RUN
    print(f"pushgrade: the grader is in {out}")
    return EXIT_DONE


def _run(args: argparse.Namespace) -> Path:
    base = args.base.strip()
    if not _IMAGE.match(base):
        raise TemplateError(f"--base {args.base!r} is not an image reference (python:3.12-slim)")
    if args.assignment is not None and not _ASSIGNMENT.match(args.assignment):
        raise TemplateError(
            f"--assignment {args.assignment!r}: a letter or digit, then letters, digits, . _ -"
        )
    if args.out is not None:
        _check_out(args.out, args.force)
    runner = _runner_script()
    with tempfile.TemporaryDirectory(prefix="pushgrade-import-") as scratch:
        source = read(args.source, Path(scratch))
        template = Template.scan(source.root)
        grader = convert(
            template,
            extra=getattr(args, "tests_path", None) or (),
            drop=getattr(args, "drop_path", None) or (),
        )
        names = _names(args, source, base)
        _compare_base(grader, base)
        out = args.out if args.out is not None else Path(f"{names.assignment}-grader")
        if args.out is None:
            _check_out(out, args.force)
        assignment = texts.assignment_yaml(grader, names)
        _validate(assignment)
        notes = texts.notes_markdown(grader, names, str(out))
        written = {
            "Dockerfile": texts.dockerfile(grader, names).encode(),
            "tests.json": texts.tests_json(grader).encode(),
            "run_tests.py": runner,
            "pushgrade-assignment.yml": assignment.encode(),
            "IMPORT-NOTES.md": notes.encode(),
        }
        _write(out, written, grader, template, force=args.force)
    print(notes, end="")
    return out


def _runner_script() -> bytes:
    try:
        return resources.files("pushgrade.classroom").joinpath("run_tests.py").read_bytes()
    except OSError:
        raise CannotRun(
            "the runner the grader needs (pushgrade/classroom/run_tests.py) is missing from this "
            "installation of pushgrade: reinstall it"
        ) from None


def _names(args: argparse.Namespace, source: Source, base: str) -> texts.Names:
    assignment = args.assignment
    if assignment is None:
        assignment = _SUFFIXES.sub("", source.name) or source.name
        assignment = re.sub(r"[^A-Za-z0-9._-]+", "-", assignment).strip("-._")[:100]
        if not _ASSIGNMENT.match(assignment):
            raise TemplateError(
                f"cannot name the assignment after {source.name!r}: give --assignment NAME"
            )
    grader_repo = args.grader_repo or f"{assignment}-grader"
    owner, _, repo = grader_repo.rpartition("/")
    if not _REPO_NAME.match(repo) or repo in (".", "..") or (owner and not REPO.match(grader_repo)):
        raise TemplateError(f"--grader-repo {grader_repo!r}: a repository name, or ORG/NAME")
    from_repo = source.repo is not None
    if from_repo or (_REPO_NAME.match(source.name) and source.name != assignment):
        template_repo = source.name
    else:
        template_repo = f"{assignment}-template"
    return texts.Names(assignment, grader_repo, template_repo, source.shown, base)


def _compare_base(grader: Grader, base: str) -> None:
    """Say whether --base looks like it has what the workflow's setup-* actions installed."""
    image = base.lower()
    for wanted in grader.conversion.wanted_base:
        tool, _, version = wanted.partition(" ")
        if "/" in tool or ":" in tool:  # a job's container image
            same = image == wanted.lower()
        else:
            names = _TOOLS.get(tool, (tool,))
            same = any(n in image for n in names) and (not version or version in image)
        if same:
            grader.conversion.note(
                NoteKind.CHANGED, "--base", f"{wanted}: the base image given, {base}, has it"
            )
        else:
            grader.conversion.note(
                NoteKind.CHECK, "--base", f"{base} may not provide {wanted}, which the tests used"
            )


def _validate(assignment: str) -> None:
    from ghapp.core.config import ConfigError, load_file

    try:
        load_file(assignment, file="pushgrade-assignment.yml", org=True, standalone=True)
    except ConfigError as err:
        raise TemplateError(f"the assignment written does not validate: {err}") from None


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise TemplateError(f"{out} is a file: --out names a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise TemplateError(
            f"{out} is not empty: give --force to write into it (its {', '.join(WRITTEN[:5])}, "
            "files/ and build/ are replaced)"
        )


def _write(out: Path, written: dict[str, bytes], grader: Grader, template: Template, *, force):
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".pushgrade-import-", dir=out))
    try:
        for name, data in written.items():
            (staging / name).write_bytes(data)
        for folder, paths in (("files", grader.selection.taken), ("build", grader.selection.build)):
            for path in sorted(paths):
                _copy(template, path, staging / folder)
        for name in WRITTEN:
            target = out / name
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
            if (staging / name).exists():
                os.replace(staging / name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy(template: Template, path: str, folder: Path) -> None:
    """One template file into `folder`, at its path: inside both trees, content only."""
    source = (template.root / path).resolve()
    dest = folder / path
    if not source.is_relative_to(template.root.resolve()) or ".." in Path(path).parts:
        raise TemplateError(f"{path} is not inside the template")
    if not dest.resolve().is_relative_to(folder.resolve()):
        raise TemplateError(f"{path} would be written outside the grader")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, dest)
    dest.chmod(0o755 if os.access(source, os.X_OK) else 0o644)
