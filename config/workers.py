"""gunicorn's threaded worker, accepting connections only while it has a thread free for them.

All workers wait on one listening socket, and gunicorn's gthread worker accepts whatever
arrives while it is awake. A burst of new connections (a client opening several at once, a
load test) could all land on the one worker that happened to be running, which then served
them on one CPU, one thread at a time under the GIL, while the other workers idled: manifest
pulls ran at half speed in about one benchmark run in five. This worker stops accepting while
all of its threads are busy, so the rest of a burst goes to workers that can serve it at once.
Connections it already holds are served as before; keep-alive connections don't hold threads.

A thread that has just answered a request on a keep-alive connection also waits a moment
(LINGER_SECONDS) for that connection's next request and answers it itself. Clients send their
requests one after another on one connection (docker: a manifest, then its blobs), and gthread
hands each one from thread to main loop and back: a poller wake-up, a pipe write and read, two
epoll changes and a thread-pool hand-off, which cost more CPU than a manifest GET's own work on
the fast path. The thread lingers only while no request waits for a thread and the worker isn't
stopping, so it never delays another connection's request; a connection quiet for longer goes
back to the poller as before.

It overrides four methods of gunicorn's gthread worker (pinned in requirements.txt). If a
gunicorn upgrade drops any of them, this module says so in the log at import and Berth runs on
the stock gthread worker instead of a subclass whose accounting would silently be wrong.

It also answers gunicorn's own refusals of a body's framing (a Content-Length with a
Transfer-Encoding, a bad chunk) in the spec's JSON, as the registry answers everything else.
"""

import json
import logging
import select
from http import HTTPStatus

from gunicorn import util
from gunicorn.http import errors as http
from gunicorn.workers import gthread

from registry.oci.errors import BlobUploadInvalid, OCIError, SizeInvalid, Unsupported

logger = logging.getLogger(__name__)


def framing_error(exc: Exception) -> OCIError | None:
    """Return the spec's error for gunicorn's refusal of how a request body is framed, or None."""
    if isinstance(exc, (http.InvalidChunkSize, http.ChunkMissingTerminator, http.InvalidChunkExtension)):
        return BlobUploadInvalid(f"malformed chunked request body: {exc}; nothing was stored, resend it "
                                 "with valid chunked framing (RFC 9112 section 7.1)")
    if isinstance(exc, http.UnsupportedTransferCoding):
        return Unsupported(f"{exc}: send the body with Content-Length or Transfer-Encoding: chunked", status=501)
    if isinstance(exc, http.InvalidHeader) and exc.hdr == "CONTENT-LENGTH":
        return SizeInvalid("Content-Length must be one decimal number of bytes, and not sent with "
                           "Transfer-Encoding")
    if isinstance(exc, http.InvalidHeader) and exc.hdr == "TRANSFER-ENCODING":
        return BlobUploadInvalid("Transfer-Encoding must be chunked, once, on HTTP/1.1, without Content-Length")
    return None


# What the subclass relies on: the methods it overrides and the attributes it reads.
HOOKS = ("enqueue_req", "finish_request", "set_accept_enabled", "handle_error", "handle")
ATTRIBUTES = ("nr_conns", "worker_connections")


def missing_hooks(base: type = gthread.ThreadWorker) -> list[str]:
    """Return the hooks of gunicorn's gthread worker this module needs and base lacks."""
    missing = [name for name in HOOKS if not callable(getattr(base, name, None))]
    init = getattr(base.__init__, "__code__", None)
    names = set(init.co_names) if init is not None else set()
    return missing + [name for name in ATTRIBUTES if name not in names]


# How long a thread waits for the next request on a connection it has just answered. Long enough for a
# client's next request on loopback or a LAN (tenths of a millisecond) under load, short enough that
# a thread held for nothing costs less than the hand-offs it saves.
LINGER_SECONDS = 0.002


def next_request_arrives(sock, seconds: float) -> bool:
    """Return True if sock becomes readable within seconds (its next request, or the client closing)."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(seconds * 1000))


class BusyAwareThreadWorker(gthread.ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.busy = 0  # requests handed to the thread pool and not yet finished

    def set_accept_enabled(self, enabled):
        # gunicorn's loop calls this whenever its own condition (room for more connections)
        # changes or disagrees with the current state; a saturated pool overrides it.
        super().set_accept_enabled(enabled and self.busy < self.cfg.threads)

    def enqueue_req(self, conn):
        self.busy += 1
        super().enqueue_req(conn)
        if self.busy >= self.cfg.threads:
            self.set_accept_enabled(False)

    def finish_request(self, conn, fs):
        self.busy -= 1
        super().finish_request(conn, fs)
        self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)

    def handle(self, conn):
        # Runs in a pool thread. gthread's handle() answers one request and returns True when the
        # connection stays open; the next one is answered here while lingers() says so.
        keepalive = super().handle(conn)
        while keepalive is True and self.lingers(conn):
            keepalive = super().handle(conn)
        return keepalive

    def lingers(self, conn) -> bool:
        """Return True if this thread should answer conn's next request itself (see the module docstring)."""
        if not self.alive or self.busy > self.cfg.threads:
            return False  # stopping, or another connection's request waits for a thread
        if conn.parser.unreader.buf.getvalue():
            return True  # the client sent its next request with the last one
        return next_request_arrives(conn.sock, LINGER_SECONDS)

    def handle_error(self, req, client, addr, exc):
        error = framing_error(exc)
        if error is None:
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        if req is not None:
            # The body of a request answered without reading it failed to parse while gunicorn
            # skipped it: a second answer would be taken for the next request's. Just close.
            return
        body = json.dumps({"errors": [error.as_dict()]}).encode()
        head = (f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        try:
            util.write_nonblock(client, head + body)
        except OSError:
            self.log.debug("Failed to send error message.")

_missing = missing_hooks()
if _missing:
    logger.warning("gunicorn %s's gthread worker lacks %s, which config/workers.py needs; running the stock "
                   "gthread worker (connections may bunch up on one worker under bursts)",
                   getattr(gthread, "__version__", "") or "(this version)", ", ".join(_missing))
    ThreadWorker = gthread.ThreadWorker
else:
    ThreadWorker = BusyAwareThreadWorker
