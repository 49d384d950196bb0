"""Safe extraction of zip and tar archives.

Every entry is checked before anything is written: an absolute path, a ``..`` component, a symbolic or
hard link that points outside the target folder, and device files or FIFOs are refused with
:class:`UnsafeArchiveError`, which names the entry. Links that stay inside the target are allowed.

The sizes that the archive declares are checked against :class:`ArchiveLimits` (total size, number of
entries, compression ratio) before extraction, and :class:`ArchiveLimitError` names the archive and the
limit; the extractors write no more than the declared sizes. A corrupt or truncated archive raises
:class:`CorruptArchiveError` naming it: a tar archive (plain, gz, bz2, xz) is read to its end, which checks
its compressed stream, before anything is written; a zip entry is checked (CRC) as it is extracted.

Example:
    >>> import io, tarfile, tempfile
    >>> from pathlib import Path
    >>> tmp = Path(tempfile.mkdtemp())
    >>> with tarfile.open(tmp / "a.tar", "w") as tar:
    ...     info = tarfile.TarInfo("../evil.txt")
    ...     tar.addfile(info, io.BytesIO(b""))
    >>> try:
    ...     extract_archive(tmp / "a.tar", tmp / "out")
    ... except UnsafeArchiveError as err:
    ...     print(str(err).split(": ", 1)[1])
    entry '../evil.txt' has a '..' component; refusing to extract the archive
"""

from __future__ import annotations

import lzma
import os
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from avikit.errors import DataError, InputFileError

__all__ = [
    "ArchiveLimitError",
    "ArchiveLimits",
    "CorruptArchiveError",
    "UnsafeArchiveError",
    "extract_archive",
]

_READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError, zipfile.BadZipFile, OSError)
_COMPRESSED_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}


class UnsafeArchiveError(DataError):
    """An archive entry would be written outside the target folder, or is not a file, folder or link."""


class ArchiveLimitError(UnsafeArchiveError):
    """An archive would extract to more than :class:`ArchiveLimits` allow (size, entries, ratio)."""


class CorruptArchiveError(DataError):
    """An archive is corrupt or truncated (a bad header, a compressed stream cut short, a CRC mismatch)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """What an archive may extract to; checked on the sizes it declares, before anything is written.

    The defaults fit the official releases with room to spare: the largest single archives of the supported
    datasets (video releases such as AVE_Dataset.zip or a VGGSound part) hold tens of GB in at most a few
    hundred thousand files (AVSBench-semantic: about 12,000 clips of 10 frames and 20 masks each), and media
    (mp4, jpg, png, wav) compresses at most a few times; only text, which is small, compresses more.

    Attributes:
        max_total_size: bytes of all entries together once extracted (default 1 TiB).
        max_files: number of entries, folders and links included (default 1,000,000).
        max_ratio: extracted bytes per archive byte, for the whole archive and (zip) for each entry
            (default 100).
        ratio_floor: the ratio is checked only where the extracted size exceeds this many bytes (default
            64 MiB), so that small, very compressible text archives pass.
    """

    max_total_size: int = 1 << 40
    max_files: int = 1_000_000
    max_ratio: float = 100.0
    ratio_floor: int = 64 << 20


def _check_name(archive: Path, name: str) -> PurePosixPath:
    """Return the entry name as a relative path, or raise if it is absolute or climbs out with ``..``."""
    unified = name.replace("\\", "/")
    path = PurePosixPath(unified)
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise UnsafeArchiveError(
            f"{archive}: entry {name!r} has an absolute path; refusing to extract the archive"
        )
    if ".." in path.parts:
        raise UnsafeArchiveError(
            f"{archive}: entry {name!r} has a '..' component; refusing to extract the archive"
        )
    return path


def _escapes(path: str, links: dict[str, str]) -> bool:
    """Whether ``path`` (relative to the target folder) leaves it, following the archive's own symlinks."""
    parts, hops = path.split("/"), 0
    stack: list[str] = []
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(part)
        target = links.get("/".join(stack))
        if target is not None:
            hops += 1
            if hops > 64 or _is_absolute(target):
                return True
            stack.pop()
            parts = target.split("/") + parts
    return False


def _is_absolute(name: str) -> bool:
    return name.startswith("/") or (len(name) > 1 and name[1] == ":")


def _check_entries(archive: Path, entries: list[tuple[str, str | None, bool]]) -> None:
    """Check ``(name, link target or None, is hard link)`` entries; raise on the first unsafe one."""
    links = {
        str(_check_name(archive, n)): t.replace("\\", "/")
        for n, t, hard in entries
        if t is not None and not hard
    }
    for name, target, hard in entries:
        path = _check_name(archive, name)
        if target is None:
            if _escapes(str(path), links):
                raise UnsafeArchiveError(
                    f"{archive}: entry {name!r} would be written through a link that leaves the target "
                    f"folder; refusing to extract"
                )
            continue
        kind = "hard link" if hard else "symbolic link"
        if _is_absolute(target):
            raise UnsafeArchiveError(
                f"{archive}: {kind} {name!r} points to the absolute path {target!r}; refusing to extract"
            )
        # a hard link's target is relative to the archive root, a symbolic link's to the link's folder
        where = target if hard else posixpath.join(str(path.parent), target)
        if _escapes(where, {k: v for k, v in links.items() if k != str(path)}):
            raise UnsafeArchiveError(
                f"{archive}: {kind} {name!r} points outside the target folder ({target!r}); refusing to "
                f"extract"
            )


def _refuse(archive: Path, what: str, option: str) -> ArchiveLimitError:
    return ArchiveLimitError(
        f"{archive}: {what}, above {option}; refusing to extract. If the archive is trusted, pass "
        f"extract_archive(..., limits=ArchiveLimits({option.split('=')[0]}=...))"
    )


def _check_limits(
    archive: Path, limits: ArchiveLimits, entries: Sequence[tuple[str, int, int | None]]
) -> None:
    """Check ``(name, extracted size, compressed size or None)`` entries against ``limits``."""
    total, packed = sum(size for _, size, _ in entries), archive.stat().st_size
    if len(entries) > limits.max_files:
        raise _refuse(archive, f"{len(entries)} entries", f"max_files={limits.max_files}")
    if total > limits.max_total_size:
        raise _refuse(archive, f"extracts to {total} bytes", f"max_total_size={limits.max_total_size}")
    if total > limits.ratio_floor and total > limits.max_ratio * packed:
        ratio = f"compression ratio {total / max(packed, 1):.0f} ({total} bytes from {packed})"
        raise _refuse(archive, ratio, f"max_ratio={limits.max_ratio:g}")
    for name, size, compressed in entries:
        if compressed is not None and size > limits.ratio_floor and size > limits.max_ratio * compressed:
            ratio = f"entry {name!r} has compression ratio {size / max(compressed, 1):.0f} ({size} bytes)"
            raise _refuse(archive, ratio, f"max_ratio={limits.max_ratio:g}")


def _corrupt(archive: Path, err: BaseException, after: str = "") -> CorruptArchiveError:
    return CorruptArchiveError(
        f"{archive}: the archive is corrupt or truncated ({type(err).__name__}: {err}){after}; download it "
        "again (a download cut short or a damaged copy)"
    )


def _read_tar(archive: Path, tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """List the members and read the archive to its end (checks the compressed stream); write nothing."""
    try:
        members = tar.getmembers()
        while tar.fileobj is not None and tar.fileobj.read(1 << 20):
            pass
    except _READ_ERRORS as err:
        raise _corrupt(archive, err) from err
    return members


def _check_tar(archive: Path, members: list[tarfile.TarInfo], limits: ArchiveLimits) -> None:
    for m in members:
        if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            raise UnsafeArchiveError(
                f"{archive}: entry {m.name!r} is a device file or FIFO; refusing to extract"
            )
    _check_entries(
        archive, [(m.name, m.linkname if m.issym() or m.islnk() else None, m.islnk()) for m in members]
    )
    _check_limits(archive, limits, [(m.name, m.size if m.isfile() else 0, None) for m in members])


def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_zip(archive: Path, zf: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    _check_limits(archive, limits, [(i.filename, i.file_size, i.compress_size) for i in infos])
    entries = [
        (i.filename, zf.read(i).decode("utf-8", "replace") if _zip_is_symlink(i) else None, False)
        for i in infos
    ]
    _check_entries(archive, entries)
    return infos


def _extract_tar(archive: Path, target: Path, limits: ArchiveLimits) -> list[Path]:
    try:
        tar = tarfile.open(archive)  # noqa: SIM115  (closed by the `with` below; opening can fail alone)
    except _READ_ERRORS as err:
        raise _corrupt(archive, err) from err
    with tar:
        members = _read_tar(archive, tar)
        _check_tar(archive, members, limits)
        target.mkdir(parents=True, exist_ok=True)
        try:
            tar.extractall(target, members=members, filter="data")
        except tarfile.FilterError as err:
            raise UnsafeArchiveError(f"{archive}: {err}; refusing to extract the rest") from err
        except (tarfile.ReadError, EOFError, zlib.error, lzma.LZMAError) as err:
            raise _corrupt(archive, err, f"; {target} holds a partial extraction") from err
    return [target / m.name for m in members if not m.isdir()]


def _extract_zip_entries(
    archive: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], target: Path
) -> None:
    for info in infos:
        try:
            if _zip_is_symlink(info):
                link = target / info.filename
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(zf.read(info).decode("utf-8"), link)
            else:
                zf.extract(info, target)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            after = f" in entry {info.filename!r}; {target} holds the entries before it"
            raise _corrupt(archive, err, after) from err


def _extract_zip(archive: Path, target: Path, limits: ArchiveLimits) -> list[Path]:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise _corrupt(archive, err) from err
    with zf:
        try:
            infos = _check_zip(archive, zf, limits)
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise _corrupt(archive, err) from err
        target.mkdir(parents=True, exist_ok=True)
        _extract_zip_entries(archive, zf, infos, target)
    return [target / i.filename for i in infos if not i.is_dir()]


def _format(path: Path) -> str | None:
    """``"zip"`` or ``"tar"`` from the content (also for a damaged file that starts like one), else None."""
    if zipfile.is_zipfile(path):
        return "zip"
    if tarfile.is_tarfile(path):
        return "tar"
    with path.open("rb") as f:
        head = f.read(512)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"  # a zip cut short: no central directory
    if any(head.startswith(magic) for magic in _COMPRESSED_MAGIC) or head[257:262] == b"ustar":
        return "tar"
    return None


def extract_archive(
    archive: str | os.PathLike[str], target: str | os.PathLike[str], limits: ArchiveLimits | None = None
) -> list[Path]:
    """Extract a zip or tar (plain, gz, bz2, xz) archive into ``target`` after checking every entry.

    Args:
        archive: the archive file; its format is detected from its content, not its name.
        target: the folder to extract into (created if needed).
        limits: size, entry-count and compression-ratio limits (default :class:`ArchiveLimits`).

    Returns:
        The extracted files and links (not folders), in archive order.

    Raises:
        UnsafeArchiveError: an entry is absolute, has ``..``, links outside ``target`` or is a device
            file or FIFO; nothing is extracted.
        ArchiveLimitError: the archive exceeds ``limits``; nothing is extracted.
        CorruptArchiveError: the archive is corrupt or truncated. For tar archives nothing is extracted;
            for zip archives the entries before the corrupt one are (the message says so).
        DataError: the file is neither a zip nor a tar archive.
    """
    source, dest = Path(archive), Path(target)
    if not source.is_file():
        raise InputFileError(f"archive {source} does not exist")
    kind, checks = _format(source), limits or ArchiveLimits()
    if kind == "zip":
        return _extract_zip(source, dest, checks)
    if kind == "tar":
        return _extract_tar(source, dest, checks)
    raise DataError(f"{source} is neither a zip nor a tar archive; extract it by hand")
