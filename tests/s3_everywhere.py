"""Run any Django-level tests on S3 storage: `pytest -p tests.s3_everywhere tests/registry`.

A pytest plugin (opt-in, so the default run stays on the fast filesystem store): every test
gets a fresh bucket on the test S3 server and BERTH_STORAGE=s3, with blob GETs streamed
(BERTH_BLOB_REDIRECT off) so tests that read blobs through the test client see their bytes.

Tests that look into BERTH_DATA_DIR for blob or upload files (tests/registry/helpers.py's
blobs_stored and uploads_left) can't see S3: on 2026-11-24, 297 of tests/registry's 300 tests
passed this way and those 3 failed for that reason only.
"""

import pytest

from tests.s3 import s3_bucket, s3_server, s3_settings  # noqa: F401


@pytest.fixture(autouse=True)
def _s3_everywhere(request, _blob_dir):
    settings = request.getfixturevalue("s3_settings")
    settings.BERTH_BLOB_REDIRECT = False
