"""config/workers.py without a live server: busy-thread accounting, lingering, the fall-back to stock gthread."""

import importlib
import io
import logging
import socket
from types import SimpleNamespace

import pytest
from gunicorn.workers import gthread

import config.workers as workers


@pytest.fixture
def worker(monkeypatch):
    """A BusyAwareThreadWorker with 2 threads whose gthread parent methods only record what they're asked."""
    calls = []
    monkeypatch.setattr(gthread.ThreadWorker, "enqueue_req", lambda self, conn: calls.append(("enqueue", conn)))
    monkeypatch.setattr(gthread.ThreadWorker, "finish_request",
                        lambda self, conn, fs: calls.append(("finish", conn)))
    monkeypatch.setattr(gthread.ThreadWorker, "set_accept_enabled",
                        lambda self, enabled: setattr(self, "accepting", enabled))
    w = object.__new__(workers.BusyAwareThreadWorker)
    w.cfg = SimpleNamespace(threads=2)
    w.busy, w.alive, w.nr_conns, w.worker_connections, w.accepting = 0, True, 0, 1000, True
    w.calls = calls
    return w


def test_stops_accepting_when_every_thread_is_busy(worker):
    worker.enqueue_req("a")
    assert worker.busy == 1 and worker.accepting
    worker.enqueue_req("b")
    assert worker.busy == 2 and not worker.accepting
    assert worker.calls == [("enqueue", "a"), ("enqueue", "b")]


def test_gunicorn_cannot_reenable_accepting_while_saturated(worker):
    worker.enqueue_req("a")
    worker.enqueue_req("b")
    worker.set_accept_enabled(True)  # gunicorn's loop thinks there is room for connections
    assert not worker.accepting


def test_accepts_again_once_a_thread_is_free(worker):
    worker.enqueue_req("a")
    worker.enqueue_req("b")
    worker.finish_request("a", None)
    assert worker.busy == 1 and worker.accepting
    assert ("finish", "a") in worker.calls


def test_a_full_worker_or_a_stopping_one_stays_closed(worker):
    worker.enqueue_req("a")
    worker.nr_conns = worker.worker_connections
    worker.finish_request("a", None)
    assert not worker.accepting
    worker.nr_conns, worker.alive = 0, False
    worker.enqueue_req("b")
    worker.finish_request("b", None)
    assert not worker.accepting


@pytest.fixture
def lingering(worker, monkeypatch):
    """worker, whose gthread handle() answers one request per call (reading it off the socket) and keeps the
    connection open unless told otherwise; and a connection to it whose client end is worker.client."""
    # then: what the client sends while each answer is given; pipelined: what the parser read past the first request
    answers = {"keepalive": True, "then": [], "pipelined": b""}

    def handle(self, conn):
        request = conn.parser.unreader.buf.getvalue() or conn.sock.recv(100)
        conn.parser.unreader.buf = io.BytesIO(answers["pipelined"])
        answers["pipelined"] = b""
        self.calls.append(("handle", request))
        if answers["then"]:
            self.client.sendall(answers["then"].pop(0))
        return answers["keepalive"]

    monkeypatch.setattr(gthread.ThreadWorker, "handle", handle)
    server, client = socket.socketpair()
    server.setblocking(False)
    worker.conn = SimpleNamespace(sock=server, parser=SimpleNamespace(unreader=SimpleNamespace(buf=io.BytesIO())))
    worker.client, worker.answers, worker.busy = client, answers, 1
    yield worker
    server.close()
    client.close()


def handled(worker) -> list:
    return [what for kind, what in worker.calls if kind == "handle"]


def test_a_thread_answers_the_next_request_on_its_connection_itself(lingering):
    lingering.client.sendall(b"first")
    assert lingering.handle(lingering.conn) is True
    assert handled(lingering) == [b"first"]

    # Requests that arrive while the last one is answered: the same call answers them too, and
    # hands the connection back only when nothing more comes.
    lingering.calls.clear()
    lingering.answers["then"] = [b"second", b"third"]
    lingering.client.sendall(b"first")
    assert lingering.handle(lingering.conn) is True
    assert handled(lingering) == [b"first", b"second", b"third"]


def test_a_request_sent_with_the_last_one_is_answered_at_once(lingering):
    lingering.client.sendall(b"first")
    lingering.answers["pipelined"] = b"pipelined"
    lingering.handle(lingering.conn)
    assert handled(lingering) == [b"first", b"pipelined"]


def test_no_lingering_while_another_request_waits_for_a_thread(lingering):
    lingering.busy = lingering.cfg.threads + 1
    lingering.client.sendall(b"first")
    lingering.answers["pipelined"] = b"pipelined"
    assert lingering.handle(lingering.conn) is True
    assert handled(lingering) == [b"first"]  # the pipelined request goes back through gthread's loop


def test_no_lingering_in_a_stopping_worker(lingering):
    lingering.alive = False
    lingering.client.sendall(b"first")
    lingering.answers["pipelined"] = b"pipelined"
    lingering.handle(lingering.conn)
    assert handled(lingering) == [b"first"]


def test_a_closed_connection_is_not_lingered_on(lingering):
    lingering.answers["keepalive"] = False
    lingering.client.sendall(b"first")
    lingering.answers["pipelined"] = b"pipelined"
    assert lingering.handle(lingering.conn) is False
    assert handled(lingering) == [b"first"]


def test_next_request_arrives_sees_data_and_a_client_closing():
    server, client = socket.socketpair()
    with server, client:
        assert not workers.next_request_arrives(server, 0.001)
        client.sendall(b"GET")
        assert workers.next_request_arrives(server, 0.001)
        server.recv(10)
        client.close()
        assert workers.next_request_arrives(server, 0.001)  # gthread's handle() then sees the end


def test_gthread_without_the_hooks_runs_stock_gthread_with_a_warning(monkeypatch, caplog):
    monkeypatch.delattr(gthread.ThreadWorker, "enqueue_req")
    with caplog.at_level(logging.WARNING, logger="config.workers"):
        reloaded = importlib.reload(workers)
    try:
        assert reloaded.ThreadWorker is gthread.ThreadWorker
        assert "lacks enqueue_req" in caplog.text
    finally:
        monkeypatch.undo()
        importlib.reload(workers)
    assert workers.ThreadWorker is workers.BusyAwareThreadWorker


def test_the_installed_gunicorn_has_every_hook():
    assert workers.missing_hooks() == []
    assert workers.ThreadWorker is workers.BusyAwareThreadWorker
