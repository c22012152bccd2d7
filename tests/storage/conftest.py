"""Fixtures of the blob store tests: a real S3 API over HTTP (moto's server mode)."""

from tests.s3 import s3_bucket, s3_server, s3_settings  # noqa: F401
