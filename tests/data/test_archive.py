"""Safe extraction: every unsafe entry type is refused before anything is written."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile

import pytest

from avikit.data.archive import UnsafeArchiveError, extract_archive


def _tar(path, entries):
    """Write a tar of (name, kind, payload-or-link-target) entries."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "sym": tarfile.SYMTYPE,
                "hard": tarfile.LNKTYPE,
                "dir": tarfile.DIRTYPE,
                "dev": tarfile.CHRTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = data.decode() if kind in ("sym", "hard") else ""
            tar.addfile(info)
    return path


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as zf:
        for name, kind, data in entries:
            if kind == "sym":
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, data)
            else:
                zf.writestr(name, data)
    return path


SAFE = [
    ("AVE_Dataset/", "dir", b""),
    ("AVE_Dataset/Annotations.txt", "file", b"Church bell&RUhOCu3LNXM&good&0&10\n"),
    ("AVE_Dataset/link.txt", "sym", b"Annotations.txt"),
    ("AVE_Dataset/hard.txt", "hard", b"AVE_Dataset/Annotations.txt"),
]


def test_safe_tar_with_inside_links_extracts(tmp_path):
    files = extract_archive(_tar(tmp_path / "ok.tar.gz", SAFE), tmp_path / "out")
    assert [f.name for f in files] == ["Annotations.txt", "link.txt", "hard.txt"]
    assert (tmp_path / "out/AVE_Dataset/link.txt").read_text().startswith("Church bell")
    assert (tmp_path / "out/AVE_Dataset/hard.txt").read_text().startswith("Church bell")


def test_safe_zip_extracts(tmp_path):
    entries = [("a/b.txt", "file", b"x"), ("a/l", "sym", "b.txt")]
    files = extract_archive(_zip(tmp_path / "ok.zip", entries), tmp_path / "out")
    assert [f.name for f in files] == ["b.txt", "l"]
    assert (tmp_path / "out/a/l").is_symlink() and (tmp_path / "out/a/l").read_text() == "x"


UNSAFE_TAR = {
    "absolute": ([("/tmp/evil.txt", "file", b"x")], "absolute path"),
    "dotdot": ([("ok/../../evil.txt", "file", b"x")], "'..' component"),
    "symlink absolute": ([("l", "sym", b"/etc/passwd")], "absolute path"),
    "symlink outside": ([("a/l", "sym", b"../../etc")], "points outside"),
    "hardlink outside": ([("h", "hard", b"../outside.txt")], "points outside"),
    "hardlink absolute": ([("h", "hard", b"/etc/passwd")], "absolute path"),
    "link chain": ([("d", "sym", b"."), ("e", "sym", b"d/../..")], "points outside"),
    "write through link": (
        [("d", "sym", b"."), ("x", "sym", b"d/.."), ("x/evil.txt", "file", b"x")],
        "points outside",
    ),
    "device": ([("dev", "dev", b"")], "device file"),
    "fifo": ([("pipe", "fifo", b"")], "device file or FIFO"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_TAR))
def test_unsafe_tar_entries_are_refused_before_writing(tmp_path, case):
    entries, message = UNSAFE_TAR[case]
    archive = _tar(tmp_path / "bad.tar.gz", [("first.txt", "file", b"x"), *entries])
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


UNSAFE_ZIP = {
    "absolute": ([("/evil.txt", "file", b"x")], "absolute path"),
    "windows drive": ([("C:/evil.txt", "file", b"x")], "absolute path"),
    "dotdot": ([("../evil.txt", "file", b"x")], "'..' component"),
    "backslash dotdot": ([("a\\..\\..\\evil.txt", "file", b"x")], "'..' component"),
    "symlink outside": ([("l", "sym", "../x")], "points outside"),
    "symlink absolute": ([("l", "sym", "/etc/passwd")], "absolute path"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_ZIP))
def test_unsafe_zip_entries_are_refused_before_writing(tmp_path, case):
    entries, message = UNSAFE_ZIP[case]
    archive = _zip(tmp_path / "bad.zip", [("first.txt", "file", b"x"), *entries])
    with pytest.raises(UnsafeArchiveError, match=message):
        extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_not_an_archive(tmp_path):
    (tmp_path / "a.txt").write_text("plain")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        extract_archive(tmp_path / "a.txt", tmp_path / "out")
    with pytest.raises(FileNotFoundError):
        extract_archive(tmp_path / "none.zip", tmp_path / "out")
