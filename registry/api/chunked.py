"""Chunked request bodies (the docker CLI's PATCH) decoded straight from gunicorn's socket, strictly.

gunicorn's ChunkedReader passes every piece through a generator, two BytesIO buffers and a few
slices, a socket buffer at a time. ChunkedBody receives into one 1 MiB buffer and walks the chunk
framing over it: each chunk's data reaches the caller's buffer in one slice assignment, and the
data of a chunk larger than what is buffered is received straight into the caller's buffer.

The framing is checked as RFC 9112 section 7.1 writes it: a chunk size is hex digits, every line
ends with CRLF, chunk data is followed by CRLF, and the body ends with the last chunk ("0") and a
trailer section. Chunk extensions and trailer fields are accepted and ignored. Anything else is
BLOB_UPLOAD_INVALID, and the connection closes after the answer: where the next request starts
is unknown.
"""

import re

from registry.oci.errors import BlobUploadInvalid

BLOCK = 1024 * 1024  # what one recv_into() may bring in
MAX_LINE = 8190  # a chunk-size line with its extensions: gunicorn's limit for a header field
MAX_TRAILERS = 65536  # the whole trailer section

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
# chunk-size [ chunk-ext ]: 16 hex digits at most, so a size always fits what a store can take.
SIZE_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})((?:[ \t]*;[ \t]*" + _TOKEN
    + rb"(?:[ \t]*=[ \t]*(?:" + _TOKEN + rb"|" + _QUOTED + rb"))?)*)")
TRAILER_LINE = re.compile(_TOKEN + rb":[\t -~\x80-\xff]*")
# The usual end of a chunk and start of the next, matched in one go over the buffer.
NEXT_CHUNK = re.compile(rb"\r\n([0-9A-Fa-f]{1,16})\r\n")

_SIZE, _DATA, _DATA_END, _TRAILERS, _DONE = range(5)


class ClientGone(BlobUploadInvalid):
    """The request body ended early: the client closed the connection (or it broke) mid-body."""

    def __init__(self, message: str, *, received: int):
        super().__init__(message)
        self.received = received


# Set in the WSGI environ when a client went away mid-body: the view logs that as one warning
# line, and the LOGGING filter in registry.api.streams keeps Django from adding a second one.
GONE = "berth.client_gone"


def lose_framing(wsgi_input, meta, *, gone: bool) -> None:
    """Have gunicorn close the connection after answering, since the next request's start is unknown."""
    wsgi_input.failed = True  # gunicorn then won't drain the body or reuse the connection
    request = getattr(wsgi_input.reader, "req", None)  # a ChunkedReader's; a LengthReader has none
    if request is not None:
        request.force_close()  # and its answer says "Connection: close"
    if gone:
        meta[GONE] = True


class ChunkedBody:
    """A chunked body read from gunicorn's client socket, its framing parsed over one large buffer.

    It takes over while gunicorn's reader is still at the start of the body: the bytes gunicorn
    read along with the headers come first. Bytes after the trailer section (a pipelined next
    request) go back to gunicorn's unreader, and gunicorn's reader is left draining through this
    one, so a body the view did not read to the end is skipped correctly before the next request.
    """

    reads_into = True  # copy_stream() fills one reused buffer with readinto()

    def __init__(self, wsgi_input, sock, meta):
        self.input, self.sock, self.meta = wsgi_input, sock, meta
        self.unreader = wsgi_input.reader.req.unreader
        head = self.unreader.take_buffered()
        self.buffer = bytearray(max(BLOCK, len(head)))
        self.buffer[:len(head)] = head
        self.view = memoryview(self.buffer)
        self.start, self.end = 0, len(head)  # the received bytes not parsed yet
        self.state, self.left = _SIZE, 0  # left: bytes of the current chunk's data still to come
        self.received = 0  # chunk data handed out
        self.trailer_bytes = 0
        wsgi_input.reader.parser = self._rest()

    def readinto(self, out) -> int:
        """Fill out with chunk data until it is full or the body ends; return the bytes written."""
        out = memoryview(out)
        filled, size = 0, len(out)
        while filled < size and self.state != _DONE:
            if self.state == _DATA:
                filled += self._data(out[filled:])
            elif self.state == _SIZE:
                self._size_line()
            elif self.state == _DATA_END:
                self._data_end()
            else:
                self._trailers()
        return filled

    def read(self, size=-1) -> bytes:
        chunks = []
        while size is None or size < 0 or size > 0:
            buffer = bytearray(BLOCK if size is None or size < 0 else min(size, BLOCK))
            n = self.readinto(buffer)
            if not n:
                break
            chunks.append(bytes(buffer[:n]))
            if size is not None and size >= 0:
                size -= n
        return b"".join(chunks)

    def _data(self, out) -> int:
        want = min(len(out), self.left)
        if self.end > self.start:
            n = min(want, self.end - self.start)
            out[:n] = self.view[self.start:self.start + n]
            self.start += n
        else:
            # Nothing buffered: this part of the chunk goes from the socket to the caller directly.
            n = self._recv(out[:want])
        self.left -= n
        self.received += n
        if not self.left:
            self.state = _DATA_END
        return n

    def _size_line(self) -> None:
        line = self._line(MAX_LINE, "chunk size line")
        match = SIZE_LINE.fullmatch(line)
        if match is None:
            raise self._broken(f"chunk size line {line[:40]!r} is not a hexadecimal size "
                               "with optional ;extensions")
        self.left = int(match[1], 16)
        self.state = _DATA if self.left else _TRAILERS

    def _data_end(self) -> None:
        # Fast path: CRLF and a plain size line already received, as with most chunks.
        match = NEXT_CHUNK.match(self.buffer, self.start, self.end)
        if match is not None:
            self.start = match.end()
            self.left = int(match[1], 16)
            self.state = _DATA if self.left else _TRAILERS
            return
        while self.end - self.start < 2:
            self._fill()
        if self.view[self.start:self.start + 2] != b"\r\n":
            raise self._broken("a chunk's data is not followed by CRLF (the chunk is longer than its size says)")
        self.start += 2
        self.state = _SIZE

    def _trailers(self) -> None:
        before = self.start
        line = self._line(MAX_TRAILERS - self.trailer_bytes, "trailer section")
        self.trailer_bytes += self.start - before
        if not line:
            self.state = _DONE
            # What follows is the next request on this connection: it is gunicorn's.
            if self.end > self.start:
                self.unreader.unread(bytes(self.view[self.start:self.end]))
            self.start = self.end = 0
        elif TRAILER_LINE.fullmatch(line) is None:
            raise self._broken(f"trailer line {line[:40]!r} is not a header field")

    def _line(self, limit: int, what: str) -> bytes:
        """Return the next CRLF-terminated line without its CRLF; a bare LF is an error."""
        scanned = 0  # bytes after start known to hold no LF; _fill() may move them to the front
        while (end := self.buffer.find(b"\n", self.start + scanned, self.end)) < 0:
            scanned = self.end - self.start
            if scanned > limit:
                raise self._broken(f"{what} longer than {limit} bytes")
            self._fill()
        if end - self.start > limit:
            raise self._broken(f"{what} longer than {limit} bytes")
        if end == self.start or self.buffer[end - 1] != 0x0D:
            raise self._broken(f"a line of the {what} ends with a bare LF instead of CRLF")
        line = bytes(self.view[self.start:end - 1])
        self.start = end + 1
        return line

    def _fill(self) -> None:
        """Receive more framing bytes after the unparsed ones, moving those to the front if need be."""
        if self.start == self.end:
            self.start = self.end = 0
        elif self.end == len(self.buffer):
            pending = self.end - self.start
            self.view[:pending] = self.view[self.start:self.end]
            self.start, self.end = 0, pending
        self.end += self._recv(self.view[self.end:])

    def _recv(self, into) -> int:
        try:
            n = self.sock.recv_into(into)
        except OSError as error:  # reset, or gunicorn's drain timing out
            raise self._gone(f"the connection broke ({error.strerror or error})") from None
        if not n:
            raise self._gone("the client closed the connection")
        return n

    def _rest(self):
        """Yield what the view left unread, so gunicorn's drain before the next request parses it here."""
        buffer = bytearray(65536)
        try:
            while n := self.readinto(buffer):
                yield bytes(buffer[:n])
        except BlobUploadInvalid:
            pass  # the connection is marked to close

    def _broken(self, problem: str) -> BlobUploadInvalid:
        lose_framing(self.input, self.meta, gone=False)
        return BlobUploadInvalid(
            f"malformed chunked request body: {problem}; nothing of this request was stored, "
            "resend it with valid chunked framing (RFC 9112 section 7.1)")

    def _gone(self, why: str) -> ClientGone:
        lose_framing(self.input, self.meta, gone=True)
        return ClientGone(
            f"{why} after {self.received} bytes of chunk data, before the body's last chunk; "
            "nothing of this request was stored, resend it", received=self.received)
