"""Downloads against a local HTTP server on 127.0.0.1: resume after interruption, checksums, atomicity."""

from __future__ import annotations

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from avikit.data.archive import extract_archive
from avikit.data.download import ChecksumError, DownloadError, RemoteFile, download_file, download_files


def _archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("data/AVVP_train.csv", "filename\tevent_labels\nBjCEufrlXm4_20_30\tSpeech,Dog\n" * 2000)
    return buffer.getvalue()


PAYLOAD = _archive()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    cut_once: ClassVar[set[str]] = set()
    requests: ClassVar[list[tuple[str, str | None]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append((self.path, self.headers.get("Range")))
        if self.path == "/missing.zip":
            self.send_error(404)
            return
        start = 0
        ranged = self.headers.get("Range") if self.path != "/norange.zip" else None
        if ranged:
            start = int(ranged.removeprefix("bytes=").split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(PAYLOAD)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path.startswith("/cut") and self.path not in self.cut_once:
            self.cut_once.add(self.path)
            self.wfile.write(body[: len(body) // 3])  # then drop the connection
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_download_verifies_and_reports_progress(server, tmp_path):
    seen = []
    path = download_file(
        f"{server}/ok.zip",
        tmp_path / "a.zip",
        sha256=SHA256,
        md5=MD5,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert _leftovers(tmp_path) == ["a.zip"]
    assert extract_archive(path, tmp_path / "x")[0].name == "AVVP_train.csv"


def test_interrupted_transfer_resumes_with_range(server, tmp_path):
    _Handler.requests.clear()
    path = download_file(f"{server}/cut1.zip", tmp_path / "b.zip", sha256=SHA256)
    assert path.read_bytes() == PAYLOAD
    ranges = [r for p, r in _Handler.requests if p == "/cut1.zip"]
    assert ranges[0] is None and ranges[1] == f"bytes={len(PAYLOAD) // 3}-"
    assert _leftovers(tmp_path) == ["b.zip"]


def test_partial_file_is_kept_for_a_later_call_and_resumed(server, tmp_path):
    with pytest.raises(DownloadError, match="call again to resume"):
        download_file(f"{server}/cut2.zip", tmp_path / "c.zip", sha256=SHA256, retries=0)
    assert _leftovers(tmp_path) == [".c.zip.part"]  # never the final name
    assert download_file(f"{server}/cut2.zip", tmp_path / "c.zip", sha256=SHA256).read_bytes() == PAYLOAD
    assert _leftovers(tmp_path) == ["c.zip"]


def test_bad_checksum_is_a_clear_error_and_leaves_nothing(server, tmp_path):
    with pytest.raises(ChecksumError, match=r"sha256 of the downloaded file is [0-9a-f]{64}, expected 0{64}"):
        download_file(f"{server}/ok.zip", tmp_path / "d.zip", sha256="0" * 64)
    assert _leftovers(tmp_path) == []
    with pytest.raises(ChecksumError, match="md5"):
        download_file(f"{server}/ok.zip", tmp_path / "d.zip", md5="0" * 32)
    assert _leftovers(tmp_path) == []


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    part = tmp_path / ".e.zip.part"
    part.write_bytes(b"garbage from an older attempt")
    assert download_file(f"{server}/norange.zip", tmp_path / "e.zip", sha256=SHA256).read_bytes() == PAYLOAD


def test_complete_part_file_answered_416_is_verified(server, tmp_path):
    (tmp_path / ".f.zip.part").write_bytes(PAYLOAD)
    assert download_file(f"{server}/ok.zip", tmp_path / "f.zip", sha256=SHA256).read_bytes() == PAYLOAD


def test_http_error_and_idempotence(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(f"{server}/missing.zip", tmp_path / "g.zip", retries=0)
    assert _leftovers(tmp_path) == []
    files = [RemoteFile(f"{server}/ok.zip", "sub/h.zip", SHA256)]
    first = download_files(tmp_path, files)
    _Handler.requests.clear()
    assert download_files(tmp_path, files) == first
    assert _Handler.requests == []  # already there and valid: no request
