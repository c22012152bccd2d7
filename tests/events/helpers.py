"""Helpers the tests of this package import (conftest.py keeps only fixtures)."""

import signal
import subprocess
import sys

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
