"""A throwaway PostgreSQL cluster on 127.0.0.1, and empty databases on it."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.processes import free_port

PG_BIN_DIRS = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"]


class ToolMissing(RuntimeError):
    pass


def pg_tool(name: str) -> str:
    """Return the path of PostgreSQL's command-line tool name (initdb, pg_ctl)."""
    for directory in PG_BIN_DIRS:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise ToolMissing(f"PostgreSQL's {name} was not found; install postgresql (apt-get install postgresql)")


class Cluster:
    """A PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 only, tuned for speed over safety."""

    def __init__(self, prefix: str = "berth-pg-"):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.port = free_port()
        self.user = "postgres"

    def run_as_owner(self, args: list[str]) -> None:
        # initdb and postgres refuse to run as root; use a plain user when we are root.
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "nobody", str(self.root)], check=True)
            args = ["runuser", "-u", "nobody", "--", *args]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> "Cluster":
        self.run_as_owner([pg_tool("initdb"), "-D", str(self.root / "data"), "-U", self.user, "-A", "trust",
                           "-E", "UTF8", "--no-sync"])
        self.resume()
        return self

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

    def database(self, name: str) -> str:
        """Create an empty database called name (dropping one of that name) and return its URL."""
        return create_database(self.url(), name)


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Create a database called name on the server of server_url (any database's URL); return its URL.

    It is empty, or a copy of the database template (which nothing may be connected to).
    """
    import psycopg2

    base, _, _ = server_url.rpartition("/")
    connection = psycopg2.connect(f"{base}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    connection.close()
    return f"{base}/{name}"
