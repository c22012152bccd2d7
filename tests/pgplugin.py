"""Start a throwaway PostgreSQL cluster before Django is set up, for the whole test run.

Loaded with `-p tests.pgplugin` (see pyproject.toml) so DATABASE_URL is in place before
pytest-django imports the settings. Set BERTH_TEST_DATABASE_URL to use a running server
instead; set BERTH_TEST_SQLITE=1 to run on SQLite, which skips the tests marked postgresql.
"""

import os

import pytest

from harness import postgres
from harness.berth import manage
from harness.postgres import Cluster
from harness.processes import free_port

__all__ = ["Cluster", "create_database", "free_port", "migrated_database"]

_cluster: Cluster | None = None
_template: str | None = None  # a database migrated once per run, copied by migrated_database


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
    try:
        _cluster.start()
    except postgres.ToolMissing as missing:
        raise pytest.UsageError(f"{missing}, or set BERTH_TEST_DATABASE_URL to a server the tests may use") from None
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
    return postgres.create_database(os.environ["DATABASE_URL"], name)


def migrated_database(name: str) -> str:
    """Create a database with every migration applied on the test server and return its URL.

    The first call migrates a template with manage.py; every database after it is a copy of it,
    which takes PostgreSQL a fraction of a second instead of the seconds migrate spends on each
    live server's empty database.
    """
    global _template
    if _template is None:
        url = create_database("berth_migrated_template")
        manage({**os.environ, "DATABASE_URL": url}, "migrate", "--noinput", "-v0")
        _template = "berth_migrated_template"
    return postgres.create_database(os.environ["DATABASE_URL"], name, template=_template)
