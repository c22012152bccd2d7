"""Berth under gunicorn (config/gunicorn.py, DEBUG=false) on 127.0.0.1, on a database and data folder of its own."""

import os
import subprocess
import sys
from pathlib import Path

from harness.processes import exited, free_port, http_up, stop, wait_until

ROOT = Path(__file__).resolve().parent.parent


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command with environment env and return its output; raise RuntimeError if it fails."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class BerthServer:
    """Berth under gunicorn; workers and threads of None leave them to config/gunicorn.py.

    log defaults to gunicorn.log in data_dir. migrated=True: the database has every migration
    already (a copy of a migrated one), so start() runs none.
    """

    start_timeout = 30
    secret_key = "berth-test-secret-key-not-for-production"

    def __init__(self, *, database_url: str, data_dir: Path, env: dict[str, str] | None = None,
                 workers: int | None = None, threads: int | None = None, log: Path | None = None,
                 migrated: bool = False):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.data_dir = data_dir
        self.log = log or data_dir / "gunicorn.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BERTH_DATA_DIR": str(data_dir),
            "SECRET_KEY": self.secret_key,
            "DEBUG": "false",
            **(env or {}),
        }
        self.workers, self.threads = workers, threads
        self.migrated = migrated
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        """Run a manage.py command against this server's database and return its output."""
        return manage(self.env, *args)

    def start(self) -> "BerthServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if not self.migrated:
            self.manage("migrate", "--noinput", "-v0")
        command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi", "--bind", self.host]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        if self.threads is not None:
            command += ["--threads", str(self.threads)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log.open("ab"),
                                        stderr=subprocess.STDOUT)
        wait_until(self.ready, timeout=self.start_timeout, what="gunicorn", log=self.log)
        return self

    def ready(self) -> bool:
        exited(self.process, self.log, "gunicorn")
        return http_up(f"{self.url}/v2/")

    def pids(self) -> list[int]:
        """Return the gunicorn master's pid and its workers'."""
        return process_tree(self.process.pid)

    def worker_pids(self) -> list[int]:
        return self.pids()[1:]

    def stop(self) -> None:
        stop(self.process)


def process_tree(pid: int) -> list[int]:
    """Return pid and its direct children (a gunicorn master and its workers)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *map(int, children)]
