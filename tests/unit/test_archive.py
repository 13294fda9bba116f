"""Safe extraction of hostile submissions: every archive here is built in the test itself."""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from runner import archive
from runner.archive import ArchiveLimits, ExtractedTree, UnsafeArchive, extract_submission

SHA = "abc1234def5678abc1234def5678abc1234def56"
MiB = 1024 * 1024


# --- building archives -----------------------------------------------------------------------


def file_entry(name: str, data: bytes = b"", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def dir_entry(name: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode = tarfile.DIRTYPE, 0o755
    return info, b""


def link_entry(
    name: str, target: str, kind: bytes = tarfile.SYMTYPE
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


def special_entry(name: str, kind: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info, b""


def make_tar(path: Path, entries: list, *, gz: bool = True, sha: str | None = None) -> Path:
    """A tarball; with `sha`, shaped like GitHub's (pax global header with the commit)."""
    fmt = tarfile.PAX_FORMAT if sha else tarfile.GNU_FORMAT
    headers = {"comment": sha} if sha else None
    with tarfile.open(path, "w:gz" if gz else "w", format=fmt, pax_headers=headers) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def make_zip(path: Path, entries: list[tuple[str, bytes, int]]) -> Path:
    """A zip of (name, data, unix mode); the mode's file-type bits make links and folders."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.create_system, info.external_attr = 3, mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def github_tarball(tmp_path: Path, entries: list, top: str = "octo-hw1-abc1234") -> Path:
    prefixed = [dir_entry(f"{top}/")]
    for info, data in entries:
        info.name = f"{top}/{info.name}"
        prefixed.append((info, data))
    return make_tar(tmp_path / "submission.tar.gz", prefixed, sha=SHA)


def rejected(source: Path, dest: Path, **limits: int) -> UnsafeArchive:
    """Extract, expect a refusal, and check that nothing was left behind."""
    with pytest.raises(UnsafeArchive) as caught:
        extract_submission(source, dest, ArchiveLimits(**limits))
    assert not dest.exists(), "a refused submission must leave no files behind"
    return caught.value


def gzip_member(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1)


def tar_header(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def bytes_on_disk(root: Path) -> int:
    return sum(
        os.lstat(os.path.join(folder, name)).st_size
        for folder, _, names in os.walk(root)
        for name in names
    )


@pytest.fixture
def disk_peak(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records how many bytes were on disk when a refused extraction was cleaned up."""
    seen: list[int] = []
    discard = archive._discard_partial

    def measuring(dest: Path, created: bool) -> None:
        seen.append(bytes_on_disk(dest))
        discard(dest, created)

    monkeypatch.setattr(archive, "_discard_partial", measuring)
    return seen


# --- what a good submission looks like after extraction --------------------------------------


def test_github_tarball_is_stripped_of_its_top_folder_and_files_land_at_the_root(tmp_path):
    source = github_tarball(
        tmp_path,
        [dir_entry("src/"), file_entry("src/main.py", b"print(1)\n"), file_entry("README", b"hi")],
    )
    tree = extract_submission(source, tmp_path / "out")

    assert tree == ExtractedTree(
        tmp_path / "out", files=2, bytes=11, stripped_prefix="octo-hw1-abc1234"
    )
    assert (tmp_path / "out/src/main.py").read_bytes() == b"print(1)\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["README", "src"]


def test_github_zipball_is_stripped_of_its_top_folder(tmp_path):
    top = "octo-hw1-abc1234/"
    source = make_zip(
        tmp_path / "submission.zip",
        [
            (top, b"", stat.S_IFDIR | 0o755),
            (top + "src/", b"", stat.S_IFDIR | 0o755),
            (top + "src/main.py", b"print(1)\n", stat.S_IFREG | 0o644),
            (top + "link", b"src/main.py", stat.S_IFLNK | 0o777),
        ],
    )
    tree = extract_submission(source, tmp_path / "out")

    assert tree.stripped_prefix == "octo-hw1-abc1234"
    assert (tmp_path / "out/src/main.py").read_bytes() == b"print(1)\n"
    assert os.readlink(tmp_path / "out/link") == "src/main.py"


def test_top_folder_that_holds_a_folder_of_the_same_name_is_stripped_once(tmp_path):
    source = github_tarball(tmp_path, [file_entry("octo-hw1-abc1234/inner.txt", b"x")])
    extract_submission(source, tmp_path / "out")
    assert (tmp_path / "out/octo-hw1-abc1234/inner.txt").read_bytes() == b"x"


def test_plain_tar_with_several_top_level_entries_is_not_stripped(tmp_path):
    source = make_tar(
        tmp_path / "s.tar", [file_entry("a.py", b"a"), file_entry("./lib/b.py", b"b")], gz=False
    )
    tree = extract_submission(source, tmp_path / "out")

    assert tree.stripped_prefix is None
    assert (tmp_path / "out/a.py").read_bytes() == b"a"
    assert (tmp_path / "out/lib/b.py").read_bytes() == b"b"


def test_format_is_told_by_content_not_by_file_name(tmp_path):
    source = make_tar(tmp_path / "looks-like.zip", [file_entry("a.py", b"a")])
    assert extract_submission(source, tmp_path / "out").files == 1


def test_old_tar_without_ustar_magic_is_recognised_by_its_header_checksum(tmp_path):
    header = bytearray(tar_header("old.txt", 3))
    header[257:265] = bytes(8)  # no "ustar" magic, as a v7 tar
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    source = tmp_path / "old.tar"
    source.write_bytes(bytes(header) + b"abc".ljust(512, b"\0") + bytes(1024))
    extract_submission(source, tmp_path / "out")
    assert (tmp_path / "out/old.txt").read_bytes() == b"abc"


def test_empty_zip_gives_an_empty_tree(tmp_path):
    source = tmp_path / "empty.zip"
    zipfile.ZipFile(source, "w").close()
    assert extract_submission(source, tmp_path / "out").files == 0


def test_existing_empty_destination_is_used_and_stays_after_a_refusal(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    source = make_tar(tmp_path / "s.tgz", [file_entry("ok.txt", b"1"), file_entry("../x", b"")])
    with pytest.raises(UnsafeArchive):
        extract_submission(source, dest)
    assert dest.is_dir() and not any(dest.iterdir())


def test_destination_with_files_in_it_is_refused_and_left_alone(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="must be empty"):
        extract_submission(make_tar(tmp_path / "s.tgz", [file_entry("a", b"")]), dest)
    assert (dest / "keep.txt").read_text() == "mine"


def test_folder_source_keeps_inner_symlinks_skips_dot_git_and_is_never_stripped(tmp_path):
    folder = tmp_path / "clone"
    (folder / "only" / "src").mkdir(parents=True)
    (folder / "only" / "src" / "a.py").write_text("a")
    (folder / "only" / "link").symlink_to("src/a.py")
    (folder / ".git" / "objects").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main")

    tree = extract_submission(folder, tmp_path / "out")

    assert tree.stripped_prefix is None and tree.files == 1
    assert os.readlink(tmp_path / "out/only/link") == "src/a.py"
    assert not (tmp_path / "out/.git").exists()


def test_folder_source_with_a_link_pointing_outside_is_rejected_by_name(tmp_path):
    folder = tmp_path / "clone"
    folder.mkdir()
    (folder / "secrets").symlink_to("../../etc")
    error = rejected(folder, tmp_path / "out")
    assert 'entry "secrets" is a symbolic link to "../../etc", outside the submission' in str(error)


def test_folder_source_with_a_fifo_is_rejected_by_name(tmp_path):
    folder = tmp_path / "clone"
    folder.mkdir()
    os.mkfifo(folder / "pipe")
    assert 'entry "pipe" is a named pipe (fifo)' in str(rejected(folder, tmp_path / "out"))


def test_executable_bit_is_kept_and_setuid_and_sticky_are_dropped(tmp_path):
    source = make_tar(
        tmp_path / "s.tgz",
        [
            file_entry("run.sh", b"#!/bin/sh\n", 0o4755),
            file_entry("notes.txt", b"x", 0o2666),
            file_entry("tool", b"x", 0o1700),
        ],
    )
    extract_submission(source, tmp_path / "out")

    def mode(name: str) -> int:
        return stat.S_IMODE(os.lstat(tmp_path / "out" / name).st_mode)

    assert (mode("run.sh"), mode("notes.txt"), mode("tool")) == (0o755, 0o644, 0o755)


# --- names that leave the tree ---------------------------------------------------------------


def test_absolute_path_is_rejected_by_name(tmp_path):
    error = rejected(
        make_tar(tmp_path / "s.tgz", [file_entry("/etc/cron.d/x", b"")]), tmp_path / "o"
    )
    assert 'entry "/etc/cron.d/x"' in str(error) and error.entry == "/etc/cron.d/x"


@pytest.mark.parametrize("name", ["../../etc/passwd", "src/../../x", ".."])
def test_dot_dot_path_is_rejected_by_name(tmp_path, name):
    error = rejected(make_tar(tmp_path / "s.tgz", [file_entry(name, b"")]), tmp_path / "o")
    assert str(error) == f'entry "{name}" leaves the submission folder'


def test_zip_with_backslash_traversal_is_rejected(tmp_path):
    source = make_zip(tmp_path / "s.zip", [("..\\..\\evil", b"x", stat.S_IFREG | 0o644)])
    assert "leaves the submission folder" in str(rejected(source, tmp_path / "out"))


def test_control_characters_in_a_name_are_rejected_and_shown_escaped(tmp_path):
    error = rejected(make_tar(tmp_path / "s.tgz", [file_entry("a\nb", b"")]), tmp_path / "o")
    assert 'entry "a\\nb" has control characters' in str(error)


def test_too_deep_path_is_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry("a/" * 10 + "f", b"")])
    assert "deeper than 5 folders" in str(rejected(source, tmp_path / "o", max_depth=5))


def test_too_long_path_is_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry("x" * 200, b"")])
    assert "longer than 100 bytes" in str(rejected(source, tmp_path / "o", max_path_length=100))


# --- links -----------------------------------------------------------------------------------


def test_symlink_with_absolute_target_is_rejected_by_name(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [link_entry("link", "/etc/shadow")])
    assert str(rejected(source, tmp_path / "o")) == (
        'entry "link" is a symbolic link to "/etc/shadow", outside the submission'
    )


def test_symlink_pointing_outside_is_rejected_by_name(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [dir_entry("a"), link_entry("a/up", "../../x")])
    assert 'entry "a/up" is a symbolic link to "../../x", outside' in str(
        rejected(source, tmp_path / "o")
    )


def test_entry_written_through_a_link_to_the_root_is_rejected(tmp_path):
    """The classic escape: `x -> .`, then `x/y -> ..` would make y point above the root."""
    source = make_tar(tmp_path / "s.tgz", [link_entry("x", "."), link_entry("x/y", "..")])
    assert 'entry "x/y" goes through the symbolic link "x"' in str(rejected(source, tmp_path / "o"))


@pytest.mark.parametrize("target", ["/tmp", "inside"])
def test_file_written_through_a_link_is_rejected_wherever_the_link_points(tmp_path, target):
    source = make_tar(
        tmp_path / "s.tgz", [dir_entry("inside"), link_entry("d", target), file_entry("d/f", b"x")]
    )
    error = rejected(source, tmp_path / "o")
    assert "/tmp" in str(error) or 'goes through the symbolic link "d"' in str(error)
    assert not Path("/tmp/f").exists()


def test_link_chain_that_only_resolves_outside_when_followed_is_rejected(tmp_path):
    """`t -> d/e/s/../x` looks inside, but `s -> ../..` is the root, so `..` leaves it."""
    source = make_tar(
        tmp_path / "s.tgz",
        [dir_entry("d/e"), link_entry("d/e/s", "../.."), link_entry("t", "d/e/s/../x")],
    )
    assert 'entry "t" is a symbolic link to "d/e/s/../x", outside' in str(
        rejected(source, tmp_path / "o")
    )


def test_link_loop_is_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [link_entry("a", "b"), link_entry("b", "a")])
    assert "symbolic link" in str(rejected(source, tmp_path / "o"))


def test_link_that_escapes_once_the_top_folder_is_stripped_is_rejected(tmp_path):
    source = github_tarball(tmp_path, [link_entry("up", "..")])
    assert 'is a symbolic link to "..", outside' in str(rejected(source, tmp_path / "o"))


def test_zip_symlink_pointing_outside_is_rejected(tmp_path):
    source = make_zip(tmp_path / "s.zip", [("link", b"/etc/shadow", stat.S_IFLNK | 0o777)])
    assert "outside the submission" in str(rejected(source, tmp_path / "out"))


def test_hard_link_is_rejected_by_name(tmp_path):
    source = make_tar(
        tmp_path / "s.tgz", [file_entry("a", b"x"), link_entry("b", "a", tarfile.LNKTYPE)]
    )
    assert str(rejected(source, tmp_path / "o")).startswith('entry "b" is a hard link')


# --- things that are not files ---------------------------------------------------------------


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE])
def test_device_is_rejected_by_name(tmp_path, kind):
    source = make_tar(tmp_path / "s.tgz", [dir_entry("dev"), special_entry("dev/sda", kind)])
    assert str(rejected(source, tmp_path / "o")) == (
        'entry "dev/sda" is a device; '
        "archives may hold only files, folders and links inside the tree"
    )


def test_fifo_entry_is_rejected_by_name(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [special_entry("pipe", tarfile.FIFOTYPE)])
    assert 'entry "pipe" is a named pipe (fifo)' in str(rejected(source, tmp_path / "o"))


def test_zip_device_entry_is_rejected(tmp_path):
    source = make_zip(tmp_path / "s.zip", [("null", b"", stat.S_IFCHR | 0o666)])
    assert 'entry "null" is a device' in str(rejected(source, tmp_path / "out"))


def test_duplicate_file_is_rejected_by_name(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry("a.py", b"1"), file_entry("a.py", b"2")])
    assert 'entry "a.py" appears twice' in str(rejected(source, tmp_path / "o"))


def test_file_replacing_a_folder_is_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry("a/b.py", b"1"), file_entry("a", b"2")])
    assert 'entry "a" appears twice in the archive, as a folder and as a file' in str(
        rejected(source, tmp_path / "o")
    )


def test_entry_inside_a_file_is_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry("a", b"1"), file_entry("a/b", b"2")])
    assert 'entry "a/b" is inside "a", which is a file' in str(rejected(source, tmp_path / "o"))


def test_repeated_folder_is_fine(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [dir_entry("a"), file_entry("a/b", b""), dir_entry("a")])
    assert extract_submission(source, tmp_path / "out").files == 1


# --- caps ------------------------------------------------------------------------------------


def test_more_entries_than_the_limit_are_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry(f"f{i}") for i in range(20)])
    assert str(rejected(source, tmp_path / "o", max_files=10)) == (
        "the archive has more than 10 entries"
    )


def many_empty_files_tar(path: Path, count: int) -> Path:
    """`count` empty files, headers patched by hand: tarfile.addfile would take seconds."""
    template = bytearray(tar_header("f000000", 0))
    blank_sum = sum(template) - sum(template[148:156]) + 8 * ord(" ") - sum(b"f000000")
    with open(path, "wb") as out:
        for i in range(count):
            name = b"f%06d" % i
            template[0:7] = name
            template[148:156] = b"%06o\0 " % (blank_sum + sum(name))
            out.write(template)
        out.write(bytes(1024))
    return path


def test_real_100k_entry_tarball_is_rejected_quickly_under_default_limits(tmp_path):
    source = many_empty_files_tar(tmp_path / "many.tar", 100_000)
    started = time.monotonic()
    error = rejected(source, tmp_path / "o")
    assert str(error) == "the archive has more than 10000 entries"
    assert time.monotonic() - started < 20


def test_file_declared_over_the_per_file_limit_is_rejected_by_name(tmp_path):
    source = tmp_path / "s.tgz"
    source.write_bytes(gzip_member(tar_header("big.bin", 51 * MiB)) + gzip_member(bytes(MiB)))
    assert str(rejected(source, tmp_path / "o")) == (
        'entry "big.bin" is larger than the 50 MiB limit per file'
    )


def test_files_over_the_total_limit_are_rejected(tmp_path):
    source = make_tar(tmp_path / "s.tgz", [file_entry(f"f{i}", bytes(1000)) for i in range(5)])
    error = rejected(source, tmp_path / "o", max_total_bytes=3000)
    assert "add up to more than the 2.9 KiB limit" in str(error) and 'at entry "f3"' in str(error)


def test_gzip_bomb_stops_before_writing_more_than_the_cap(tmp_path, disk_peak):
    """1 GiB of zeros in 32 honest 32 MiB files, gzip-compressed to about 5 MiB.

    Built from concatenated gzip members (one compressed block of zeros reused), so the test
    compresses 32 MiB once instead of 1 GiB.
    """
    zeros = gzip_member(bytes(32 * MiB))
    source = tmp_path / "bomb.tar.gz"
    with open(source, "wb") as out:
        for i in range(32):
            out.write(gzip_member(tar_header(f"zeros{i}.bin", 32 * MiB)))
            out.write(zeros)
        out.write(gzip_member(bytes(1024)))
    assert source.stat().st_size < 8 * MiB

    started = time.monotonic()
    error = rejected(source, tmp_path / "o", max_total_bytes=40 * MiB)
    assert "add up to more than the 40 MiB limit" in str(error)
    assert disk_peak[0] <= 40 * MiB + archive._CHUNK
    assert time.monotonic() - started < 20


def test_huge_pax_header_is_rejected_before_it_is_read_into_memory(tmp_path):
    source = tmp_path / "pax.tar.gz"
    source.write_bytes(
        gzip_member(tar_header("././@PaxHeader", 64 * MiB, tarfile.XHDTYPE))
        + gzip_member(bytes(64 * MiB))
        + gzip_member(tar_header("a", 0) + bytes(1024))
    )
    assert "decompression bomb" in str(rejected(source, tmp_path / "o"))


def test_zip_bomb_with_a_lying_size_is_rejected_early(tmp_path, disk_peak):
    source = make_zip(tmp_path / "bomb.zip", [("bomb.bin", bytes(20 * MiB), 0o100644)])
    data = bytearray(source.read_bytes())
    # Claim 1000 bytes uncompressed, in the local header and in the central directory.
    struct.pack_into("<I", data, 22, 1000)
    struct.pack_into("<I", data, data.find(b"PK\x01\x02") + 24, 1000)
    source.write_bytes(data)

    error = rejected(source, tmp_path / "o", max_file_bytes=MiB)
    assert "corrupt" in str(error) or "larger than" in str(error)
    assert disk_peak[0] <= MiB + archive._CHUNK


def test_zip_whose_entries_add_up_over_the_total_limit_is_rejected(tmp_path, disk_peak):
    entries = [(f"z{i}.bin", bytes(4 * MiB), 0o100644) for i in range(10)]
    source = make_zip(tmp_path / "bomb.zip", entries)
    assert "add up to more than" in str(rejected(source, tmp_path / "o", max_total_bytes=10 * MiB))
    assert disk_peak[0] <= 10 * MiB


# --- not archives, broken archives -----------------------------------------------------------


def test_non_archive_file_is_rejected(tmp_path):
    source = tmp_path / "homework.pdf"
    source.write_bytes(b"%PDF-1.7\n" + bytes(1000))
    assert str(rejected(source, tmp_path / "o")) == (
        '"homework.pdf" is not a .tar.gz, .tar or .zip archive'
    )


def test_truncated_gzip_is_rejected_as_corrupt(tmp_path):
    whole = make_tar(tmp_path / "s.tgz", [file_entry("a.bin", os.urandom(100_000))]).read_bytes()
    (tmp_path / "cut.tgz").write_bytes(whole[: len(whole) // 2])
    assert "the archive is corrupt or truncated" in str(
        rejected(tmp_path / "cut.tgz", tmp_path / "o")
    )


def test_garbled_gzip_is_rejected_as_corrupt(tmp_path):
    (tmp_path / "bad.tgz").write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(5000))
    assert "corrupt" in str(rejected(tmp_path / "bad.tgz", tmp_path / "o"))


def test_tar_cut_between_two_entries_is_rejected_as_corrupt(tmp_path):
    whole = make_tar(
        tmp_path / "s.tar", [file_entry("a", b"x" * 512), file_entry("b", b"y")], gz=False
    ).read_bytes()
    (tmp_path / "cut.tar").write_bytes(whole[:1024])  # entry "a" complete, nothing after it
    assert "corrupt or truncated" in str(rejected(tmp_path / "cut.tar", tmp_path / "o"))


def test_corrupt_zip_is_rejected_as_corrupt(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + os.urandom(200))
    assert "corrupt" in str(rejected(tmp_path / "bad.zip", tmp_path / "o"))
