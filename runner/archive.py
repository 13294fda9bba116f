"""Safe extraction of untrusted submissions: GitHub tarballs and zipballs, plain tars, folders.

Everything about a submission is hostile. Entries are checked one by one while the archive is
streamed: no absolute paths, no `..`, no links out of the tree, no entry behind a link, no hard
links, devices or pipes, no duplicates, and caps on sizes, entry count, depth and path length that
hold against decompression bombs. Symbolic links are created only after every file and folder has
been written, so nothing is ever written through one. On any failure the partial tree is removed
and `UnsafeArchive` says, in words a student understands, which entry was refused and why.
"""

from __future__ import annotations

import gzip
import os
import posixpath
import re
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

_T = TypeVar("_T")

_CHUNK = 64 * 1024
# A tar header (with its pax or GNU long-name records) larger than this is an attack, not a name.
_HEADER_BYTES = 1024 * 1024
# What one entry may add to the decompressed stream beyond its file data: headers and padding.
_ENTRY_OVERHEAD = 8 * 1024
_MAX_LINK_HOPS = 40  # as the Linux kernel
_ONLY_TREE = "; archives may hold only files, folders and links inside the tree"
_NOT_ARCHIVE = "is not a .tar.gz, .tar or .zip archive"
# What a broken archive makes the decoders raise (gzip.BadGzipFile is an OSError).
_CORRUPT = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, struct.error, OSError)
_CORRUPT += (ValueError, NotImplementedError)  # bad field values; unknown zip compression
_BAD_HEADER = (tarfile.EmptyHeaderError, tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TAR_SPECIALS = {tarfile.CHRTYPE: "a device", tarfile.BLKTYPE: "a device"}
_TAR_SPECIALS |= {tarfile.FIFOTYPE: "a named pipe (fifo)", tarfile.LNKTYPE: "a hard link"}
_MODE_WORDS = {stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket"}
_MODE_WORDS[stat.S_IFIFO] = "a named pipe (fifo)"


@dataclass(frozen=True)
class ArchiveLimits:
    max_total_bytes: int = 100 * 1024 * 1024  # sum of regular-file sizes actually written
    max_file_bytes: int = 50 * 1024 * 1024  # one file
    max_files: int = 10_000  # entries of any kind (files, dirs, links)
    max_path_length: int = 1024  # bytes of one relative path
    max_depth: int = 64  # path components


class UnsafeArchive(Exception):
    """A submission that cannot be graded; `str(e)` is a sentence naming the bad entry."""

    def __init__(self, message: str, entry: str | None = None):
        super().__init__(message)
        self.message = message
        self.entry = entry


@dataclass(frozen=True)
class ExtractedTree:
    root: Path
    files: int  # regular files written
    bytes: int  # bytes written
    stripped_prefix: str | None  # the single top-level folder that was stripped, if any


def extract_submission(
    source: Path, dest: Path, limits: ArchiveLimits = ArchiveLimits()
) -> ExtractedTree:
    """Extract `source` (a .tar.gz, .tar or .zip file, by content, or a folder) into `dest`.

    `dest` must be empty or absent. A single top-level folder in an archive (GitHub's
    `{owner}-{repo}-{sha}/`) is stripped; a folder source is copied as it is, except for a
    top-level `.git` directory (a student's local clone), which is skipped. Raises
    `UnsafeArchive`, leaving `dest` absent or empty, and `ValueError` if `dest` holds files.
    """
    source, dest = Path(source), Path(dest)
    created = _prepare_destination(dest)
    tree = _TreeBuilder(dest, limits)
    try:
        if source.is_dir():
            _read_folder(source, tree)
            return tree.finish(strip=False)
        kind = _sniff(source)
        if kind == "zip":
            _read_zip(source, tree)
        else:
            with open(source, "rb") as raw:
                inner: BinaryIO = gzip.GzipFile(fileobj=raw) if kind == "gzip" else raw
                _read_tar(_BudgetedStream(inner, limits), tree)
        return tree.finish(strip=True)
    except BaseException as exc:
        _discard_partial(dest, created)
        if not isinstance(exc, _CORRUPT):
            raise
        what = "folder could not be read" if source.is_dir() else "archive is corrupt or truncated"
        raise UnsafeArchive(f"the {what}: {exc}") from exc


def _prepare_destination(dest: Path) -> bool:
    """Create `dest`; return whether we did, so that a failure can remove it again."""
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise ValueError(f"{dest} must be a directory")
    if dest.exists():
        if any(dest.iterdir()):
            raise ValueError(f"{dest} must be empty before a submission is extracted into it")
        return False
    dest.mkdir(parents=True)
    return True


def _discard_partial(dest: Path, created: bool) -> None:
    """Remove everything written so far, so that nothing half-extracted is ever graded."""
    if not dest.is_dir():
        return
    for entry in os.scandir(dest):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)
    if created:
        os.rmdir(dest)


def _sniff(path: Path) -> str:
    """Tell the archive format from the content; students rename files, and GitHub may too."""
    if not path.is_file():
        raise UnsafeArchive(f'"{_show(path.name)}" {_NOT_ARCHIVE}')
    with open(path, "rb") as f:
        head = f.read(tarfile.BLOCKSIZE)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[257:262] == b"ustar" or _has_tar_checksum(head):
        return "tar"
    raise UnsafeArchive(f'"{_show(path.name)}" {_NOT_ARCHIVE}')


def _has_tar_checksum(block: bytes) -> bool:
    """An old (v7) tar has no magic; its first header's checksum is the only sign."""
    if len(block) < tarfile.BLOCKSIZE:
        return False
    try:
        stored = int(block[148:156].replace(b"\0", b" ").strip() or b"-", 8)
    except ValueError:
        return False
    return stored == sum(block[:148]) + 8 * 32 + sum(block[156:512])


class _BudgetedStream:
    """The decompressed tar stream, allowed to run only a little ahead of the files written.

    tarfile reads a pax or GNU long-name header into memory whole, so a bomb hidden in a header
    would never reach our per-file counters: each header is capped here, and so is the stream.
    """

    def __init__(self, inner: BinaryIO, limits: ArchiveLimits):
        self.inner = inner
        self.consumed = 0
        self.mark = 0
        self.allowance = _HEADER_BYTES
        self.total = limits.max_total_bytes + limits.max_files * _ENTRY_OVERHEAD + _HEADER_BYTES

    def expect(self, data_bytes: int) -> None:
        """From here, allow `data_bytes` of file data plus the next member's header."""
        self.mark = self.consumed
        self.allowance = data_bytes + _HEADER_BYTES

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size if 0 <= size <= _CHUNK * 4 else _CHUNK * 4)
        self.consumed += len(data)
        if self.consumed - self.mark > self.allowance or self.consumed > self.total:
            raise UnsafeArchive(
                "the archive expands to far more data than the files it holds "
                "(a decompression bomb?)"
            )
        return data


class _StrictTarInfo(tarfile.TarInfo):
    """tarfile quietly ends the listing at a missing end marker or a garbage header; here
    that is corruption, so a shortened tree is never graded."""

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:
        try:
            return super().fromtarfile(tarfile_)
        except _BAD_HEADER as e:
            raise tarfile.ReadError(f"{e} at byte {tarfile_.offset}") from None


def _read_tar(stream: _BudgetedStream, tree: _TreeBuilder) -> None:
    with tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo) as tar:
        for member in tar:
            if member.isreg():
                stream.expect(member.size)
                data = tar.extractfile(member)
                assert data is not None
                tree.add_file(member.name, member.mode, member.size, _chunks(data))
            elif member.isdir():
                tree.add_dir(member.name)
            elif member.issym():
                tree.add_link(member.name, member.linkname)
            else:
                tree.reject_type(
                    member.name, _TAR_SPECIALS.get(member.type, "of an unsupported type")
                )
            stream.expect(0)


def _read_zip(path: Path, tree: _TreeBuilder) -> None:
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > tree.limits.max_files:
            raise UnsafeArchive(f"the archive has more than {tree.limits.max_files} entries")
        for info in infos:
            name = info.filename.replace("\\", "/")
            mode = info.external_attr >> 16
            kind = stat.S_IFMT(mode)
            if info.flag_bits & 0x1:
                raise UnsafeArchive(f'entry "{_show(name)}" is encrypted', name)
            if kind == stat.S_IFLNK:
                with zf.open(info) as f:
                    target = f.read(tree.limits.max_path_length + 1)
                tree.add_link(name, target.decode("utf-8", "surrogateescape"))
            elif name.endswith("/") or kind == stat.S_IFDIR:
                tree.add_dir(name)
            elif kind in (0, stat.S_IFREG):
                with zf.open(info) as f:
                    tree.add_file(name, mode, info.file_size, _chunks(f))
            else:
                tree.reject_type(name, _describe_mode(mode))


def _read_folder(root: Path, tree: _TreeBuilder) -> None:
    pending = [("", str(root))]
    while pending:
        prefix, folder = pending.pop()
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            rel = prefix + entry.name
            if rel == ".git":
                continue
            if entry.is_symlink():
                tree.add_link(rel, os.readlink(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                tree.add_dir(rel)
                pending.append((rel + "/", entry.path))
            elif entry.is_file(follow_symlinks=False):
                # O_NONBLOCK and fstat: the file may have been swapped for a pipe since the scan.
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(fd, "rb") as f:
                    info = os.fstat(f.fileno())
                    if not stat.S_ISREG(info.st_mode):
                        tree.reject_type(rel, _describe_mode(info.st_mode))
                    tree.add_file(rel, info.st_mode, info.st_size, _chunks(f))
            else:
                tree.reject_type(rel, _describe_mode(entry.stat(follow_symlinks=False).st_mode))


def _chunks(f: BinaryIO) -> Iterator[bytes]:
    while chunk := f.read(_CHUNK):
        yield chunk


def _describe_mode(mode: int) -> str:
    return _MODE_WORDS.get(stat.S_IFMT(mode), "of an unsupported type")


class _TreeBuilder:
    """Checks each entry against everything seen before it and writes it under `root`."""

    def __init__(self, root: Path, limits: ArchiveLimits):
        self.root = root
        self.limits = limits
        self.kinds: dict[str, str] = {}  # relative path -> "folder" | "file" | "link"
        self.links: dict[str, tuple[str, str]] = {}  # path -> (target, entry name); made last
        self.tops: set[str] = set()
        self.entries = self.files = self.bytes = 0

    def add_dir(self, name: str) -> None:
        parts = self._admit(name, "folder")
        if parts:
            self._make_folders(parts)

    def add_file(self, name: str, mode: int, declared: int, chunks: Iterable[bytes]) -> None:
        parts = self._admit(name, "file")
        self._check_size(name, declared, declared)
        self._make_folders(parts[:-1])
        rel = "/".join(parts)
        self.kinds[rel] = "file"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        fd = self._fs(name, os.open, os.path.join(self.root, rel), flags, 0o600)
        try:
            written = 0
            for chunk in chunks:
                written += len(chunk)
                self._check_size(name, written, len(chunk))
                view = memoryview(chunk)
                while view:
                    view = view[self._fs(name, os.write, fd, view) :]
                self.bytes += len(chunk)
            self._fs(name, os.fchmod, fd, 0o755 if mode & 0o111 else 0o644)
        finally:
            os.close(fd)
        self.files += 1

    def add_link(self, name: str, target: str) -> None:
        parts = self._admit(name, "link")
        rel = "/".join(parts)
        shown = f'entry "{_show(name)}" is a symbolic link to "{_show(target)}"'
        if not target or _CONTROL.search(target):
            raise UnsafeArchive(f"{shown}, which is not a usable link target", name)
        if len(os.fsencode(target)) > self.limits.max_path_length:
            raise UnsafeArchive(f"{shown}, longer than the limit for paths", name)
        landing = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        if target.startswith("/") or landing == ".." or landing.startswith("../"):
            raise UnsafeArchive(f"{shown}, outside the submission", name)
        self._make_folders(parts[:-1])
        self.kinds[rel] = "link"
        self.links[rel] = (target, name)

    def reject_type(self, name: str, what: str) -> None:
        raise UnsafeArchive(f'entry "{_show(name)}" is {what}{_ONLY_TREE}', name)

    def finish(self, strip: bool) -> ExtractedTree:
        prefix = None
        if strip and len(self.tops) == 1:
            (top,) = self.tops
            if self.kinds.get(top) == "folder":
                prefix = top
                self._fs(top, _move_contents_up, self.root, top)
        cut = len(prefix) + 1 if prefix is not None else 0
        links = {rel[cut:]: target for rel, (target, _) in self.links.items()}
        for (rel, target), (_, name) in zip(links.items(), self.links.values(), strict=True):
            if not _resolves_inside(rel, target, links):
                raise UnsafeArchive(
                    f'entry "{_show(name)}" is a symbolic link to "{_show(target)}", '
                    "outside the submission",
                    name,
                )
            self._fs(name, os.symlink, target, os.path.join(self.root, rel))
        return ExtractedTree(self.root, self.files, self.bytes, prefix)

    def _admit(self, name: str, kind: str) -> list[str]:
        """Check one entry's name and place; return its path components (empty for the root)."""
        self.entries += 1
        if self.entries > self.limits.max_files:
            raise UnsafeArchive(f"the archive has more than {self.limits.max_files} entries")
        shown = f'entry "{_show(name)}"'
        if _CONTROL.search(name):
            raise UnsafeArchive(f"{shown} has control characters in its name", name)
        if name.startswith("/"):
            raise UnsafeArchive(f"{shown} is an absolute path, outside the submission folder", name)
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if not parts and kind != "folder":  # a folder named "" or "." is the root itself
            raise UnsafeArchive(f"{shown} has an empty name", name)
        if ".." in parts:
            raise UnsafeArchive(f"{shown} leaves the submission folder", name)
        if len(parts) > self.limits.max_depth:
            raise UnsafeArchive(
                f"{shown} is nested deeper than {self.limits.max_depth} folders", name
            )
        rel = "/".join(parts)
        if len(os.fsencode(rel)) > self.limits.max_path_length:
            raise UnsafeArchive(
                f"{shown} has a path longer than {self.limits.max_path_length} bytes", name
            )
        for i in range(1, len(parts)):
            above = "/".join(parts[:i])
            if self.kinds.get(above) == "link":
                raise UnsafeArchive(f'{shown} goes through the symbolic link "{above}"', name)
            if self.kinds.get(above) == "file":
                raise UnsafeArchive(f'{shown} is inside "{above}", which is a file', name)
        existing = self.kinds.get(rel)
        if existing is not None and not existing == kind == "folder":
            also = "" if existing == kind else f", as a {existing} and as a {kind}"
            raise UnsafeArchive(f"{shown} appears twice in the archive{also}", name)
        if parts:
            self.tops.add(parts[0])
        return parts

    def _check_size(self, name: str, file_bytes: int, more: int) -> None:
        if file_bytes > self.limits.max_file_bytes:
            raise UnsafeArchive(
                f'entry "{_show(name)}" is larger than the '
                f"{_size(self.limits.max_file_bytes)} limit per file",
                name,
            )
        if self.bytes + more > self.limits.max_total_bytes:
            raise UnsafeArchive(
                f"the files add up to more than the {_size(self.limits.max_total_bytes)} limit "
                f'for a submission (at entry "{_show(name)}")',
                name,
            )

    def _make_folders(self, parts: list[str]) -> None:
        for i in range(1, len(parts) + 1):
            rel = "/".join(parts[:i])
            if self.kinds.get(rel) != "folder":
                path = os.path.join(self.root, rel)
                self._fs(rel, os.mkdir, path, 0o755)
                self._fs(rel, os.chmod, path, 0o755)  # exactly, whatever the umask
                self.kinds[rel] = "folder"

    def _fs(self, name: str, op: Callable[..., _T], *args: object) -> _T:
        """Run one filesystem call; a refusal (name too long, disk full) names the entry."""
        try:
            return op(*args)
        except OSError as e:
            message = f'entry "{_show(name)}" could not be written: {e.strerror}'
            raise UnsafeArchive(message, name) from e


def _move_contents_up(root: Path, top: str) -> None:
    """Strip `top/`: its children become `root`'s, even one that is itself named `top`."""
    children = set(os.listdir(os.path.join(root, top)))
    parking = ".pushgrade-strip"
    while parking in children or parking == top:
        parking += "_"
    os.rename(os.path.join(root, top), os.path.join(root, parking))
    for child in children:
        os.rename(os.path.join(root, parking, child), os.path.join(root, child))
    os.rmdir(os.path.join(root, parking))


def _resolves_inside(link: str, target: str, links: dict[str, str]) -> bool:
    """Resolve `link` as the kernel would, following the archive's other links; never above root.

    A lexical check alone is not enough: with `s -> ../..` two folders deep, `t -> d/e/s/../x`
    looks inside but lands outside.
    """
    where = link.split("/")[:-1]  # real folders: no entry is behind a link
    pending = target.split("/")
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not where:
                return False
            where.pop()
            continue
        candidate = "/".join([*where, part])
        if candidate in links:
            hops += 1
            inner = links[candidate]
            if hops > _MAX_LINK_HOPS or inner.startswith("/"):
                return False
            pending = inner.split("/") + pending
            continue
        where.append(part)
    return True


def _show(text: str, limit: int = 200) -> str:
    """A name as it may safely appear in a message: escaped, and not endless."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"
