"""The helper processes a benchmark pass needs beside the registries: PostgreSQL, moto's S3, dockerd.

PostgreSQL and dockerd are the test harness's too (harness/); the benchmark imports nothing from
tests/, so either can change alone.
"""

import os
import subprocess
import sys
from pathlib import Path

import boto3
from botocore.config import Config

from harness import docker, postgres
from harness.processes import exited, free_port, http_up, stop, wait_until

S3_REGION = "us-east-1"

__all__ = ["Dockerd", "Postgres", "S3Server", "exited", "free_port", "http_up", "stop", "wait_until"]


class Postgres(postgres.Cluster):
    """A throwaway PostgreSQL cluster in a temporary folder on 127.0.0.1, one empty database per Berth."""

    def __init__(self):
        super().__init__(prefix="berth-bench-pg-")


class S3Server:
    """moto's S3-compatible server on 127.0.0.1, as a separate process."""

    access_key, secret_key = "berth-bench-access-key", "berth-bench-secret-key"

    def __init__(self, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> "S3Server":
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        wait_until(lambda: exited(self.process, self.log, "moto.server") or http_up(f"{self.url}/moto-api/"),
                   timeout=30, what="moto S3 server", log=self.log)
        return self

    def create_bucket(self) -> str:
        name = f"berth-bench-{os.urandom(6).hex()}"
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=self.url, region_name=S3_REGION, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=name)
        return name

    def env(self, bucket: str) -> dict[str, str]:
        """Environment variables that make a Berth process use bucket."""
        return {
            "BERTH_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": bucket,
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": S3_REGION,
            "BERTH_BLOB_REDIRECT": "true",
        }

    def stop(self) -> None:
        stop(self.process, timeout=10)


class Dockerd(docker.Dockerd):
    """A private docker daemon (vfs storage, no networking setup)."""

    def __init__(self):
        super().__init__(prefix="berth-bench-dockerd-")

    def start(self) -> "Dockerd":
        if os.geteuid() != 0:
            raise RuntimeError("dockerd needs root: run the docker part as root, or leave it out (--only)")
        return super().start()
