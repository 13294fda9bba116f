"""Grader images built from the teacher's grader repositories: one build per grader commit.

A job whose assignment names `grader:` gets its image here. The grader repo's ref is resolved to
a commit with the installation token; the image is tagged by that commit, so a built one is
reused until the repo moves. The build is claimed by a row in the database (unique per grader
commit and Docker engine), so however many jobs and workers need it at once, one builds and the
others wait for the row to say built or failed. A builder that dies lets its claim lapse; a
failed build is tried again only after a while (a push to the grader repo moves the commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ghapp.core.grader_source import GraderSource
from ghapp.core.image_rule import DockerfileRefused
from ghapp.core.tenants import TenantRules
from ghapp.github import DownloadTooLarge, InstallationClient
from ghapp.store import builds
from ghapp.store.db import Sessions
from ghapp.store.models import GraderBuild, clipped, utcnow
from ghapp.work.tenancy import Tenants
from runner.archive import ArchiveLimits, UnsafeArchive, extract_submission
from runner.build import GRADER_LABEL, BuildLimits, build_image, engine_id, has_image
from runner.registry import ImageNotFound, ImageStore, PullError

log = logging.getLogger(__name__)

TAG_PREFIX = "pushgrade-grader"
GRADER_ARCHIVE_CAP = 500 * 1024 * 1024
FAILED_RETRY_S = 300.0  # a failed build of one commit is reported, not retried, this long
GRADER_LIMITS = ArchiveLimits(max_total_bytes=GRADER_ARCHIVE_CAP, max_file_bytes=GRADER_ARCHIVE_CAP)
NOTE_LOG_CHARS = 1200  # of the log's tail, in the teacher's note (the job note is capped)


@dataclass(frozen=True)
class GraderImage:
    """The image to grade with (`tag`), or why there is none (`problem`, for the teacher)."""

    tag: str | None
    problem: str = ""
    log_tail: str = ""


class Graders:
    def __init__(
        self,
        sessions: Sessions,
        client: Callable[[], object],  # the Docker engine's client (runner's to use)
        *,
        worker: str,
        tenants: Tenants,
        images: Callable[[], ImageStore],
        poll_s: float = 1.0,
        lease_s: float = 60.0,
        failed_retry_s: float = FAILED_RETRY_S,
    ) -> None:
        self.sessions = sessions
        self._client = client
        self.worker = worker
        self.tenants = tenants
        self._images = images
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.failed_retry_s = failed_retry_s
        self._engine: str | None = None
        self.builds = 0  # builds this process ran (for tests and metrics)

    async def image_for(
        self, gh: InstallationClient, org: str, source: GraderSource
    ) -> GraderImage:
        owner, name = source.full_name(org)
        if owner.lower() != org.lower():
            return GraderImage(
                None,
                f"The grader repository {owner}/{name} belongs to another account: a grader is "
                f"built only from a repository of {org}.",
            )
        grader, tag_name = _identity(owner, name, source, gh.installation_id)
        sha = await gh.commit_sha(owner, name, source.ref)
        if sha is None:
            at = f" at {source.ref}" if source.ref else ""
            return GraderImage(
                None,
                f"The grader repository {owner}/{name}{at} was not found: check grader: in the "
                "config, and that the App is installed on that repository.",
            )
        engine = await self._engine_id()
        tag = f"{tag_name}:{sha}"
        while True:
            row = await self._row(grader, sha, engine)
            if row is None:
                if await self._insert_claim(grader, sha, engine, tag):
                    return await self._build(gh, source, grader, owner, name, sha, engine, tag)
                continue
            if row.state == "built" and await self._present(tag):
                return GraderImage(tag)
            if row.state == "failed" and not self._stale_failure(row):
                return GraderImage(None, _problem(f"{owner}/{name}", sha, row), row.log_tail)
            if row.state != "building" or row.lease_until is None or row.lease_until < utcnow():
                if await self._take_over(row.id):
                    return await self._build(gh, source, grader, owner, name, sha, engine, tag)
                continue
            await asyncio.sleep(self.poll_s)  # another worker builds it: wait for its word

    # -- the claim ------------------------------------------------------------------------------

    async def _row(self, grader: str, sha: str, engine: str) -> GraderBuild | None:
        return await builds.find(self.sessions, grader, sha, engine)

    async def _insert_claim(self, grader: str, sha: str, engine: str, tag: str) -> bool:
        return await builds.claim_new(
            self.sessions, grader, sha, engine, tag, builder=self.worker, lease_s=self.lease_s
        )

    async def _take_over(self, build_id: int) -> bool:
        return await builds.take_over(
            self.sessions,
            build_id,
            builder=self.worker,
            lease_s=self.lease_s,
            failed_retry_s=self.failed_retry_s,
        )

    async def _renew(self, grader: str, sha: str, engine: str) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            lease_until = utcnow() + timedelta(seconds=self.lease_s)
            await self._store(grader, sha, engine, {"lease_until": lease_until})

    # -- the build ------------------------------------------------------------------------------

    async def _build(
        self,
        gh: InstallationClient,
        source: GraderSource,
        grader: str,
        owner: str,
        name: str,
        sha: str,
        engine: str,
        tag: str,
    ) -> GraderImage:
        renewer = asyncio.create_task(self._renew(grader, sha, engine))
        scratch = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="pushgrade-grader-"))
        values: dict
        try:
            self.builds += 1
            log.info("building grader %s@%s as %s", grader, sha[:7], tag)
            values = await self._download_and_build(gh, source, owner, name, sha, tag, scratch)
        except BaseException:
            # Let another worker (or a later job) take the claim over at once.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._store(grader, sha, engine, {"lease_until": utcnow()}))
            raise
        finally:
            renewer.cancel()
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        await self._store(grader, sha, engine, values)
        if values["state"] == "built":
            return GraderImage(tag)
        row = await self._row(grader, sha, engine)
        assert row is not None
        return GraderImage(None, _problem(f"{owner}/{name}", sha, row), row.log_tail)

    async def _download_and_build(
        self,
        gh: InstallationClient,
        source: GraderSource,
        owner: str,
        name: str,
        sha: str,
        tag: str,
        scratch: Path,
    ) -> dict:
        archive, tree = scratch / "grader.tar.gz", scratch / "tree"
        try:
            await gh.download_tarball(owner, name, sha, archive, cap=GRADER_ARCHIVE_CAP)
            await asyncio.to_thread(
                extract_submission,
                archive,
                tree,
                GRADER_LIMITS,
            )
        except (DownloadTooLarge, UnsafeArchive) as err:
            return _failed("downloading the grader repository", str(err))
        context = tree / source.context
        dockerfile = tree / source.dockerfile
        # Extraction refused links out of the tree; a link inside it may still point elsewhere in
        # it, which is fine, but the context must be a folder and the Dockerfile a file.
        if not context.is_dir():
            return _failed("finding the build context", f"no folder {source.context!r} in it")
        if not dockerfile.is_file():
            return _failed("finding the Dockerfile", f"no file {source.dockerfile!r} in it")
        # Its base images are the tenant's to name as any image: by the same rule, pulled with
        # its own login (or proven present for it) before the build, which sends no login.
        rules = self.tenants.rules(owner)
        try:
            text = dockerfile.read_bytes()[:1_000_000].decode("utf-8", "replace")
            bases = self.tenants.build_bases(rules, text, owner=owner)
        except DockerfileRefused as err:
            return _failed("checking the Dockerfile's base images", str(err))
        pending, seen = list(bases), set()
        while pending:  # the bases, then what their ONBUILD triggers take (one level: no deeper)
            base = pending.pop(0)
            if base in seen:
                continue
            seen.add(base)
            try:
                auth = await self.tenants.pull_auth(rules, base)
                image = await asyncio.to_thread(self._images().get, base, auth=auth)
            except PullError as err:
                return _failed(f"pulling the base image {base}", err.reason)
            except ImageNotFound as err:
                return _failed(f"pulling the base image {base}", str(err)[:500])
            if base in bases:
                triggers = list((image.attrs.get("Config") or {}).get("OnBuild") or [])
                try:
                    pending += self.tenants.onbuild_sources(rules, triggers, owner=owner)
                except DockerfileRefused as err:
                    return _failed("checking the Dockerfile's base images", str(err))
        labels = {GRADER_LABEL: f"{owner}/{name}", "pushgrade.grader.commit": sha}
        result = await asyncio.to_thread(
            build_image,
            self._client(),
            context,
            dockerfile,
            tag=tag,
            labels=labels,
            limits=build_limits(rules),
        )
        if result.image_id is None:
            values = _failed(result.failed_step or "the build", result.error)
            values["log_tail"] = result.log_tail
            return values
        return {"state": "built", "image_id": result.image_id, "log_tail": result.log_tail}

    async def _store(self, grader: str, sha: str, engine: str, values: dict) -> None:
        await builds.record(self.sessions, grader, sha, engine, self.worker, values)

    async def _engine_id(self) -> str:
        if self._engine is None:
            self._engine = await asyncio.to_thread(engine_id, self._client())
        return self._engine

    async def _present(self, tag: str) -> bool:
        return await asyncio.to_thread(has_image, self._client(), tag)

    def _stale_failure(self, row: GraderBuild) -> bool:
        finished = row.finished_at or row.started_at
        return (utcnow() - finished).total_seconds() > self.failed_retry_s


def _failed(step: str, error: str) -> dict:
    return {"state": "failed", "failed_step": step[:500], "error": clipped(error), "log_tail": ""}


def build_limits(rules: TenantRules) -> BuildLimits:
    """A tenant's grader builds are bounded by its ceilings: time, memory, network."""
    ceilings = rules.ceilings
    return BuildLimits(
        timeout_s=ceilings.build_timeout,
        memory_bytes=ceilings.build_memory,
        network=ceilings.build_network,
    )


def _problem(grader: str, sha: str, row: GraderBuild) -> str:
    """The teacher's note for a failed build: which step, what the engine said, the log's end."""
    text = f"The grader {grader} at {sha[:7]} could not be built: "
    text += f"{row.failed_step} failed"
    if row.error:
        text += f": {row.error}"
    if row.log_tail:
        text += f"\nThe end of the build log:\n{row.log_tail[-NOTE_LOG_CHARS:]}"
    return text


def _identity(owner: str, name: str, source: GraderSource, installation_id: int) -> tuple[str, str]:
    """The build's key and its image's name, both carrying the installation: a tenant's built
    grader is its own, never found by another's build or named in a config. One repo may hold
    several graders (a Dockerfile and context per assignment): each is a build and an image of
    its own, told apart by a hash of where it is in the repo."""
    grader = f"i{installation_id}:{owner}/{name}"
    tag = f"{TAG_PREFIX}/i{installation_id}-{_slug(owner)}-{_slug(name)}"
    if (source.dockerfile, source.context) != ("Dockerfile", "."):
        where = hashlib.sha256(f"{source.context}\0{source.dockerfile}".encode()).hexdigest()[:10]
        grader, tag = f"{grader}#{where}", f"{tag}-{where}"
    return grader, tag


def _slug(name: str) -> str:
    """A name as a Docker repository path component: lower case, letters and digits joined by
    single dashes."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"
