"""The helper processes a benchmark pass needs beside the registries: PostgreSQL, moto's S3, dockerd.

PostgreSQL, moto and dockerd are the test harness's too (harness/); the benchmark imports nothing from
tests/, so either can change alone.
"""

import os

from harness import docker, postgres, s3
from harness.processes import exited, free_port, http_up, stop, wait_until

__all__ = ["Dockerd", "Postgres", "S3Server", "exited", "free_port", "http_up", "stop", "wait_until"]


class Postgres(postgres.Cluster):
    """A throwaway PostgreSQL cluster in a temporary folder on 127.0.0.1, one empty database per Berth."""

    def __init__(self):
        super().__init__(prefix="berth-bench-pg-")


class S3Server(s3.S3Server):
    """moto's S3-compatible server on 127.0.0.1, as a separate process."""

    access_key, secret_key = "berth-bench-access-key", "berth-bench-secret-key"
    bucket_prefix = "berth-bench-"


class Dockerd(docker.Dockerd):
    """A private docker daemon (vfs storage, no networking setup)."""

    def __init__(self):
        super().__init__(prefix="berth-bench-dockerd-")

    def start(self) -> "Dockerd":
        if os.geteuid() != 0:
            raise RuntimeError("dockerd needs root: run the docker part as root, or leave it out (--only)")
        return super().start()
