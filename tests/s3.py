"""An S3 API over real HTTP for the tests: moto's server mode in its own process.

`S3Server` starts `python -m moto.server` on a free port; `s3_server` (session) shares one,
`s3_bucket` makes a fresh bucket per test and `s3_settings` points Django's settings at it.
Import the fixtures into a conftest.py: `from tests.s3 import s3_bucket, s3_server, s3_settings`.
"""

import pytest

from harness.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Server", "bucket_objects", "open_multipart_uploads", "s3_bucket",
           "s3_server", "s3_settings"]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    server = S3Server(tmp_path_factory.mktemp("moto") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server) -> str:
    return s3_server.create_bucket()


@pytest.fixture
def s3_settings(settings, s3_server, s3_bucket):
    """Django settings pointing at a fresh bucket on the test S3 server (redirects on)."""
    settings.BERTH_STORAGE = "s3"
    settings.AWS_STORAGE_BUCKET_NAME = s3_bucket
    settings.AWS_S3_ENDPOINT_URL = s3_server.url
    settings.AWS_ACCESS_KEY_ID = s3_server.access_key
    settings.AWS_SECRET_ACCESS_KEY = s3_server.secret_key
    settings.AWS_S3_REGION_NAME = REGION
    settings.BERTH_BLOB_REDIRECT = True
    return settings


def bucket_objects(server: S3Server, bucket: str) -> dict[str, int]:
    """Return every object in bucket with its size."""
    pages = server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


def open_multipart_uploads(server: S3Server, bucket: str) -> list[str]:
    return [u["UploadId"] for u in server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
