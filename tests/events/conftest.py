"""Fixtures for webhook tests: a receiver, and `manage.py worker` processes on the test database."""

import os

import pytest

from tests.events.helpers import Worker, database_url
from tests.events.receiver import Receiver


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
