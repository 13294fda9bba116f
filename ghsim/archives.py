"""Tarballs and zipballs laid out as codeload serves them (`git archive` with a prefix)."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile

from ghsim.gitobj import directories
from ghsim.state import Commit, Repo


def top_folder(repo: Repo, commit: Commit) -> str:
    """`{owner}-{repo}-{short sha}`, the single top-level folder GitHub's archives have."""
    return f"{repo.owner.login}-{repo.name}-{commit.sha[:7]}"


def tarball(repo: Repo, commit: Commit) -> bytes:
    """A gzipped pax tar whose global header's `comment` is the commit id, as `git archive`
    writes it."""
    prefix = top_folder(repo, commit)
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT, pax_headers={"comment": commit.sha}
    ) as tar:
        for name in ["", *sorted(directories(commit.files))]:
            info = tarfile.TarInfo(f"{prefix}/{name}".rstrip("/") + "/")
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o775, commit.timestamp
            info.uname = info.gname = "root"
            tar.addfile(info)
        for path in sorted(commit.files):
            data = commit.files[path]
            info = tarfile.TarInfo(f"{prefix}/{path}")
            info.size, info.mode, info.mtime = len(data), 0o664, commit.timestamp
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zipball(repo: Repo, commit: Commit) -> bytes:
    """A zip with the commit id as the archive comment, as `git archive --format=zip` writes."""
    prefix = top_folder(repo, commit)
    stamp = time.gmtime(max(commit.timestamp, 315532800))[:6]  # zip cannot date before 1980
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ["", *sorted(directories(commit.files))]:
            archive.writestr(zipfile.ZipInfo(f"{prefix}/{name}".rstrip("/") + "/", stamp), b"")
        for path in sorted(commit.files):
            info = zipfile.ZipInfo(f"{prefix}/{path}", stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, commit.files[path])
        archive.comment = commit.sha.encode()
    return buffer.getvalue()
