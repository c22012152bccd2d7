"""Helpers the tests of this package import (conftest.py keeps only fixtures)."""

import base64
import itertools
from dataclasses import dataclass

from tests.pgplugin import migrated_database
from tests.servers import BerthServer

_databases = itertools.count(1)


def basic_auth(username: str, password: str) -> str:
    """Return an Authorization header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


OWNER = "alice"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def start_berth(tmp_path_factory, *, workers: int = 2, threads: int = 4, **env) -> BerthServer:
    """Start Berth under gunicorn on a fresh (migrated) database; the caller stops it."""
    database = migrated_database(f"berth_live_{next(_databases)}")
    data_dir = tmp_path_factory.mktemp("berth-live")
    return BerthServer(database_url=database, data_dir=data_dir, env=env, workers=workers, threads=threads,
                       migrated=True).start()
