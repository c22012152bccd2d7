"""Chunked bodies decoded from gunicorn's socket (registry.api.chunked.ChunkedBody).

gunicorn's own parser reads each request off one end of a socket pair and builds the WSGI
environ as it does for the app; the tests write bytes by hand on the other end. After a body,
gunicorn must find the next request where it starts; after bad framing it must close.
"""

import os
import socket
import threading

import pytest
from django.core.handlers.wsgi import WSGIRequest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from registry.api.chunked import ChunkedBody, ClientGone
from registry.api.streams import body_stream
from registry.oci.errors import BlobUploadInvalid

HEAD = b"PATCH /v2/alice/chunked/blobs/uploads/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
NEXT = b"GET /v2/ HTTP/1.1\r\nHost: t\r\n\r\n"


def chunked(*pieces: bytes, last: bytes = b"0\r\n\r\n") -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + last


class Server:
    """gunicorn's request parser on one end of a socket pair; the test writes on the other."""

    def __init__(self):
        self.client, self.sock = socket.socketpair()
        self.sock.settimeout(30)
        self.cfg = Config()
        self.parser = RequestParser(self.cfg, self.sock, ("127.0.0.1", 1))
        self.writer = None

    def send(self, data: bytes, *, close: bool = False) -> None:
        """Write data from a thread (it may be more than the socket buffers), then maybe close."""
        def write():
            self.client.sendall(data)
            if close:
                self.client.shutdown(socket.SHUT_WR)
        self.writer = threading.Thread(target=write, daemon=True)
        self.writer.start()

    def request(self):
        req = next(self.parser)
        _, environ = wsgi.create(req, self.sock, ("127.0.0.1", 1), ("127.0.0.1", 8000), self.cfg)
        return req, environ

    def body(self):
        req, environ = self.request()
        stream = body_stream(WSGIRequest(environ))
        return req, environ, stream

    def close(self):
        if self.writer:
            self.writer.join(timeout=30)
        self.client.close()
        self.sock.close()


@pytest.fixture
def server():
    server = Server()
    yield server
    server.close()


def read_all(stream, size: int = 1024 * 1024) -> bytes:
    buffer, out = bytearray(size), bytearray()
    while n := stream.readinto(buffer):
        out += buffer[:n]
    return bytes(out)


def assert_next_request_is_served(server):
    req, _ = server.request()
    assert (req.method, req.path) == ("GET", "/v2/")


def test_one_byte_chunks_then_a_pipelined_request(server):
    data = os.urandom(3000)
    server.send(HEAD + chunked(*(data[i:i + 1] for i in range(len(data)))) + NEXT)
    req, _, stream = server.body()
    assert isinstance(stream, ChunkedBody)
    assert read_all(stream) == data
    assert not req.should_close()
    assert_next_request_is_served(server)


def test_large_chunks_go_into_the_callers_buffer(server):
    """Chunks larger than any buffer, next to small ones, read into a buffer of an odd size."""
    pieces = [os.urandom(5 * 1024 * 1024 + 3), b"x", os.urandom(2 * 1024 * 1024), os.urandom(70000)]
    server.send(HEAD + chunked(*pieces) + NEXT)
    _, _, stream = server.body()
    assert read_all(stream, size=1000003) == b"".join(pieces)
    assert_next_request_is_served(server)


def test_read_returns_the_data_in_pieces_of_the_size_asked(server):
    data = os.urandom(200000)
    server.send(HEAD + chunked(data[:7], data[7:150000], data[150000:]) + NEXT)
    _, _, stream = server.body()
    assert stream.read(5) == data[:5]
    assert stream.read(100000) == data[5:100005]
    assert stream.read() == data[100005:]
    assert stream.read(10) == b""
    assert_next_request_is_served(server)


def test_chunk_extensions_are_ignored(server):
    body = (b"5;name=value\r\nhello\r\n"
            b"6 ; quoted=\"a;b \\\" c\" ; flag\r\n world\r\n"
            b"0;last=1\r\n\r\n")
    server.send(HEAD + body + NEXT)
    _, _, stream = server.body()
    assert read_all(stream) == b"hello world"
    assert_next_request_is_served(server)


def test_trailers_are_ignored(server):
    server.send(HEAD + chunked(b"abc", last=b"0\r\nX-Checksum: sha256:1234\r\nX-Empty:\r\n\r\n") + NEXT)
    _, _, stream = server.body()
    assert read_all(stream) == b"abc"
    assert_next_request_is_served(server)


def test_a_body_the_view_did_not_read_is_skipped_before_the_next_request(server):
    """gunicorn drains what the view left unread through this parser, so the next request is found."""
    server.send(HEAD + chunked(b"abc", b"defgh") + NEXT)
    _, _, stream = server.body()
    assert stream.read(2) == b"ab"
    assert_next_request_is_served(server)


def test_a_body_never_read_is_skipped_before_the_next_request(server):
    server.send(HEAD + chunked(b"abc" * 1000, b"defgh") + NEXT)
    server.body()
    assert_next_request_is_served(server)


BAD_FRAMING = {
    "size not hex": (b"zz\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "size with garbage": (b"5x\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "size with a space and no extension": (b"5 \r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "negative size": (b"-5\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "empty size": (b"\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "size past 16 hex digits": (b"00000000000000005\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "bad extension": (b"5;=x\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "bare CR in an extension": (b"5;a\rb\r\nhello\r\n0\r\n\r\n", "is not a hexadecimal size"),
    "bare LF after the size": (b"5\nhello\r\n0\r\n\r\n", "bare LF"),
    "bare LF after the data": (b"5\r\nhello\n0\r\n\r\n", "not followed by CRLF"),
    "data longer than its size": (b"5\r\nhello!\r\n0\r\n\r\n", "not followed by CRLF"),
    "data shorter than its size": (b"6\r\nhello\r\n0\r\n\r\n", "not followed by CRLF"),
    "bare LF in the trailers": (b"5\r\nhello\r\n0\r\nX-A: 1\n\r\n", "bare LF"),
    "bare LF ending the trailers": (b"5\r\nhello\r\n0\r\n\n", "bare LF"),
    "trailer without a colon": (b"5\r\nhello\r\n0\r\nnot a field\r\n\r\n", "is not a header field"),
    "size line too long": (b"5;" + b"a" * 9000 + b"\r\nhello\r\n0\r\n\r\n", "longer than"),
}


@pytest.mark.parametrize("body, problem", BAD_FRAMING.values(), ids=BAD_FRAMING.keys())
def test_bad_framing_is_blob_upload_invalid_and_closes_the_connection(server, body, problem):
    server.send(HEAD + body + NEXT)
    req, environ, stream = server.body()
    with pytest.raises(BlobUploadInvalid) as raised:
        read_all(stream)
    assert raised.value.code == "BLOB_UPLOAD_INVALID"
    assert raised.value.status == 400
    assert problem in raised.value.message
    assert "nothing of this request was stored" in raised.value.message
    assert not isinstance(raised.value, ClientGone)
    # gunicorn answers with "Connection: close" and serves nothing more on this connection.
    assert req.should_close()
    assert environ["wsgi.input"].failed
    with pytest.raises(StopIteration):
        next(server.parser)


CUT_SHORT = {
    "in a size line": (b"5\r\nhello\r\n1", 5),
    "in chunk data": (b"5\r\nhello\r\n10\r\n" + b"a" * 10, 15),
    "before the CRLF after data": (b"5\r\nhello", 5),
    "before the last chunk": (b"5\r\nhello\r\n", 5),
    "in the trailers": (b"5\r\nhello\r\n0\r\nX-A: 1\r\n", 5),
}


@pytest.mark.parametrize("body, received", CUT_SHORT.values(), ids=CUT_SHORT.keys())
def test_a_body_cut_short_is_a_client_gone(server, body, received):
    server.send(HEAD + body, close=True)
    req, environ, stream = server.body()
    with pytest.raises(ClientGone) as raised:
        read_all(stream)
    assert raised.value.code == "BLOB_UPLOAD_INVALID"
    assert raised.value.received == received
    assert f"after {received} bytes" in raised.value.message
    assert req.should_close()
    assert environ["berth.client_gone"]


def test_asking_for_the_body_twice_gives_the_one_reader(server):
    server.send(HEAD + chunked(b"abc", b"defgh") + NEXT)
    _, environ, stream = server.body()
    assert stream.read(4) == b"abcd"
    again = body_stream(WSGIRequest(environ))
    assert again is stream
    assert again.read() == b"efgh"
    assert_next_request_is_served(server)
