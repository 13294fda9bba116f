"""The policy a job is graded under: the org's file and the repo's, read once per job.

At a deadline hundreds of pushes arrive within minutes, each needing the same org file (from
the org's `.github` repository, default branch) and, mostly, a repo file identical to its
classmates'. So the org file is read at most once a minute per org, and every file is parsed
and validated once per git blob: the contents API names the blob, and equal blobs are equal
files.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from ghapp.core.config import ConfigError, PushgradeConfig, load_file
from ghapp.core.policy import Resolution, resolve
from ghapp.github import InstallationClient

CONFIG_PATH = ".github/pushgrade.yml"
ORG_CONFIG_REPO = ".github"  # the org-level file lives in the org's .github repository
ORG_FILE_TTL_S = 60.0  # a teacher's edit of the org file applies within this long


class ConfigReader:
    def __init__(self, *, org_ttl_s: float = ORG_FILE_TTL_S, parsed_max: int = 1024) -> None:
        self.org_ttl_s = org_ttl_s
        self.parsed_max = parsed_max
        self._org: dict[tuple[int, str], tuple[float, tuple[str, bytes] | None]] = {}
        self._parsed: OrderedDict[tuple[str, str, bool], PushgradeConfig | ConfigError] = (
            OrderedDict()
        )
        self.parses = 0  # how many files were actually parsed (the rest came from the cache)

    async def resolution(
        self, gh: InstallationClient, owner: str, repo: str, sha: str
    ) -> Resolution | None:
        """The org file merged with the repo's file at `sha`; None when neither exists.
        Raises `ConfigError` for a file that is invalid or a merge that is incomplete."""
        org_blob = await self._org_file(gh, owner)
        repo_blob = await gh.blob(owner, repo, CONFIG_PATH, sha)
        if org_blob is None and repo_blob is None:
            return None
        org_name = f"{owner}/{ORG_CONFIG_REPO}/{CONFIG_PATH}"
        org = self._parse(org_blob, org_name, org=True) if org_blob else None
        mine = self._parse(repo_blob, CONFIG_PATH, org=False) if repo_blob else None
        return resolve(repo, org=org, repo=mine)

    async def org_file(self, gh: InstallationClient, owner: str) -> PushgradeConfig | None:
        """The org's own file (read as for grading, at most once a minute); None when there is
        none. Raises `ConfigError` when it is invalid."""
        blob = await self._org_file(gh, owner)
        if blob is None:
            return None
        return self._parse(blob, f"{owner}/{ORG_CONFIG_REPO}/{CONFIG_PATH}", org=True)

    def forget_org(self, gh: InstallationClient, owner: str) -> None:
        """The org file changed (a push to the org's .github repo): read it again next time."""
        self._org.pop((gh.installation_id, owner.lower()), None)

    async def _org_file(self, gh: InstallationClient, owner: str) -> tuple[str, bytes] | None:
        key = (gh.installation_id, owner.lower())
        cached = self._org.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        blob = await gh.blob(owner, ORG_CONFIG_REPO, CONFIG_PATH, None)
        self._org[key] = (time.monotonic() + self.org_ttl_s, blob)
        return blob

    def _parse(self, blob: tuple[str, bytes], file: str, *, org: bool) -> PushgradeConfig:
        sha, data = blob
        key = (sha, file, org)
        found = self._parsed.get(key) if sha else None
        if found is None:
            self.parses += 1
            try:
                found = load_file(data, file=file, org=org)
            except ConfigError as err:
                found = err
            if sha:
                self._parsed[key] = found
                while len(self._parsed) > self.parsed_max:
                    self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(key)
        if isinstance(found, ConfigError):
            raise ConfigError(found.file, found.problems)  # a fresh one: no traceback piles up
        return found
