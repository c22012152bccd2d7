"""Fixtures for webhook tests: a receiver, and `manage.py worker` processes on the test database."""

import os
import signal
import subprocess
import sys

import pytest

from tests.events.receiver import Receiver
from tests.servers import ROOT, wait_until


def database_url() -> str:
    """Return a URL for the database this test runs on (committed data only: use transactional_db)."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


class Worker:
    """`manage.py worker` in its own process, logging to a file."""

    def __init__(self, env: dict[str, str], log):
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self.process = subprocess.Popen([sys.executable, "manage.py", "worker"], cwd=ROOT, env=self.env,
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: "worker started" in self.log.read_text(errors="replace"), timeout=30,
                   what="manage.py worker", log=self.log)
        return self

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def private_targets(settings):
    """Let webhooks call the receiver on loopback, as BERTH_WEBHOOK_ALLOW_PRIVATE=true does."""
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def start_worker(transactional_db, settings, tmp_path):
    """Return a function that starts a worker (extra environment as keyword arguments); all are stopped after."""
    workers = []

    def start(**extra) -> Worker:
        env = {**os.environ, "DATABASE_URL": database_url(), "BERTH_DATA_DIR": str(settings.BERTH_DATA_DIR),
               "SECRET_KEY": "berth-test-secret-key-not-for-production", "BERTH_WEBHOOK_ALLOW_PRIVATE": "true",
               "BERTH_WEBHOOK_RETRY_BASE": "0.2", "BERTH_WORKER_POLL_INTERVAL": "0.1", **extra}
        worker = Worker(env, tmp_path / f"worker-{len(workers)}.log").start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
