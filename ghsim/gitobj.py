"""Git object ids computed as git computes them, so shas match `git hash-object` and real trees."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

ZERO_SHA = "0" * 40
FILE_MODE = b"100644"
TREE_MODE = b"40000"


def _hash_object(kind: str, data: bytes) -> str:
    header = f"{kind} {len(data)}\0".encode()
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def blob_sha(content: bytes) -> str:
    """The blob id `git hash-object` prints for this content."""
    return _hash_object("blob", content)


def tree_sha(files: Mapping[str, bytes], prefix: str = "") -> str:
    """The id of the tree holding `files` (flat paths) under `prefix` ("" for the root)."""
    entries: dict[str, tuple[bytes, str]] = {}
    for path, content in files.items():
        if prefix and not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        head, sep, _ = rest.partition("/")
        if sep:
            if head not in entries:
                entries[head] = (TREE_MODE, tree_sha(files, prefix + head + "/"))
        else:
            entries[head] = (FILE_MODE, blob_sha(content))
    # Git sorts tree entries by name, comparing a subtree's name as if it ended in "/".
    ordered = sorted(entries.items(), key=lambda e: e[0] + ("/" if e[1][0] == TREE_MODE else ""))
    data = b"".join(
        mode + b" " + name.encode() + b"\0" + bytes.fromhex(sha) for name, (mode, sha) in ordered
    )
    return _hash_object("tree", data)


def commit_sha(
    *,
    tree: str,
    parents: tuple[str, ...],
    author: str,
    email: str,
    timestamp: int,
    message: str,
) -> str:
    """The id of a commit object with the same author and committer (UTC)."""
    ident = f"{author} <{email}> {timestamp} +0000"
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    lines += [f"author {ident}", f"committer {ident}", "", message]
    text = "\n".join(lines)
    if not text.endswith("\n"):
        text += "\n"
    return _hash_object("commit", text.encode())


def directories(files: Mapping[str, bytes]) -> set[str]:
    """Every directory path (without trailing slash) that holds at least one file."""
    dirs: set[str] = set()
    for path in files:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return dirs
