"""Issue 15: archive extraction has limits (total size, file count, compression ratio) and corrupt archives
raise a typed error that names the archive; nothing is written when a check fails before extraction.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

import pytest

from avikit.data.archive import (
    ArchiveLimitError,
    ArchiveLimits,
    CorruptArchiveError,
    UnsafeArchiveError,
    extract_archive,
)
from avikit.errors import DataError


def _zip_bomb(path, size):
    """``size`` zero bytes, deflated: about 1000 times smaller on disk."""
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf,
        zf.open("zeros.bin", "w", force_zip64=True) as f,
    ):
        block = bytes(1 << 20)
        for _ in range(size >> 20):
            f.write(block)
    return path


def _tar(path, files, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_zip_bomb_is_refused_by_the_default_ratio_limit(tmp_path):
    bomb = _zip_bomb(tmp_path / "bomb.zip", 300 << 20)  # 300 MiB of zeros in about 300 KB
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ArchiveLimitError, match=r"bomb\.zip.*compression ratio") as err:
        extract_archive(bomb, tmp_path / "out")
    assert isinstance(err.value, UnsafeArchiveError) and isinstance(err.value, DataError)
    assert not (tmp_path / "out").exists()


def test_limits_on_total_size_file_count_and_ratio_are_configurable(tmp_path):
    files = [(f"d/f{i}.bin", os.urandom(4000)) for i in range(5)]
    archive = _tar(tmp_path / "a.tar.gz", files)
    with pytest.raises(ArchiveLimitError, match=r"a\.tar\.gz.*5 entries.*max_files=4"):
        extract_archive(archive, tmp_path / "o1", ArchiveLimits(max_files=4))
    with pytest.raises(ArchiveLimitError, match=r"a\.tar\.gz.*20000 bytes.*max_total_size=19999"):
        extract_archive(archive, tmp_path / "o2", ArchiveLimits(max_total_size=19999))
    zeros = _tar(tmp_path / "z.tar.gz", [("z.bin", bytes(200_000))])
    with pytest.raises(ArchiveLimitError, match=r"z\.tar\.gz.*compression ratio"):
        extract_archive(zeros, tmp_path / "o3", ArchiveLimits(max_ratio=10, ratio_floor=0))
    assert not any((tmp_path / n).exists() for n in ("o1", "o2", "o3"))
    assert len(extract_archive(archive, tmp_path / "ok", ArchiveLimits(max_files=5))) == 5
    assert len(extract_archive(zeros, tmp_path / "ok2")) == 1  # small: under the default ratio floor


def test_one_bomb_entry_among_incompressible_ones_is_refused(tmp_path):
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("video.mp4", os.urandom(300_000))
        zf.writestr("zeros.bin", bytes(3_000_000))
    limits = ArchiveLimits(max_ratio=50, ratio_floor=1 << 20)  # whole archive: ratio about 10
    with pytest.raises(ArchiveLimitError, match=r"mixed\.zip.*'zeros\.bin'.*compression ratio"):
        extract_archive(path, tmp_path / "out", limits)


@pytest.mark.parametrize(
    ("mode", "name"), [("w:gz", "c.tar.gz"), ("w:bz2", "c.tar.bz2"), ("w:xz", "c.tar.xz"), ("w", "c.tar")]
)
def test_a_truncated_tar_is_a_typed_error_naming_the_file(tmp_path, mode, name):
    whole = _tar(tmp_path / name, [(f"d/f{i}.bin", os.urandom(50_000)) for i in range(3)], mode)
    raw = whole.read_bytes()
    whole.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptArchiveError, match=rf"{name.replace('.', '[.]')}.*(corrupt|truncated)"):
        extract_archive(whole, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_gzip_crc_error_is_found_before_anything_is_written(tmp_path):
    path = _tar(tmp_path / "crc.tar.gz", [(f"d/f{i}.bin", os.urandom(50_000)) for i in range(3)])
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 50] = b"\xff" * 50  # inside a stored block: only the CRC tells
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptArchiveError, match=r"crc\.tar\.gz"):
        extract_archive(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_and_truncated_zips_name_the_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("x.bin", os.urandom(100_000))
    truncated = tmp_path / "cut.zip"
    truncated.write_bytes(buffer.getvalue()[:50_000])
    with pytest.raises(CorruptArchiveError, match=r"cut\.zip.*(corrupt|truncated)"):
        extract_archive(truncated, tmp_path / "o1")
    damaged = bytearray(buffer.getvalue())
    damaged[500:600] = bytes(100)
    bad = tmp_path / "bad.zip"
    bad.write_bytes(bytes(damaged))
    with pytest.raises(CorruptArchiveError, match=r"bad\.zip.*'x\.bin'"):
        extract_archive(bad, tmp_path / "o2")


def test_not_an_archive_is_still_told_apart(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(DataError, match="neither a zip nor a tar archive"):
        extract_archive(path, tmp_path / "out")
