"""The template repository as the conversion sees it: which files and folders it holds, and their
bytes, read with a cap. The tree itself was copied by `runner.archive`, which refuses links out
of it; reads here stay inside it too."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

MAX_CONFIG_BYTES = 1024 * 1024  # an autograding.json or a workflow


@dataclass(frozen=True)
class Template:
    root: Path
    files: frozenset[str]  # relative POSIX paths of regular files (and links to them)
    dirs: frozenset[str]

    @classmethod
    def scan(cls, root: Path) -> Template:
        files, dirs = set(), set()
        for folder, subdirs, names in os.walk(root):
            rel = Path(folder).relative_to(root).as_posix()
            rel = "" if rel == "." else rel
            subdirs[:] = [d for d in subdirs if not (Path(folder) / d).is_symlink()]
            for name in subdirs:
                dirs.add(posixpath.join(rel, name))
            for name in names:
                path = Path(folder) / name
                if path.is_file():  # a link to a file inside the tree counts as the file
                    files.add(posixpath.join(rel, name))
        return cls(root, frozenset(files), frozenset(dirs))

    def has(self, path: str) -> bool:
        return path in self.files

    def under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return sorted(f for f in self.files if f.startswith(prefix))

    def read(self, path: str, cap: int = MAX_CONFIG_BYTES) -> bytes:
        """The file's bytes; ValueError when it is larger than `cap` or not inside the tree."""
        full = (self.root / path).resolve()
        if not full.is_relative_to(self.root.resolve()) or not full.is_file():
            raise ValueError(f"{path} is not a file of the template")
        with full.open("rb") as handle:
            data = handle.read(cap + 1)
        if len(data) > cap:
            raise ValueError(f"{path} is larger than {cap // 1024} KiB")
        return data


def normalize(word: str) -> str:
    """A word of a command as a path relative to the repository's root ("" when it is not one:
    absolute, outside, an option)."""
    word = word.split("::", 1)[0]  # pytest's tests/test_x.py::test_one
    if not word or word.startswith(("-", "/", "~", "$")) or "\0" in word:
        return ""
    path = posixpath.normpath(word)
    if path == "." or path.startswith("../") or path == "..":
        return ""
    return path
