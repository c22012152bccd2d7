"""The registries a benchmark pass starts on loopback: Berth under gunicorn, and distribution.

The helper processes (PostgreSQL, moto, dockerd) are in bench.processes, nginx in bench.nginx.
"""

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from bench.processes import Dockerd, Postgres, S3Server, exited, free_port, http_up, wait_until
from bench.processes import stop as _stop
from config import gunicorn as gunicorn_settings
from harness.berth import BerthServer, process_tree

DISTRIBUTION = "docker-registry"


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """Return the CPU time (user + system) the processes pids have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Berth(BerthServer):
    """Berth under gunicorn with config/gunicorn.py's workers and threads and production settings (DEBUG=false)."""

    label = "berth"
    start_timeout = 60
    secret_key = "berth-bench-secret-key-not-for-production"

    def __init__(self, root: Path, database_url: str, env: dict[str, str] | None = None,
                 data_dir: Path | None = None):
        """data_dir: another Berth's, for a second app server on the same blob store."""
        super().__init__(database_url=database_url, data_dir=data_dir or root / "data", env=env,
                         log=root / "gunicorn.log")
        self.root = root

    def start(self) -> "Berth":
        super().start()
        # Workers boot after the master answers; wait for all of them.
        wait_until(lambda: len(self.pids()) > gunicorn_settings.workers,
                   timeout=30, what="gunicorn workers", log=self.log)
        return self


class BerthUser:
    """A user with a personal access token, and the registry tokens /token issues for it."""

    def __init__(self, berth: Berth, username: str = "alice"):
        self.berth = berth
        self.username = username
        self.pat = berth.manage("create_token", username, "--create-user",
                                "--scopes", "write:packages,delete:packages").strip()
        self._token: tuple[float, str] | None = None
        self.names: set[str] = set()

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.pat}".encode()).decode()

    def registry_token(self, names, actions: str = "pull,push") -> str:
        query = "&".join([f"service={self.berth.host}"] + [f"scope=repository:{n}:{actions}" for n in sorted(names)])
        req = urllib.request.Request(f"{self.berth.url}/token?{query}", headers={"Authorization": self.basic()})
        with urllib.request.urlopen(req, timeout=30) as response:
            return json.load(response)["token"]

    def headers(self) -> dict[str, str]:
        """Return a Bearer header for every bench repository, refreshed well before it expires."""
        now = time.monotonic()
        if self._token is None or now - self._token[0] > 300:
            self._token = (now, self.registry_token(self.names))
        return {"Authorization": f"Bearer {self._token[1]}"}


class Distribution:
    """Debian's docker-registry (CNCF distribution 2.8) with its own config.yml, on a free loopback port."""

    label = "distribution"

    def __init__(self, root: Path, storage: dict | None = None):
        self.root = root
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.log = root / "registry.log"
        self.config = root / "config.yml"
        self.storage = storage or {"filesystem": {"rootdirectory": str(root / "data")}}
        self.process: subprocess.Popen | None = None

    def start(self) -> "Distribution":
        self.root.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "info", "fields": {"service": "registry"}},
            "storage": {**self.storage, "cache": {"blobdescriptor": "inmemory"}, "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "berth-bench", "headers": {"X-Content-Type-Options": ["nosniff"]}},
        }
        # JSON is YAML: no YAML library needed.
        self.config.write_text(json.dumps(config, indent=2))
        binary = shutil.which(DISTRIBUTION)
        if binary is None:
            raise RuntimeError("docker-registry is not installed: apt-get install -y docker-registry")
        # The AWS SDK in distribution 2.8 panics on a custom CA bundle with a plain-HTTP endpoint.
        env = {key: value for key, value in os.environ.items() if key != "AWS_CA_BUNDLE"}
        self.process = subprocess.Popen([binary, "serve", str(self.config)], stdout=self.log.open("ab"),
                                        stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: self._alive() and http_up(f"{self.url}/v2/"), timeout=30, what="docker-registry",
                   log=self.log)
        return self

    def _alive(self) -> bool:
        exited(self.process, self.log, "docker-registry")
        return True

    def pids(self) -> list[int]:
        return [self.process.pid]

    def stop(self) -> None:
        _stop(self.process)


__all__ = ["Berth", "BerthUser", "Distribution", "Dockerd", "Postgres", "S3Server", "cpu_seconds", "free_port",
           "http_up", "process_tree", "rss_bytes", "wait_until"]
