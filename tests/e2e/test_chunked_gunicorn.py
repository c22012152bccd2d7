"""Chunked uploads through gunicorn on both stores: framing, bad framing and clients that go away.

Raw sockets, so the tests choose every byte of the framing, cut bodies short and close the
connection mid-body; the server's log is read to see how a disconnect is reported.
"""

import base64
import hashlib
import json
import os
import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.helpers import OWNER, start_berth
from tests.s3 import s3_server  # noqa: F401
from tests.servers import wait_until

pytestmark = pytest.mark.e2e

NAME = f"{OWNER}/chunked"
MiB = 1024 * 1024


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chunked(*pieces: bytes, last: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + last


@pytest.fixture(scope="module", params=["filesystem", "s3"])
def server(request, tmp_path_factory):
    env = {}
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_server")
        env = s3.env(s3.create_bucket(), redirect=False)
    berth = start_berth(tmp_path_factory, **env)
    berth.password = berth.manage("create_token", OWNER, "--scopes", "write:packages,delete:packages",
                                  "--create-user", "--note", "chunked tests").strip()
    yield berth
    berth.stop()


class Connection:
    """One HTTP/1.1 connection to the server, with requests written by hand."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
        self.file = self.sock.makefile("rb")
        self.host = server.host
        self.auth = base64.b64encode(f"{OWNER}:{server.password}".encode()).decode()

    def head(self, method: str, path: str, *, length: int | None = None) -> bytes:
        framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
        return (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Basic {self.auth}\r\n"
                f"Content-Type: application/octet-stream\r\n{framing}\r\n\r\n").encode()

    def response(self) -> tuple[int, dict[str, str], bytes]:
        status = int(self.file.readline().split()[1])
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers, self.file.read(int(headers.get("content-length", "0")))

    def request(self, method: str, path: str, body: bytes = b"", *, length: int | None = 0):
        self.sock.sendall(self.head(method, path, length=length) + body)
        return self.response()

    def closed_by_server(self) -> bool:
        return self.file.read(1) == b""

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def conn(server):
    connection = Connection(server)
    yield connection
    connection.close()


def start(conn) -> str:
    status, headers, body = conn.request("POST", f"/v2/{NAME}/blobs/uploads/")
    assert status == 202, body
    return urlsplit(headers["location"]).path


def offset(server, location: str) -> int:
    other = Connection(server)
    try:
        status, headers, body = other.request("GET", location)
        assert status == 204, body
        return int(headers["range"].split("-")[1]) + 1
    finally:
        other.close()


def finish(server, location: str, rest: bytes, data: bytes) -> None:
    """PATCH rest chunked on a new connection, PUT the digest of data, and read the blob back."""
    other = Connection(server)
    try:
        status, headers, body = other.request("PATCH", location, chunked(rest), length=None)
        assert status == 202, body
        assert headers["range"] == f"0-{len(data) - 1}"
        status, _, body = other.request("PUT", f"{location}?digest={sha256(data)}")
        assert status == 201, body
        status, _, body = other.request("GET", f"/v2/{NAME}/blobs/{sha256(data)}")
        assert status == 200
        assert body == data
    finally:
        other.close()


def test_tiny_and_large_chunks_extensions_and_trailers_on_one_connection(server, conn):
    tiny, large, tail = os.urandom(300), os.urandom(6 * MiB + 5), os.urandom(1000)
    location = start(conn)
    body = b"".join(b"1;n=%d\r\n%s\r\n" % (i, tiny[i:i + 1]) for i in range(len(tiny))) + b"0\r\n\r\n"
    status, headers, text = conn.request("PATCH", location, body, length=None)
    assert status == 202, text
    assert headers["range"] == f"0-{len(tiny) - 1}"
    status, headers, text = conn.request("PATCH", location, chunked(large[:MiB], large[MiB:]), length=None)
    assert status == 202, text
    status, headers, text = conn.request(
        "PATCH", location, chunked(tail, last=b"0\r\nX-Checksum: whatever\r\n\r\n"), length=None)
    assert status == 202, text
    data = tiny + large + tail
    assert headers["range"] == f"0-{len(data) - 1}"
    assert headers["connection"] == "keep-alive"
    status, _, text = conn.request("PUT", f"{location}?digest={sha256(data)}")
    assert status == 201, text
    status, _, text = conn.request("GET", f"/v2/{NAME}/blobs/{sha256(data)}")
    assert status == 200
    assert text == data


def test_a_chunked_put_with_the_last_chunk_keeps_it(server, conn):
    first, last = os.urandom(2 * MiB), os.urandom(70_000)
    location = start(conn)
    status, _, text = conn.request("PATCH", location, chunked(first), length=None)
    assert status == 202, text
    data = first + last
    status, headers, text = conn.request("PUT", f"{location}?digest={sha256(data)}", chunked(last), length=None)
    assert status == 201, text
    assert headers["docker-content-digest"] == sha256(data)
    status, _, text = conn.request("GET", f"/v2/{NAME}/blobs/{sha256(data)}")
    assert status == 200 and text == data


def test_a_monolithic_chunked_upload_in_one_put(server, conn):
    data = os.urandom(300_000)
    location = start(conn)
    status, _, text = conn.request("PUT", f"{location}?digest={sha256(data)}", chunked(data[:1000], data[1000:]),
                                   length=None)
    assert status == 201, text
    status, _, text = conn.request("GET", f"/v2/{NAME}/blobs/{sha256(data)}")
    assert status == 200 and text == data


BAD_FRAMING = {
    "size not hex": b"zz\r\nhello\r\n0\r\n\r\n",
    "size with garbage": b"5 x\r\nhello\r\n0\r\n\r\n",
    "bare LF after the size": b"5\nhello\r\n0\r\n\r\n",
    "missing CRLF after the data": b"5\r\nhelloXY0\r\n\r\n",
    "bare LF in the trailers": b"0\r\nX-A: 1\n\r\n",
}


@pytest.mark.parametrize("bad", BAD_FRAMING.values(), ids=BAD_FRAMING.keys())
def test_bad_framing_is_a_400_with_the_spec_error_and_stores_nothing(server, conn, bad):
    first, good = os.urandom(1000), os.urandom(2 * MiB)
    location = start(conn)
    assert conn.request("PATCH", location, chunked(first), length=None)[0] == 202
    # Good chunks first, so some bytes reach the store before the framing breaks.
    status, headers, body = conn.request("PATCH", location, chunked(good, last=b"") + bad, length=None)
    assert status == 400, body
    errors = json.loads(body)["errors"]
    assert errors[0]["code"] == "BLOB_UPLOAD_INVALID"
    assert "malformed chunked request body" in errors[0]["message"]
    assert headers["connection"] == "close"
    assert conn.closed_by_server()
    assert offset(server, location) == len(first)
    finish(server, location, good, first + good)


def log_since(server, start: int, needle: str) -> str:
    wait_until(lambda: needle in server.log.read_text()[start:], timeout=30, what=needle, log=server.log)
    time.sleep(0.5)  # anything logged after the line would come now
    return server.log.read_text()[start:]


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_a_client_gone_mid_upload_is_one_warning_and_the_upload_resumes(server, conn, framing):
    first, second = os.urandom(3000), os.urandom(4 * MiB)
    location = start(conn)
    assert conn.request("PATCH", location, chunked(first), length=None)[0] == 202
    before = len(server.log.read_text())
    if framing == "chunked":
        conn.sock.sendall(conn.head("PATCH", location) + chunked(second[:MiB], second[MiB:2 * MiB], last=b""))
    else:
        conn.sock.sendall(conn.head("PATCH", location, length=len(second)) + second[:2 * MiB])
    time.sleep(0.5)  # let the server read what was sent
    conn.close()  # the socket and its file: the connection ends only when both are closed

    log = log_since(server, before, "client went away")
    warnings = [line for line in log.splitlines() if "client went away" in line]
    upload = location.rsplit("/", 1)[1]
    assert warnings == [f"client went away after {2 * MiB} bytes of upload {upload}; "
                        f"it can resume at offset {len(first)}"]
    assert "Traceback" not in log
    assert "Internal Server Error" not in log
    assert "Bad Request" not in log
    assert offset(server, location) == len(first)
    finish(server, location, second, first + second)


FRAMING_HEADERS = {
    "chunked with a Content-Length": (b"Transfer-Encoding: chunked\r\nContent-Length: 5", "HTTP/1.1", 400,
                                      "SIZE_INVALID"),
    "chunked twice": (b"Transfer-Encoding: chunked, chunked", "HTTP/1.1", 400, "BLOB_UPLOAD_INVALID"),
    "chunked on HTTP/1.0": (b"Transfer-Encoding: chunked", "HTTP/1.0", 400, "BLOB_UPLOAD_INVALID"),
    "a Content-Length that isn't a number": (b"Content-Length: 5x", "HTTP/1.1", 400, "SIZE_INVALID"),
    "an unknown coding": (b"Transfer-Encoding: zip", "HTTP/1.1", 501, "UNSUPPORTED"),
}


@pytest.mark.parametrize("framing, version, status, code", FRAMING_HEADERS.values(), ids=FRAMING_HEADERS.keys())
def test_framing_gunicorn_refuses_is_answered_in_the_spec_format(server, conn, framing, version, status, code):
    """gunicorn refuses these before the view runs; the answer is still the spec's JSON."""
    conn.sock.sendall(f"PATCH /v2/{NAME}/blobs/uploads/x {version}\r\nHost: {conn.host}\r\n".encode()
                      + framing + b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    answer, headers, body = conn.response()
    assert answer == status, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["errors"][0]["code"] == code
    assert conn.closed_by_server()


def test_bad_framing_of_a_body_answered_unread_closes_after_the_one_answer(server, conn):
    """Without credentials the view answers 401 unread; gunicorn's skip of the body then fails."""
    conn.sock.sendall(f"PATCH /v2/{NAME}/blobs/uploads/x HTTP/1.1\r\nHost: {conn.host}\r\n"
                      "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".encode())
    status, _, body = conn.response()
    assert status == 401, body
    assert conn.closed_by_server()
