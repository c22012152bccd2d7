"""Real processes the end-to-end tests talk to: Berth under gunicorn, and dockerd."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.pgplugin import free_port

ROOT = Path(__file__).resolve().parent.parent


def require_tool(name: str) -> str:
    """Return the path of a command-line tool; skip without it, but fail in CI."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {name}); .ci/run installs it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def wait_until(check, *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout}s\n{tail}")


def http_up(url: str) -> bool:
    """Return True once url answers HTTP at all (any status), False while nothing listens."""
    try:
        urllib.request.urlopen(url, timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def exited(process: subprocess.Popen, log: Path, what: str) -> None:
    """Raise with the log's tail if process has exited."""
    if process.poll() is not None:
        raise RuntimeError(f"{what} exited:\n{log.read_text(errors='replace')[-3000:]}")


class BerthServer:
    """Berth under gunicorn on 127.0.0.1, on its own database and data folder.

    workers and threads of None leave them to config/gunicorn.py (WEB_CONCURRENCY, GUNICORN_THREADS).
    """

    start_timeout = 30

    def __init__(self, *, database_url: str, data_dir: Path, env: dict[str, str] | None = None,
                 workers: int | None = 2, threads: int | None = 4):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.data_dir = data_dir
        self.log = data_dir / "gunicorn.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "BERTH_DATA_DIR": str(data_dir),
            "SECRET_KEY": "berth-test-secret-key-not-for-production",
            "DEBUG": "false",
            **(env or {}),
        }
        self.workers, self.threads = workers, threads
        self.process: subprocess.Popen | None = None

    def manage(self, *args: str) -> str:
        """Run a manage.py command against this server's database and return its output."""
        result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self) -> "BerthServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class Dockerd:
    """A private docker daemon (vfs storage, no networking setup), or the one DOCKER_HOST names."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="berth-dockerd-"))
        self.host = f"unix://{self.root}/docker.sock"
        self.process: subprocess.Popen | None = None
        self.log = self.root / "dockerd.log"
        self.config = self.root / "config"
        self.config.mkdir()

    def start(self) -> "Dockerd":
        require_tool("docker")
        if os.environ.get("BERTH_TEST_DOCKER_HOST"):
            self.host = os.environ["BERTH_TEST_DOCKER_HOST"]
            return self
        dockerd = require_tool("dockerd")
        if os.geteuid() != 0:
            pytest.skip("dockerd needs root; set BERTH_TEST_DOCKER_HOST to a running daemon")
        self.process = subprocess.Popen(
            [dockerd, "--storage-driver=vfs", "--iptables=false", "--ip-masq=false", "--bridge=none",
             f"--data-root={self.root}/data", f"--exec-root={self.root}/exec", f"--pidfile={self.root}/pid",
             "-H", self.host],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self.docker("version", check=False).returncode == 0, timeout=60,
                   what="dockerd", log=self.log)
        return self

    def docker(self, *args: str, check: bool = True, input: bytes | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
        """Run the docker CLI against this daemon with its own client config (logins)."""
        env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.config),
               "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"}
        result = subprocess.run(["docker", *args], env=env, input=input, capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout.decode(errors='replace')}\n{result.stderr.decode(errors='replace')}")
        return result

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
