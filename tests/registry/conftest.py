"""Run every distribution API test on both blob stores: the filesystem and S3.

A test that uses the `api` client runs twice, with ids ending in [filesystem] and [s3]; on
S3 each run gets a fresh bucket on the test S3 server (moto's server mode, tests/s3.py),
with blob GETs streamed (BERTH_BLOB_REDIRECT off) so tests read blobs through the client.
Tests that don't touch the API (pure protocol helpers, error rendering) run once.
"""

import pytest

from tests.accounts.helpers import alice, alice_client, anonymous, client_for, make_user  # noqa: F401
from tests.s3 import s3_bucket, s3_server, s3_settings  # noqa: F401

BACKENDS = ("filesystem", "s3")


def pytest_generate_tests(metafunc):
    if "api" in metafunc.fixturenames:
        metafunc.parametrize("blob_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def blob_backend(request, _blob_dir) -> str:
    """The blob store a test runs on (BERTH_STORAGE); "filesystem" unless parametrized."""
    backend = getattr(request, "param", "filesystem")
    if backend == "s3":
        settings = request.getfixturevalue("s3_settings")
        settings.BERTH_BLOB_REDIRECT = False
    return backend
