"""HTTP downloads that resume, verify a checksum and never leave a half-written file at the destination.

A transfer writes to ``.<name>.part`` next to the destination. An interrupted transfer is resumed with an
HTTP ``Range`` request (within the same call, up to ``retries`` times, and by a later call, which finds the
``.part`` file). Only a complete file whose checksum matches is renamed to the destination; a checksum
mismatch deletes the ``.part`` file and raises :class:`ChecksumError`. An existing destination with another
checksum is kept (the error says so). A failure says what happened (the HTTP status, a refused connection,
a host name that does not resolve, a timeout, a cut transfer) and what is left: nothing, or a ``.part``
file of so many bytes that a later call resumes. HTTP errors other than 408, 429 and 5xx are not retried.
Nothing here touches the network at import time.

Example:
    >>> compute_file_hash.__name__
    'compute_file_hash'
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from avikit.errors import AvikitError

__all__ = [
    "ChecksumError",
    "DownloadError",
    "ManualDownloadError",
    "RemoteFile",
    "compute_file_hash",
    "download_file",
    "download_files",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total)``; ``bytes_total`` is ``None`` when the server does not
say."""

_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadError(AvikitError):
    """A file could not be downloaded (network error, HTTP error, truncated transfer).

    Attributes:
        retryable: whether trying again may help (a cut transfer, a timeout, HTTP 5xx), as opposed to
            e.g. HTTP 404.
    """

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ChecksumError(DownloadError, ValueError):
    """A downloaded file does not have the expected checksum; nothing was kept."""


class ManualDownloadError(DownloadError):
    """A dataset (or part of it) has no direct download; the message says what to fetch by hand and where."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: where from, where to (relative to a root) and its expected checksum.

    Attributes:
        url: the HTTP(S) address.
        path: destination path relative to the dataset root.
        sha256: expected SHA-256 hex digest, or ``None`` when no published digest is known.
        md5: expected MD5 hex digest (some datasets publish only MD5), or ``None``.
    """

    url: str
    path: str
    sha256: str | None = None
    md5: str | None = None


def compute_file_hash(path: str | os.PathLike[str], algorithm: str = "sha256") -> str:
    """Return the hex digest of a file.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x"
        >>> _ = p.write_bytes(b"abc")
        >>> compute_file_hash(p)[:12], compute_file_hash(p, "md5")[:12]
        ('ba7816bf8f01', '900150983cd2')
    """
    digest = hashlib.new(algorithm)
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _mismatch(path: Path, sha256: str | None, md5: str | None) -> tuple[str, str, str] | None:
    """Return ``(algorithm, actual, expected)`` of the first checksum that does not match, else None."""
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected is None:
            continue
        actual = compute_file_hash(path, algorithm)
        if actual.lower() != expected.lower():
            return algorithm, actual, expected
    return None


_HTTP_HINTS = {
    401: "access denied: the file needs a login or an accepted licence",
    403: "access denied: the file needs a login or an accepted licence",
    404: "the file is not at this address: check the URL, or the dataset's page for where it moved",
    410: "the file is not at this address: check the URL, or the dataset's page for where it moved",
}


def _http_error(url: str, err: urllib.error.HTTPError) -> DownloadError:
    hint = _HTTP_HINTS.get(err.code, "the server refused the request")
    retryable = err.code >= 500 or err.code in (408, 429)
    if retryable:
        hint = "a server-side problem; it may pass"
    return DownloadError(f"{url}: the server answered HTTP {err.code} {err.reason} ({hint})", retryable)


def _network_error(url: str, reason: object, timeout: float) -> DownloadError:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or url
    if isinstance(reason, socket.gaierror):
        what = f"could not resolve the host name {host!r} (check the address, and the network and its DNS)"
    elif isinstance(reason, ConnectionRefusedError):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        what = f"connection refused by {host}:{port} (no server listens there: check the address and port)"
    elif isinstance(reason, TimeoutError):
        what = f"no answer from {host} within {timeout:g} s"
    else:
        what = f"network error: {reason}"
    return DownloadError(f"{url}: {what}")


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": "avikit", **({"Range": f"bytes={offset}-"} if offset else {})}
    request = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            raise
        raise _http_error(url, err) from err
    except urllib.error.URLError as err:
        raise _network_error(url, err.reason, timeout) from err
    except OSError as err:
        raise _network_error(url, err, timeout) from err


def _resume_offset(response: http.client.HTTPResponse, offset: int, url: str) -> tuple[int, int | None]:
    """Return where the body starts in the file and the total size, from the status and headers."""
    length = response.headers.get("Content-Length")
    if response.status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match is None or int(match.group(1)) != offset:
            raise DownloadError(f"{url}: the server answered a range request with a wrong Content-Range")
        return offset, None if match.group(3) == "*" else int(match.group(3))
    if offset:
        log.info("%s: the server ignores range requests; downloading from the start", url)
    return 0, None if length is None else int(length)


def _copy_body(
    response: IO[bytes], out: IO[bytes], done: int, total: int | None, progress: ProgressCallback | None
) -> int:
    while True:
        try:
            block = response.read(_CHUNK)
        except (http.client.IncompleteRead, OSError) as err:
            raise DownloadError(f"the transfer was cut after {done} bytes ({err})") from err
        if not block:
            return done
        out.write(block)
        done += len(block)
        if progress is not None:
            progress(done, total)


def _transfer(url: str, part: Path, timeout: float, progress: ProgressCallback | None) -> None:
    """Download ``url`` into ``part``, resuming from its current size; raise DownloadError if cut short."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, offset, timeout)
    except urllib.error.HTTPError:  # 416: the part file already holds the whole file
        return
    with response:
        start, total = _resume_offset(response, offset, url)
        with part.open("ab" if start else "wb") as out:
            try:
                done = _copy_body(response, out, start, total, progress)
            except DownloadError as err:
                raise DownloadError(f"{url}: {err}") from err
    if total is not None and done < total:
        raise DownloadError(f"{url}: the transfer ended after {done} of {total} bytes")


def _left_over(part: Path) -> str:
    """Say what a failed call leaves behind (and remove an empty ``.part`` file)."""
    size = part.stat().st_size if part.exists() else 0
    if size:
        return f"{part} holds {size} bytes and was kept: call again to resume"
    part.unlink(missing_ok=True)
    return "nothing was written"


def download_file(
    url: str,
    dest: str | os.PathLike[str],
    sha256: str | None = None,
    md5: str | None = None,
    progress: ProgressCallback | None = None,
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest``: resume after interruptions, verify, then rename into place.

    Idempotent: if ``dest`` exists and matches the given checksum (or no checksum is given), nothing is
    downloaded. Without any checksum the SHA-256 of the result is logged so that it can be pinned.

    Args:
        url: HTTP(S) address.
        dest: final file path; its folder is created.
        sha256: expected SHA-256 hex digest.
        md5: expected MD5 hex digest.
        progress: called as ``progress(bytes_done, bytes_total_or_None)``.
        retries: how many times a failed transfer is tried again within this call (not after an HTTP
            error that cannot pass, such as 404).
        timeout: socket timeout in seconds.

    Returns:
        ``dest``.

    Raises:
        ChecksumError: ``dest`` already exists with another checksum (it is kept, and nothing is
            downloaded), or the downloaded file has another checksum (it is deleted).
        DownloadError: the transfer failed; the message says why (HTTP status, refused connection,
            unresolvable host name, timeout, cut transfer), after how many attempts, and whether a
            ``.part`` file was kept for a later call to resume. ``dest`` is untouched.
    """
    final = Path(dest)
    if final.is_file():
        mismatch = _mismatch(final, sha256, md5)
        if mismatch is not None:
            algorithm, actual, expected = mismatch
            raise ChecksumError(
                f"{final} already exists but its {algorithm} is {actual}, expected {expected}; it was kept "
                f"and nothing was downloaded. Delete it to download {url} again, or pass the new checksum "
                "if the change is expected."
            )
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(f".{final.name}.part")
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, timeout, progress)
            break
        except DownloadError as err:
            if attempt == retries or not err.retryable:
                attempts = f" (after {attempt + 1} attempts)" if attempt else ""
                raise DownloadError(f"{err}{attempts}; {_left_over(part)}", err.retryable) from err
            log.info("%s (attempt %d of %d); trying again", err, attempt + 1, retries + 1)
    mismatch = _mismatch(part, sha256, md5)
    if mismatch is not None:
        part.unlink(missing_ok=True)
        algorithm, actual, expected = mismatch
        raise ChecksumError(
            f"{url}: {algorithm} of the downloaded file is {actual}, expected {expected}; the file was "
            "deleted. The server may serve a different version: check the dataset's page, or pass the "
            "new checksum if the change is expected."
        )
    if sha256 is None and md5 is None:
        log.info("%s: no published checksum; sha256 of the download is %s", url, compute_file_hash(part))
    os.replace(part, final)
    return final


def download_files(
    root: str | os.PathLike[str], files: list[RemoteFile], progress: ProgressCallback | None = None
) -> list[Path]:
    """Download each :class:`RemoteFile` under ``root`` (skipping those already there and valid)."""
    base = Path(root)
    return [download_file(f.url, base / f.path, f.sha256, f.md5, progress) for f in files]
