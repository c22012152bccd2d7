"""Content-Length bodies read straight from gunicorn's socket (registry.api.streams.SocketBody).

Raw sockets, so the tests control what arrives with the headers, what is pipelined behind a
body and what is cut short: the connection must stay usable and every byte must land once.
"""

import base64
import hashlib
import os
import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e

NAME = "alice/socket-body"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Connection:
    """One keep-alive HTTP/1.1 connection to the live server, with requests written by hand."""

    def __init__(self, berth, owner):
        parts = urlsplit(berth.url)
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
        self.file = self.sock.makefile("rb")
        self.host = berth.host
        self.auth = base64.b64encode(f"{owner.username}:{owner.password}".encode()).decode()

    def head(self, method: str, path: str, length: int, extra: str = "") -> bytes:
        return (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Basic {self.auth}\r\n"
                f"Content-Type: application/octet-stream\r\nContent-Length: {length}\r\n{extra}\r\n").encode()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
        status = int(self.file.readline().split()[1])
        headers = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b"" if method == "HEAD" else self.file.read(int(headers.get("content-length", "0")))
        return status, headers, body

    def request(self, method: str, path: str, body: bytes = b"", extra: str = "") -> tuple[int, dict, bytes]:
        self.send(self.head(method, path, len(body), extra) + body)
        return self.response(method)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def conn(berth, owner):
    connection = Connection(berth, owner)
    yield connection
    connection.close()


def start(conn) -> str:
    status, headers, body = conn.request("POST", f"/v2/{NAME}/blobs/uploads/")
    assert status == 202, body
    return urlsplit(headers["location"]).path


def test_bodies_large_and_small_on_one_connection(conn, berth):
    """A body that came with the headers, then one far larger than any buffer, then the next request."""
    small, large = os.urandom(100), os.urandom(5 * 1024 * 1024 + 3)
    location = start(conn)
    status, headers, body = conn.request("PATCH", location, small)
    assert status == 202, body
    assert headers["range"] == "0-99"
    status, headers, body = conn.request("PATCH", location, large)
    assert status == 202, body
    assert headers["range"] == f"0-{len(small) + len(large) - 1}"
    digest = sha256(small + large)
    status, _, body = conn.request("PUT", f"{location}?digest={digest}")
    assert status == 201, body
    status, _, body = conn.request("GET", f"/v2/{NAME}/blobs/{digest}")
    assert status == 200
    assert body == small + large


def test_a_request_pipelined_behind_a_body_is_answered(conn):
    """Bytes of the next request that arrive in the same packet as a body stay with gunicorn."""
    data = os.urandom(64)
    digest = sha256(data)
    location = start(conn)
    conn.send(conn.head("PUT", f"{location}?digest={digest}", len(data)) + data
              + conn.head("HEAD", f"/v2/{NAME}/blobs/{digest}", 0))
    status, _, body = conn.response()
    assert status == 201, body
    status, headers, _ = conn.response("HEAD")
    assert status == 200
    assert headers["content-length"] == str(len(data))


def test_a_body_cut_short_stores_nothing(conn, berth, owner):
    """A client that announces more than it sends gets SIZE_INVALID and the upload keeps its offset."""
    location = start(conn)
    conn.send(conn.head("PATCH", location, 1000) + os.urandom(400))
    conn.sock.shutdown(socket.SHUT_WR)
    status, _, body = conn.response()
    assert status == 400
    assert b"SIZE_INVALID" in body
    other = Connection(berth, owner)
    try:
        status, headers, _ = other.request("GET", location)
        assert status == 204
        assert headers["range"] == "0-0"
    finally:
        other.close()
