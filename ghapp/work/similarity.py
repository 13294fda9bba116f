"""Similarity reports, kept up to date in the background: each assignment's report compares
every repo's latest graded commit with every other (and leaves out the template's code). A
worker notices when an assignment's latest commits change, and once pushes have quietened
(`ghapp.store.similarity`'s debounce) one worker refreshes it under a lease: the commits it has
not seen yet are downloaded through the App and their code kept, then the comparison runs in a
process of its own at the lowest CPU priority, killed past a deadline. Never a grading slot,
never while pushes wait to be graded."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import stat
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import aiohttp
import gidgethub

import ghapp
from ghapp.core import similarity as code
from ghapp.core.oneline import said
from ghapp.github import DownloadTooLarge, GitHubRefused, InstallationClient
from ghapp.store import reads
from ghapp.store import similarity as reports
from ghapp.store.models import SimilarityReport, utcnow
from runner.archive import ArchiveLimits, UnsafeArchive, extract_submission

log = logging.getLogger(__name__)

SCAN_EVERY_S = 30.0  # how often a worker looks for assignments graded since it last looked
LEASE_S = 900.0  # a refresh is held this long between renewals
COMPUTE_TIMEOUT_S = 600.0  # the comparison's process is killed after this long
COMPUTE_MEMORY = 2 * 1024**3  # its address space, bytes
MIN_SUBMISSIONS = 2  # fewer have nothing to compare
BUSY_AT_MOST = timedelta(hours=1)  # pushes waiting longer (stuck) hold similarity back no more
ARCHIVE_CAP = 50 * 1024 * 1024  # a commit's tarball; the code taken from it is capped far lower
LIMITS = ArchiveLimits(max_total_bytes=200 * 1024 * 1024, max_files=20_000)
# The comparison, in a process of its own: the lowest priority, its memory capped, only the
# report on stdout (copydetect's warnings, which name files, go nowhere).
_CHILD = """
import os, resource, sys
os.nice(19)
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
from ghapp.core.similarity import compare_json
sys.stdout.buffer.write(compare_json(sys.stdin.buffer.read()))
"""


class Unavailable(Exception):
    """A commit's code cannot be had now (GitHub away, permissions): the next refresh tries."""


async def follow(crew, stop: asyncio.Event, *, every_s: float = SCAN_EVERY_S) -> None:
    """Until `stop`: note assignments whose latest commits changed, refresh one report due."""
    seen = Watermark()
    while not stop.is_set():
        await notice_changes(crew, seen)
        # One report at a time, each after the pushes waiting to be graded.
        while not stop.is_set() and not await _grading_waits(crew) and await refresh_due(crew):
            await notice_changes(crew, seen)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)


async def _grading_waits(crew) -> bool:
    return await reports.grading_waiting(crew.sessions, since=utcnow() - BUSY_AT_MOST)


class Watermark:
    """The newest submission a worker has looked at (0 at start: every assignment once)."""

    def __init__(self) -> None:
        self.through = 0


async def notice_changes(crew, seen: Watermark) -> int:
    """Mark out of date each report whose assignment's latest commits changed since it was
    computed; returns how many were."""
    graded, newest = await reports.newly_graded(crew.sessions, seen.through)
    stale = 0
    for owner, assignment in graded:
        latest = await reports.latest_commits(crew.sessions, owner, assignment)
        if len(latest) >= MIN_SUBMISSIONS:
            commits = {c.repo: c.sha for c in latest[: code.MAX_SUBMISSIONS]}
            stale += await reports.note_latest(crew.sessions, owner, assignment, commits)
    seen.through = newest
    return stale


async def refresh_due(crew) -> bool:
    """Refresh the report most out of date, if one is due and no other worker has it."""
    report = await reports.claim_due(crew.sessions, worker=crew.name, lease_s=LEASE_S)
    if report is None:
        return False
    where = f"{report.org}/{report.assignment}"
    holding = asyncio.create_task(_hold(crew, report.id))
    try:
        computed = await _compute(crew, report)
    except asyncio.CancelledError:  # the worker stops: another may take it at once
        with contextlib.suppress(Exception):
            await asyncio.shield(
                reports.renew(crew.sessions, report.id, worker=crew.name, lease_s=-1)
            )
        raise
    except Exception as err:
        log.error("%s: the similarity report could not be refreshed: %s", where, said(err))
        log.debug("%s: the similarity refresh's failure", where, exc_info=err)
        # The last report stays, with a word for the teacher; tried again at the next push
        # (or when asked), not at once: a comparison that cannot finish would never stop.
        computed = reports.Computed(
            dict(report.commits or {}), report.template, report.template_sha, report.compared,
            report.below, None, list(report.skipped or []),
            problem="The last refresh failed; the worker's log says why. The report is "
            "refreshed again with the next push, or when asked.",
        )  # fmt: skip
    finally:
        holding.cancel()
    if not await reports.save(crew.sessions, report, worker=crew.name, computed=computed):
        log.warning("%s: the similarity refresh was taken over; its result is dropped", where)
        return False
    if computed.pairs is not None:
        log.info(
            "%s: similarity report of %d submissions, %d pairs reported",
            where,
            computed.compared,
            len(computed.pairs),
        )
    return True


async def _hold(crew, report_id: int) -> None:
    while True:
        await asyncio.sleep(LEASE_S / 3)
        with contextlib.suppress(Exception):
            await reports.renew(crew.sessions, report_id, worker=crew.name, lease_s=LEASE_S)


async def _compute(crew, report: SimilarityReport) -> reports.Computed:
    owner, assignment = report.org, report.assignment
    latest = await reports.latest_commits(crew.sessions, owner, assignment)
    problems = []
    if len(latest) > code.MAX_SUBMISSIONS:
        problems.append(
            f"Only the {code.MAX_SUBMISSIONS} most recent of {len(latest)} submissions were "
            "compared."
        )
        latest = latest[: code.MAX_SUBMISSIONS]
    config = await reads.assignment_config(crew.sessions, owner, assignment) or {}
    template, refused = _template(config, owner)
    if refused:
        problems.append(refused)
    have = await reports.sources(crew.sessions, owner, [(c.repo, c.sha) for c in latest])
    complete, skipped, submitted = True, [], []
    for commit in latest:
        source = have.get((commit.repo, commit.sha))
        if source is None:
            gh = crew.github.installation(commit.installation_id)
            try:
                source = await _fetch(crew, gh, owner, commit.repo, commit.sha)
            except Unavailable as err:
                complete = False
                skipped.append([commit.repo, f"not downloaded this time ({err})"])
                continue
        if source.files:
            submitted.append(code.SubmittedCode(commit.repo, source.files))
        else:
            skipped.append([commit.repo, source.problem or "no source files"])
    template_sha, template_files = None, ()
    if template is not None and latest:
        gh = crew.github.installation(latest[0].installation_id)
        try:
            template_sha, template_files = await _template_code(crew, gh, owner, template)
        except Unavailable as err:
            complete = False
            problems.append(f"The template {template} could not be read ({err}): not left out.")
    found = code.Report((), len(submitted))
    if len(submitted) >= MIN_SUBMISSIONS:
        found = await compared(code.payload(submitted, template_files))
    commits = {c.repo: c.sha for c in latest}
    keep = set(commits.items()) | ({(template, template_sha)} if template_sha else set())
    repos = [*commits, *([template] if template else [])]
    await reports.drop_sources(crew.sessions, owner, repos, keep)
    return reports.Computed(
        commits, template, template_sha, found.compared, found.below, found.pairs, skipped,
        problem=" ".join(problems), complete=complete,
    )  # fmt: skip


def _template(config: dict, org: str) -> tuple[str | None, str]:
    """The assignment's template repository (by name, in `org`), and why it is not used."""
    named = config.get("template")
    if not isinstance(named, str) or not named:
        return None, ""
    owner, _, name = named.rpartition("/")
    if owner and owner.lower() != org.lower():
        return None, f"The template {named} is not a repository of {org}: it is not left out."
    return name, ""


async def _template_code(crew, gh: InstallationClient, org: str, name: str):
    """The template's default branch head and its code."""
    try:
        sha = await gh.commit_sha(org, name, None)
    except (gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as err:
        raise Unavailable(said(err)) from None
    if sha is None:
        raise Unavailable("no such repository, or the App cannot see it")
    source = (await reports.sources(crew.sessions, org, [(name, sha)])).get((name, sha))
    if source is None:
        source = await _fetch(crew, gh, org, name, sha)
    return sha, source.files


async def _fetch(crew, gh: InstallationClient, owner: str, repo: str, sha: str) -> reports.Source:
    """Download a commit, take its code, and keep it; a commit that will never give any (too
    large, refused, gone) is kept with why."""
    scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-similar-"))
    try:
        archive = scratch / "commit.tar.gz"
        try:
            await gh.download_tarball(owner, repo, sha, archive, cap=ARCHIVE_CAP)
            tree = await asyncio.to_thread(extract_submission, archive, scratch / "tree", LIMITS)
            files = await asyncio.to_thread(source_files, tree.root)
            problem = "" if files else "no source files"
        except (DownloadTooLarge, UnsafeArchive) as err:
            files, problem = (), f"its archive was refused: {err}"
        except gidgethub.BadRequest as err:
            if err.status_code not in (404, 410, 422):
                raise Unavailable(f"GitHub answered {int(err.status_code)}") from None
            files, problem = (), f"GitHub answered {int(err.status_code)}"
        except (GitHubRefused, gidgethub.GitHubException, aiohttp.ClientError, TimeoutError) as err:
            raise Unavailable(said(err)) from None
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    await reports.keep_source(crew.sessions, owner, repo, sha, files, problem=problem)
    return reports.Source(tuple(files), problem)


def source_files(root: Path) -> tuple[code.SourceFile, ...]:
    """The code files of an extracted commit, as `ghapp.core.similarity` chooses and caps
    them. Links are not followed (the archive's were checked to stay inside the tree; they
    are still not a student's own file)."""
    found = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = [d for d in dirs if not (Path(folder) / d).is_symlink()]
        for name in names:
            path = Path(folder) / name
            info = path.lstat()
            relative = path.relative_to(root).as_posix()
            if stat.S_ISREG(info.st_mode) and code.wanted(relative, info.st_size):
                found[relative] = path
    files = []
    for relative in code.in_order(found):
        with found[relative].open("rb") as handle:
            text = code.decoded(handle.read(code.MAX_FILE_BYTES))
        if text is not None and text.strip():
            files.append(code.SourceFile(relative, text))
    return code.capped(files)


async def compared(payload: bytes) -> code.Report:
    """`ghapp.core.similarity.compare` of `payload`, in a process of its own (see `_CHILD`)."""
    scratch = await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-compare-")
    root = str(Path(ghapp.__file__).resolve().parents[1])
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
        "PYTHONHASHSEED": "0",
        "HOME": scratch,
        "MPLCONFIGDIR": scratch,  # matplotlib (copydetect imports it) writes its font cache
        "MPLBACKEND": "Agg",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
    }
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD.format(memory=COMPUTE_MEMORY),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=scratch,
        )
        try:
            out, err = await asyncio.wait_for(child.communicate(payload), COMPUTE_TIMEOUT_S)
        except TimeoutError:
            took = f"the comparison took longer than {COMPUTE_TIMEOUT_S:.0f} s"
            raise RuntimeError(took) from None
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    if child.returncode != 0:
        why = "out of memory" if b"MemoryError" in err else f"exit {child.returncode}"
        raise RuntimeError(f"the comparison's process failed ({why})")
    return code.report_from_json(out)
