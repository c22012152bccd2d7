"""/-/health, /-/ready and /metrics on Berth under gunicorn (two workers) and a worker, on a cluster they may stop."""

import hashlib
import json
import subprocess
import sys
import threading
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.events.helpers import Worker
from tests.events.receiver import Receiver
from tests.pgplugin import Cluster
from tests.servers import ROOT, BerthServer

pytestmark = pytest.mark.postgresql(reason="stops a PostgreSQL cluster of its own")
OWNER = "alice"
METRICS_TOKEN = "metrics-token-for-the-tests"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def cluster():
    server = Cluster()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def live(cluster, tmp_path_factory):
    import psycopg2

    connection = psycopg2.connect(cluster.url("postgres"))
    connection.autocommit = True
    connection.cursor().execute("CREATE DATABASE berth")
    connection.close()
    server = BerthServer(database_url=cluster.url(), data_dir=tmp_path_factory.mktemp("berth-metrics"),
                         env={"BERTH_WEBHOOK_ALLOW_PRIVATE": "true", "BERTH_METRICS_TOKEN": METRICS_TOKEN,
                              "BERTH_WEBHOOK_RETRY_BASE": "0.2", "BERTH_WORKER_POLL_INTERVAL": "0.1"})
    server.start()
    yield server
    server.stop()


def samples(server: BerthServer) -> dict[tuple, float]:
    """Return /metrics as {(sample name, sorted labels): value}."""
    response = requests.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def requests_counted(server, route, method, status) -> float:
    key = ("berth_http_requests_total", (("method", method), ("route", route), ("status", status)))
    return samples(server).get(key, 0)


def test_metrics_need_the_token(live):
    assert requests.get(f"{live.url}/metrics", timeout=10).status_code == 401
    wrong = requests.get(f"{live.url}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401


def test_requests_are_counted_across_gunicorn_workers(live):
    before = requests_counted(live, "v2", "GET", "401")
    for _ in range(12):  # spread over both workers by their connections
        assert requests.get(f"{live.url}/v2/", timeout=10).status_code == 401
    assert requests_counted(live, "v2", "GET", "401") == before + 12
    histogram = samples(live)
    assert histogram[("berth_http_request_duration_seconds_count", (("method", "GET"), ("route", "v2")))] >= 12


def test_a_push_and_fast_path_pulls_are_counted_and_deliver_a_webhook(live, tmp_path):
    token = live.manage("create_token", OWNER, "--scopes", "write:packages", "--create-user").strip()
    receiver = Receiver().start()
    worker = Worker(live.env, tmp_path / "worker.log").start()
    try:
        live.manage("add_webhook", OWNER, receiver.url, "--secret", "s")
        before = samples(live)
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
                            ).encode()
        layer = b"a layer of bytes" * 1000
        for blob in (config, layer):
            response = requests.post(f"{live.url}/v2/{OWNER}/app/blobs/uploads/", params={"digest": digest_of(blob)},
                                     data=blob, auth=(OWNER, token), timeout=30)
            assert response.status_code == 201, response.text
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config),
            "size": len(config)}, "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                              "digest": digest_of(layer), "size": len(layer)}]}).encode()
        response = requests.put(f"{live.url}/v2/{OWNER}/app/manifests/v1", data=manifest, auth=(OWNER, token),
                                headers={"Content-Type": MANIFEST_TYPE}, timeout=30)
        assert response.status_code == 201, response.text
        bearer = requests.get(f"{live.url}/token", params={"scope": f"repository:{OWNER}/app:pull"},
                              auth=(OWNER, token), timeout=30).json()["token"]
        for _ in range(3):  # the fast path answers the later ones, in front of Django
            pull = requests.get(f"{live.url}/v2/{OWNER}/app/manifests/v1", timeout=10,
                                headers={"Authorization": f"Bearer {bearer}", "Accept": MANIFEST_TYPE})
            assert pull.status_code == 200

        (delivery,) = receiver.wait_for(1)
        assert delivery.json["type"] == "dev.berth.package.published"
        delivered = ("berth_webhook_deliveries_total", (("result", "delivered"),))
        deadline = time.monotonic() + 10
        while delivered not in (after := samples(live)) and time.monotonic() < deadline:
            time.sleep(0.1)  # the worker counts once the receiver has answered
    finally:
        worker.stop()
        receiver.stop()

    def grew(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("berth_http_requests_total", route="manifests", method="GET", status="200") == 3
    assert grew("berth_http_requests_total", route="manifests", method="PUT", status="201") == 1
    assert grew("berth_http_requests_total", route="uploads", method="POST", status="201") == 2
    assert grew("berth_http_received_bytes_total", route="uploads") == len(config) + len(layer)
    assert grew("berth_http_sent_bytes_total", route="manifests") == 3 * len(manifest)
    assert after[("berth_uploads_in_progress", ())] == 0
    assert after[("berth_webhook_deliveries_total", (("result", "delivered"),))] == 1


def test_an_upload_is_in_progress_while_its_body_arrives(live):
    token = live.manage("create_token", "uploader", "--scopes", "write:packages", "--create-user").strip()
    started = requests.post(f"{live.url}/v2/uploader/app/blobs/uploads/", auth=("uploader", token), timeout=30)
    assert started.status_code == 202, started.text
    location = requests.compat.urljoin(live.url, started.headers["Location"])
    halfway, answered = threading.Event(), []

    def body():
        yield b"first half of the chunk"
        halfway.wait(20)
        yield b"second half of the chunk"

    def send():
        answered.append(requests.patch(location, data=body(), auth=("uploader", token), timeout=60,
                                       headers={"Content-Type": "application/octet-stream"}))

    in_progress = ("berth_uploads_in_progress", ())
    sender = threading.Thread(target=send)
    sender.start()
    try:
        deadline = time.monotonic() + 20
        while samples(live).get(in_progress) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert samples(live).get(in_progress) == 1
    finally:
        halfway.set()
        sender.join(60)
    assert answered and answered[0].status_code == 202, answered and answered[0].text
    assert samples(live)[in_progress] == 0


def test_ready_answers_503_while_the_database_is_stopped(live, cluster):
    assert requests.get(f"{live.url}/-/ready", timeout=10).json() == {"status": "ready"}
    assert healthcheck(live.port) == 0
    cluster.pause()
    try:
        response = requests.get(f"{live.url}/-/ready", timeout=20)
        assert response.status_code == 503
        assert "database" in response.json()["problems"]
        assert response.headers["Retry-After"].isdigit()
        assert healthcheck(live.port) == 1
        assert requests.get(f"{live.url}/-/health", timeout=10).status_code == 200
    finally:
        cluster.resume()
    assert requests.get(f"{live.url}/-/ready", timeout=20).status_code == 200


def healthcheck(port: int) -> int:
    """Return the exit status of the production image's HEALTHCHECK against port."""
    import os

    return subprocess.run([sys.executable, "config/healthcheck.py"], cwd=ROOT, timeout=30,
                          env={**os.environ, "PORT": str(port)}).returncode
