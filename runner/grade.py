"""Grade one submission: a folder or archive in, an `Outcome` out. The runner's front door."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from runner.archive import ArchiveLimits, UnsafeArchive, extract_submission
from runner.outcome import ErrorKind, Outcome
from runner.sandbox import Sandbox
from runner.spec import SandboxSpec


def grade(
    source: Path,
    spec: SandboxSpec,
    *,
    sandbox: Sandbox | None = None,
    archive_limits: ArchiveLimits | None = None,
) -> Outcome:
    """Extract `source` safely (whatever its shape), run it in the sandbox, say what happened."""
    sandbox = sandbox or Sandbox()
    scratch = Path(tempfile.mkdtemp(prefix="pushgrade-"))
    try:
        tree = scratch / "submission"
        return _unpack(source, tree, archive_limits) or sandbox.run(tree, spec)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


async def grade_async(
    source: Path,
    spec: SandboxSpec,
    *,
    sandbox: Sandbox | None = None,
    archive_limits: ArchiveLimits | None = None,
) -> Outcome:
    """`grade` off the event loop; cancelling it kills the container and cleans up."""
    sandbox = sandbox or Sandbox()
    scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-"))
    try:
        tree = scratch / "submission"
        refused = await asyncio.to_thread(_unpack, source, tree, archive_limits)
        return refused or await sandbox.run_async(tree, spec)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def _unpack(source: Path, tree: Path, limits: ArchiveLimits | None) -> Outcome | None:
    """None when the submission is unpacked into `tree`; the refusal as an Outcome otherwise."""
    try:
        extract_submission(source, tree, limits or ArchiveLimits())
    except UnsafeArchive as err:
        return Outcome.errored(
            ErrorKind.BAD_ARCHIVE, f"The submission could not be unpacked safely: {err}"
        )
    return None
