"""Request bodies as streams: blob routes never read request.body."""

import inspect
import logging

from registry.api.chunked import GONE, ChunkedBody, ClientGone, lose_framing
from registry.oci.errors import SizeInvalid

TAKEN = "berth.chunked_body"  # in the WSGI environ once a ChunkedBody has taken over the body

logger = logging.getLogger(__name__)


def gunicorn_missing() -> list[str]:
    """Return what of gunicorn's body readers (pinned in requirements.txt) the socket readers need and lack.

    SocketBody and ChunkedBody take over gunicorn's LengthReader and ChunkedReader mid-request; a
    gunicorn whose readers changed shape would be read wrongly, so they then stay out of the way.
    """
    try:
        from gunicorn.http import body, unreader
    except ImportError:
        return ["gunicorn.http.body", "gunicorn.http.unreader"]
    needs = {
        "Unreader.take_buffered": callable(getattr(unreader.Unreader, "take_buffered", None)),
        "Unreader.unread": callable(getattr(unreader.Unreader, "unread", None)),
        "LengthReader(unreader, length)": list(inspect.signature(body.LengthReader.__init__).parameters)[1:]
        == ["unreader", "length"],
        "ChunkedReader(req, unreader).parse_chunked": list(inspect.signature(body.ChunkedReader.__init__)
                                                           .parameters)[1:] == ["req", "unreader"]
        and inspect.isgeneratorfunction(getattr(body.ChunkedReader, "parse_chunked", None)),
    }
    return [name for name, present in needs.items() if not present]


_missing = gunicorn_missing()
if _missing:
    logger.warning("gunicorn's body readers lack %s, which registry/api/streams.py needs; request bodies "
                   "are read through gunicorn's own (slower) readers", ", ".join(_missing))
# Read socket bodies directly only where gunicorn's readers are the shape this module knows.
DIRECT = not _missing


class _Empty:
    def read(self, size=-1):
        return b""


def content_length(request) -> int | None:
    """Return the announced Content-Length, or None for chunked transfer encoding."""
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    value = meta.get("CONTENT_LENGTH") or "0"
    try:
        length = int(value)
    except ValueError:
        raise SizeInvalid(f"Content-Length {value!r} is not a number") from None
    if length < 0:
        raise SizeInvalid(f"Content-Length {value!r} is negative")
    return length


class SocketBody:
    """A Content-Length body read from gunicorn's client socket straight into the caller's buffer.

    gunicorn's reader passes every piece through two BytesIO buffers and slices it again, about
    five copies of each byte, which caps a push near 250 MB/s on one core. This takes over while
    gunicorn's reader is still at the start of the body: it first hands out the bytes gunicorn
    read along with the headers, then recv_into()s the rest, counting down the reader's length so
    gunicorn finds the body consumed and keeps the connection for the next request.
    """

    reads_into = True  # copy_stream() fills one reused buffer with readinto()

    def __init__(self, wsgi_input, sock, meta):
        reader = wsgi_input.reader
        self.input, self.reader, self.sock, self.meta = wsgi_input, reader, sock, meta
        head = reader.unreader.take_buffered()
        if len(head) > reader.length:
            # A pipelined next request: give it back to gunicorn.
            reader.unreader.unread(head[reader.length:])
            head = head[:reader.length]
        reader.length -= len(head)
        self.head = memoryview(head)
        self.received = len(head)

    def readinto(self, buffer) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        if self.reader.length <= 0 or not len(buffer):
            return 0
        try:
            n = self.sock.recv_into(buffer, min(len(buffer), self.reader.length))
        except OSError as error:  # a reset connection, a timeout
            raise self._cut_short(f"the connection broke ({error.strerror or error})") from None
        if not n:
            raise self._cut_short("the client closed the connection")
        self.reader.length -= n
        self.received += n
        return n

    def read(self, size=-1) -> bytes:
        size = self.reader.length + len(self.head) if size is None or size < 0 else size
        if not size:
            return b""
        buffer = bytearray(size)
        n = self.readinto(buffer)
        return bytes(buffer[:n])

    def _cut_short(self, why: str) -> "LengthCutShort":
        lose_framing(self.input, self.meta, gone=True)
        return LengthCutShort(
            f"{why} after {self.received} of the {self.received + self.reader.length} bytes its "
            "Content-Length announced; the chunk was not stored, resend it", received=self.received)


class LengthCutShort(SizeInvalid, ClientGone):
    """A Content-Length body that ended early: SIZE_INVALID, and a client gone like any other."""


def _gunicorn_reader(meta, kind: str):
    """Return gunicorn's body reader of this request if it is a `kind` that nobody has read from yet."""
    sock, wsgi_input = meta.get("gunicorn.socket"), meta.get("wsgi.input")
    reader = getattr(wsgi_input, "reader", None)
    if not DIRECT or sock is None:
        return None
    if type(reader).__name__ != kind or not type(reader).__module__.startswith("gunicorn"):
        return None
    buffered = getattr(wsgi_input, "buf", None)
    # A ChunkedReader keeps its unreader inside its parser; the request has it too.
    unreader = getattr(reader, "unreader", None) or getattr(getattr(reader, "req", None), "unreader", None)
    if buffered is None or buffered.tell() or not hasattr(unreader, "take_buffered"):
        return None
    return reader


def _socket_body(meta, length: int) -> SocketBody | None:
    """Return a SocketBody when gunicorn serves this request and nobody has read its body yet."""
    reader = _gunicorn_reader(meta, "LengthReader")
    if reader is None or getattr(reader, "length", None) != length:
        return None
    return SocketBody(meta["wsgi.input"], meta["gunicorn.socket"], meta)


def _chunked_body(meta) -> ChunkedBody | None:
    """Return a ChunkedBody when gunicorn serves this request and nobody has started its body yet."""
    if TAKEN in meta:
        return meta[TAKEN]  # asked again: there is one body, and this reader holds its framing state
    reader = _gunicorn_reader(meta, "ChunkedReader")
    if reader is None or not hasattr(getattr(reader, "req", None), "force_close"):
        return None
    # gunicorn's parser is a generator that has not started while the body is unread.
    parser = getattr(reader, "parser", None)
    if not inspect.isgenerator(parser) or inspect.getgeneratorstate(parser) != inspect.GEN_CREATED:
        return None
    meta[TAKEN] = ChunkedBody(meta["wsgi.input"], meta["gunicorn.socket"], meta)
    return meta[TAKEN]


def body_stream(request):
    """Return a file-like object over the request body, read straight from the socket.

    Django's own stream stops at Content-Length and sees nothing of a chunked body, so
    chunked requests (the docker CLI's PATCH) are decoded from gunicorn's socket, or read from
    wsgi.input under another server, which decodes them.
    """
    meta = request.META
    length = content_length(request)
    if length is None:
        return _chunked_body(meta) or meta["wsgi.input"]
    if not length:
        return _Empty()
    return _socket_body(meta, length) or (request._request if hasattr(request, "_request") else request)


def read_limited(request, limit: int, too_large) -> bytes:
    """Read a small body (a manifest) whole, raising too_large() past limit bytes."""
    length = content_length(request)
    if length is not None and length > limit:
        raise too_large()
    stream = body_stream(request)
    chunks, total = [], 0
    while True:
        data = stream.read(65536)
        if not data:
            break
        total += len(data)
        if total > limit:
            raise too_large()
        chunks.append(data)
    return b"".join(chunks)


class SkipClientGone(logging.Filter):
    """Drop Django's "Bad Request" line for a client that went away: the view logged it already."""

    def filter(self, record) -> bool:
        request = getattr(record, "request", None)
        return not getattr(request, "META", {}).get(GONE)
