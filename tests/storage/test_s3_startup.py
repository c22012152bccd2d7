"""Start-up with S3 down: an outage is not a misconfiguration, so Berth starts and answers 503."""

import os
import signal

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from registry.storage.base import StoreUnreachable
from registry.storage.s3 import S3BlobStore
from tests.helpers import OWNER, start_berth
from tests.pgplugin import free_port
from tests.s3 import S3Server
from tests.servers import wait_until


def test_an_unreachable_endpoint_is_an_outage_and_a_missing_bucket_a_mistake(s3_settings):
    s3_settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnreachable):
        S3BlobStore().check()


def test_a_missing_bucket_is_not_called_an_outage(s3_settings):
    s3_settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket-here"
    with pytest.raises(ImproperlyConfigured) as raised:
        S3BlobStore().check()
    assert not isinstance(raised.value, StoreUnreachable)


@pytest.mark.e2e
def test_berth_starts_and_replaces_workers_while_s3_is_down(tmp_path, tmp_path_factory):
    down = S3Server(tmp_path / "moto.log")  # never started: nothing listens on its port
    env = {**down.env("berth-down"), "BERTH_S3_CONNECT_TIMEOUT": "1", "BERTH_S3_READ_TIMEOUT": "1"}
    server = start_berth(tmp_path_factory, workers=2, threads=2, **env)
    try:
        token = server.manage("create_token", OWNER, "--scopes", "write:packages", "--create-user").strip()
        children = f"/proc/{server.process.pid}/task/{server.process.pid}/children"
        first = open(children).read().split()
        os.kill(int(first[0]), signal.SIGKILL)  # gunicorn boots a replacement, which checks S3 again
        wait_until(lambda: len(set(open(children).read().split()) - set(first)) == 1, timeout=30,
                   what="a replacement worker", log=server.log)
        assert server.process.poll() is None, server.log.read_text()[-2000:]
        response = requests.post(f"{server.url}/v2/{OWNER}/app/blobs/uploads/?digest=sha256:{'0' * 64}",
                                 data=b"x", auth=(OWNER, token), timeout=30)
        assert response.status_code == 503, response.text
        assert response.json()["errors"][0]["code"] == "UNAVAILABLE" and response.headers["Retry-After"]
        assert "Starting anyway" in server.log.read_text()
    finally:
        server.stop()
