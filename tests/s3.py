"""An S3 API over real HTTP for the tests: moto's server mode in its own process.

`S3Server` starts `python -m moto.server` on a free port; `s3_server` (session) shares one,
`s3_bucket` makes a fresh bucket per test and `s3_settings` points Django's settings at it.
Import the fixtures into a conftest.py: `from tests.s3 import s3_bucket, s3_server, s3_settings`.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.pgplugin import free_port
from tests.servers import exited, http_up, wait_until

ACCESS_KEY = "berth-test-access-key"
SECRET_KEY = "berth-test-secret-key"
REGION = "us-east-1"


class S3Server:
    """moto's S3-compatible server on 127.0.0.1, as a separate process."""

    def __init__(self, log: Path, *, check_credentials: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.check_credentials = check_credentials
        self.access_key, self.secret_key = ACCESS_KEY, SECRET_KEY
        self.process: subprocess.Popen | None = None
        self._client = None

    def start(self) -> "S3Server":
        env = dict(os.environ)
        if self.check_credentials:
            # moto checks signatures against its IAM after this many requests: the three below.
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, env=env,
        )
        wait_until(self.ready, timeout=30, what="moto S3 server", log=self.log)
        if self.check_credentials:
            iam = boto3.session.Session().client("iam", endpoint_url=self.url, region_name=REGION,
                                                 aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
            iam.create_user(UserName="berth")
            iam.put_user_policy(UserName="berth", PolicyName="s3", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="berth")["AccessKey"]
            self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        return self

    def ready(self) -> bool:
        exited(self.process, self.log, "moto.server")
        return http_up(f"{self.url}/moto-api/")

    def client(self):
        """Return the server's S3 client, made once: a new one costs about 0.1 s (every test makes a bucket)."""
        if self._client is None:
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.url, region_name=REGION, aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
            )
        return self._client

    def create_bucket(self) -> str:
        name = f"berth-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, *, redirect: bool = True) -> dict[str, str]:
        """Environment variables that make a Berth process use bucket."""
        return {
            "BERTH_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": REGION,
            "BERTH_BLOB_REDIRECT": "true" if redirect else "false",
        }

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


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
