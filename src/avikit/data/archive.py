"""Safe extraction of zip and tar archives.

Every entry is checked before anything is written: an absolute path, a ``..`` component, a symbolic or
hard link that points outside the target folder, and device files or FIFOs are refused with
:class:`UnsafeArchiveError`, which names the entry. Links that stay inside the target are allowed.

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

import os
import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from avikit.errors import AvikitError

__all__ = ["UnsafeArchiveError", "extract_archive"]


class UnsafeArchiveError(AvikitError, ValueError):
    """An archive entry would be written outside the target folder, or is not a file, folder or link."""


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


def _check_tar(archive: Path, tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = tar.getmembers()
    for m in members:
        if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            raise UnsafeArchiveError(
                f"{archive}: entry {m.name!r} is a device file or FIFO; refusing to extract"
            )
    _check_entries(
        archive, [(m.name, m.linkname if m.issym() or m.islnk() else None, m.islnk()) for m in members]
    )
    return members


def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_zip(archive: Path, zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = zf.infolist()
    entries = [
        (i.filename, zf.read(i).decode("utf-8", "replace") if _zip_is_symlink(i) else None, False)
        for i in infos
    ]
    _check_entries(archive, entries)
    return infos


def _extract_tar(archive: Path, target: Path) -> list[Path]:
    with tarfile.open(archive) as tar:
        members = _check_tar(archive, tar)
        target.mkdir(parents=True, exist_ok=True)
        try:
            tar.extractall(target, members=members, filter="data")
        except tarfile.FilterError as err:
            raise UnsafeArchiveError(f"{archive}: {err}; refusing to extract the rest") from err
    return [target / m.name for m in members if not m.isdir()]


def _extract_zip(archive: Path, target: Path) -> list[Path]:
    with zipfile.ZipFile(archive) as zf:
        infos = _check_zip(archive, zf)
        target.mkdir(parents=True, exist_ok=True)
        for info in infos:
            if _zip_is_symlink(info):
                link = target / info.filename
                link.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(zf.read(info).decode("utf-8"), link)
            else:
                zf.extract(info, target)
    return [target / i.filename for i in infos if not i.is_dir()]


def extract_archive(archive: str | os.PathLike[str], target: str | os.PathLike[str]) -> list[Path]:
    """Extract a zip or tar (plain, gz, bz2, xz) archive into ``target`` after checking every entry.

    Args:
        archive: the archive file; its format is detected from its content, not its name.
        target: the folder to extract into (created if needed).

    Returns:
        The extracted files and links (not folders), in archive order.

    Raises:
        UnsafeArchiveError: an entry is absolute, has ``..``, links outside ``target`` or is a device
            file or FIFO; nothing is extracted.
        ValueError: the file is neither a zip nor a tar archive.
    """
    source, dest = Path(archive), Path(target)
    if not source.is_file():
        raise FileNotFoundError(f"archive {source} does not exist")
    if zipfile.is_zipfile(source):
        return _extract_zip(source, dest)
    if tarfile.is_tarfile(source):
        return _extract_tar(source, dest)
    raise ValueError(f"{source} is neither a zip nor a tar archive; extract it by hand")
