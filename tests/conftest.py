"""Fixtures shared by every test: blobs in a temporary folder, live servers, docker."""

import itertools
from dataclasses import dataclass

import pytest

from tests.pgplugin import create_database
from tests.servers import BerthServer, Dockerd

_databases = itertools.count(1)


@pytest.fixture(autouse=True)
def _blob_dir(settings, tmp_path):
    """Keep each test's blobs and uploads in its own folder."""
    settings.BERTH_DATA_DIR = tmp_path / "data"


@pytest.fixture
def api(client):
    """The Django test client, for HTTP-level tests of the distribution API.

    It acts as OWNER, the user who owns every package these tests push (OWNER/...).
    """
    return client


OWNER = "alice"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def start_berth(tmp_path_factory, **env) -> BerthServer:
    """Start Berth under gunicorn on a fresh database; the caller stops it."""
    database = create_database(f"berth_live_{next(_databases)}")
    data_dir = tmp_path_factory.mktemp("berth-live")
    return BerthServer(database_url=database, data_dir=data_dir, env=env).start()


@pytest.fixture(scope="session")
def berth(tmp_path_factory):
    """One Berth server under gunicorn for the end-to-end tests of a run."""
    server = start_berth(tmp_path_factory)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dockerd():
    """A private docker daemon for the run."""
    daemon = Dockerd()
    try:
        yield daemon.start()
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def owner(berth) -> Credentials:
    """The user end-to-end tests log in and push as (to OWNER/...) on the session server."""
    return Credentials(OWNER, "no-accounts-yet")
