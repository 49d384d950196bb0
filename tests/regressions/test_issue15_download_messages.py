"""Issue 15: download errors say what happened (and what was kept), tested against a server on 127.0.0.1.

A refused connection uses a 127.0.0.1 port that nothing listens on; a DNS failure uses a name under
``.invalid``, which never resolves (RFC 6761).
"""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from avikit.data.download import ChecksumError, DownloadError, download_file

PAYLOAD = bytes(range(256)) * 400
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path == "/missing.zip":
            self.send_error(404)
            return
        if self.path == "/busy.zip":
            self.send_error(503)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        if self.path == "/cut.zip":
            self.wfile.write(PAYLOAD[:1000])  # then drop the connection
            self.close_connection = True
            return
        self.wfile.write(PAYLOAD)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_404_says_not_found_and_that_nothing_was_written(server, tmp_path):
    _Handler.requests.clear()
    with pytest.raises(DownloadError) as err:
        download_file(f"{server}/missing.zip", tmp_path / "a.zip", retries=3)
    message = str(err.value)
    assert "HTTP 404" in message and "not at this address" in message and "nothing was written" in message
    assert "resume" not in message and ".part" not in message
    assert _names(tmp_path) == [] and _Handler.requests == ["/missing.zip"]  # no point in retrying a 404


def test_a_server_error_is_retried_and_reported(server, tmp_path):
    _Handler.requests.clear()
    with pytest.raises(DownloadError, match=r"HTTP 503.*after 3 attempts.*nothing was written"):
        download_file(f"{server}/busy.zip", tmp_path / "b.zip", retries=2)
    assert _names(tmp_path) == [] and _Handler.requests == ["/busy.zip"] * 3


def test_refused_connection_is_named(tmp_path):
    port = _free_port()
    with pytest.raises(DownloadError) as err:
        download_file(f"http://127.0.0.1:{port}/x.zip", tmp_path / "c.zip", retries=0)
    message = str(err.value)
    assert f"connection refused by 127.0.0.1:{port}" in message and "nothing was written" in message
    assert "resume" not in message and _names(tmp_path) == []


def test_dns_failure_is_named(tmp_path):
    with pytest.raises(DownloadError) as err:
        download_file("http://avikit-no-such-host.invalid/x.zip", tmp_path / "d.zip", retries=0, timeout=10)
    message = str(err.value)
    assert "could not resolve the host name 'avikit-no-such-host.invalid'" in message
    assert "nothing was written" in message and "resume" not in message and _names(tmp_path) == []


def test_a_cut_transfer_says_how_much_was_kept(server, tmp_path):
    with pytest.raises(DownloadError, match=r"\.e\.zip\.part holds 1000 bytes.*call again to resume"):
        download_file(f"{server}/cut.zip", tmp_path / "e.zip", sha256=SHA256, retries=0)
    assert _names(tmp_path) == [".e.zip.part"]


def test_existing_destination_with_another_checksum_is_kept_and_said_so(server, tmp_path):
    dest = tmp_path / "f.zip"
    dest.write_bytes(b"an older version")
    _Handler.requests.clear()
    with pytest.raises(ChecksumError) as err:
        download_file(f"{server}/ok.zip", dest, sha256=SHA256)
    message = str(err.value)
    assert str(dest) in message and "already exists" in message and "was kept" in message
    assert "deleted" not in message
    assert dest.read_bytes() == b"an older version" and _Handler.requests == []


def test_a_downloaded_file_with_another_checksum_is_deleted_and_said_so(server, tmp_path):
    with pytest.raises(ChecksumError, match=r"downloaded file .* was deleted"):
        download_file(f"{server}/ok.zip", tmp_path / "g.zip", sha256="0" * 64)
    assert _names(tmp_path) == []
