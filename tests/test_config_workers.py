"""config/workers.py without a live server: the busy-thread accounting, and the fall-back to stock gthread."""

import importlib
import logging
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
