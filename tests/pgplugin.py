"""Start a throwaway PostgreSQL cluster before Django is set up, for the whole test run.

Loaded with `-p tests.pgplugin` (see pyproject.toml) so DATABASE_URL is in place before
pytest-django imports the settings. Set BERTH_TEST_DATABASE_URL to use a running server
instead; set BERTH_TEST_SQLITE=1 to run on SQLite, which skips the tests marked postgresql.
"""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_tool(name: str) -> str:
    for directory in PG_BIN_DIRS:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise pytest.UsageError(
        f"PostgreSQL's {name} was not found; install postgresql (apt-get install postgresql) "
        "or set BERTH_TEST_DATABASE_URL to a server the tests may use"
    )


class Cluster:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="berth-pg-"))
        self.port = free_port()
        self.user = "postgres"

    def run_as_owner(self, args: list[str]) -> None:
        # initdb and postgres refuse to run as root; use a plain user when we are root.
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody", str(self.root)], check=True)
            args = ["runuser", "-u", "nobody", "--", *args]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        self.run_as_owner([pg_tool("initdb"), "-D", str(self.root / "data"), "-U", self.user, "-A", "trust",
                           "-E", "UTF8", "--no-sync"])
        self.resume()

    def pause(self) -> None:
        """Stop the server as an administrator does (-m fast ends every session), keeping its data."""
        self.run_as_owner([pg_tool("pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        """Start the server on its data and port, and wait until it accepts connections."""
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        self.run_as_owner([pg_tool("pg_ctl"), "-D", str(self.root / "data"), "-o", options, "-l",
                           str(self.root / "log"), "-w", "start"])

    def stop(self) -> None:
        try:
            self.run_as_owner([pg_tool("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "berth") -> str:
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"


_cluster: Cluster | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _cluster
    os.environ.setdefault("SECRET_KEY", "berth-test-secret-key-not-for-production")
    if os.environ.get("BERTH_TEST_SQLITE"):
        os.environ.pop("DATABASE_URL", None)
        return
    if os.environ.get("BERTH_TEST_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BERTH_TEST_DATABASE_URL"]
        return
    _cluster = Cluster()
    _cluster.start()
    os.environ["DATABASE_URL"] = _cluster.url()


def pytest_collection_modifyitems(config, items):
    """On SQLite, skip the tests marked postgresql: they exercise what only PostgreSQL has."""
    if not os.environ.get("BERTH_TEST_SQLITE"):
        return
    for item in items:
        marker = item.get_closest_marker("postgresql")
        if marker is not None:
            why = marker.kwargs.get("reason", "it needs PostgreSQL")
            item.add_marker(pytest.mark.skip(reason=f"BERTH_TEST_SQLITE=1 runs on SQLite; {why}"))


def pytest_unconfigure(config):
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        _cluster = None


def create_database(name: str) -> str:
    """Create an empty database on the test server and return its URL (for live servers)."""
    import psycopg2

    url = os.environ["DATABASE_URL"]
    base, _, _ = url.rpartition("/")
    connection = psycopg2.connect(f"{base}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return f"{base}/{name}"
