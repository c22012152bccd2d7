"""Run any Django-level tests on S3 storage: `pytest -p tests.s3_everywhere tests/packages_ui`.

A pytest plugin (opt-in, so the default run stays on the fast filesystem store): every test
gets a fresh bucket on the test S3 server and BERTH_STORAGE=s3, with blob GETs streamed
(BERTH_BLOB_REDIRECT off) so tests that read blobs through the test client see their bytes.

tests/registry needs no plugin: its conftest.py runs every API test on both stores by default
(ids ending in [filesystem] and [s3]); with this plugin both of those would run on S3.
"""

import pytest

from tests.s3 import s3_bucket, s3_server, s3_settings  # noqa: F401


@pytest.fixture(autouse=True)
def _s3_everywhere(request, _blob_dir):
    settings = request.getfixturevalue("s3_settings")
    settings.BERTH_BLOB_REDIRECT = False
