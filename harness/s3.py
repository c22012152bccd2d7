"""moto's S3 API over real HTTP in its own process, for the tests and the benchmark."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

from harness.processes import exited, free_port, http_up, stop, wait_until

ACCESS_KEY = "berth-test-access-key"
SECRET_KEY = "berth-test-secret-key"
REGION = "us-east-1"


class S3Server:
    """moto's S3-compatible server on 127.0.0.1, as a separate process."""

    access_key, secret_key = ACCESS_KEY, SECRET_KEY
    bucket_prefix = "berth-"

    def __init__(self, log: Path, *, check_credentials: bool = False):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.check_credentials = check_credentials
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
                                                 aws_access_key_id=self.access_key,
                                                 aws_secret_access_key=self.secret_key)
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
        name = f"{self.bucket_prefix}{uuid.uuid4().hex[:12]}"
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
        stop(self.process, timeout=10)
