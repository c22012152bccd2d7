"""The helper processes a benchmark pass needs beside the registries: PostgreSQL, moto's S3, dockerd.

The benchmark owns these rather than borrowing the test harness, so either can change alone.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

PG_BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]
S3_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _pg_tool(name: str) -> str:
    for directory in PG_BIN_DIRS:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"PostgreSQL's {name} was not found: apt-get install postgresql")


class Postgres:
    """A throwaway PostgreSQL cluster in a temporary folder on 127.0.0.1, one empty database per Berth."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="berth-bench-pg-"))
        self.port = free_port()
        self.user = "postgres"

    def _run_as_owner(self, args: list[str]) -> None:
        # initdb and postgres refuse to run as root; use a plain user when we are root.
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody", str(self.root)], check=True)
            args = ["runuser", "-u", "nobody", "--", *args]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "Postgres":
        data = self.root / "data"
        self._run_as_owner([_pg_tool("initdb"), "-D", str(data), "-U", self.user, "-A", "trust",
                            "-E", "UTF8", "--no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self._run_as_owner([_pg_tool("pg_ctl"), "-D", str(data), "-o", options, "-l",
                            str(self.root / "log"), "-w", "start"])
        return self

    def url(self, database: str) -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"

    def database(self, name: str) -> str:
        import psycopg2

        connection = psycopg2.connect(self.url("postgres"))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        connection.close()
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run_as_owner([_pg_tool("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class S3Server:
    """moto's S3-compatible server on 127.0.0.1, as a separate process."""

    access_key, secret_key = "berth-bench-access-key", "berth-bench-secret-key"

    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: exited(self.process, self.log, "moto.server") or http_up(f"{self.url}/moto-api/"),
                   timeout=30, what="moto S3 server", log=self.log)
        return self

    def create_bucket(self) -> str:
        name = f"berth-bench-{os.urandom(6).hex()}"
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=self.url, region_name=S3_REGION, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict[str, str]:
        """Environment variables that make a Berth process use bucket."""
        return {
            "BERTH_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": S3_REGION,
            "BERTH_BLOB_REDIRECT": "true",
        }

    def stop(self) -> None:
        stop(self.process, timeout=10)


class Dockerd:
    """A private docker daemon (vfs storage, no networking setup)."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="berth-bench-dockerd-"))
        self.host = f"unix://{self.root}/docker.sock"
        self.process: subprocess.Popen | None = None
        self.log = self.root / "dockerd.log"
        self.config = self.root / "config"
        self.config.mkdir()

    def start(self) -> "Dockerd":
        if os.geteuid() != 0:
            raise RuntimeError("dockerd needs root: run the docker part as root, or leave it out (--only)")
        self.process = subprocess.Popen(
            ["dockerd", "--storage-driver=vfs", "--iptables=false", "--ip-masq=false", "--bridge=none",
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
            raise RuntimeError(f"docker {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout.decode(errors='replace')}\n{result.stderr.decode(errors='replace')}")
        return result

    def stop(self) -> None:
        stop(self.process, timeout=20)
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
