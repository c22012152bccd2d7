"""Stop PostgreSQL, then S3, under clients pulling and pushing: 503 with Retry-After while down, no failures after.

Each test runs its own Berth under gunicorn (2 workers x 4 threads) on servers it may stop: a
second PostgreSQL cluster, and its own moto S3 server.
"""

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass

import psycopg2
import pytest
import requests

from tests.pgplugin import Cluster
from tests.s3 import S3Server
from tests.servers import BerthServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

OWNER = "alice"
REPO = f"{OWNER}/app"
CLIENTS = 8  # as many as the server has threads, so every thread holds a database connection
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    """Plain HTTP against one Berth as OWNER: Basic with a personal access token, Bearer for pulls."""

    def __init__(self, server: BerthServer):
        self.url = server.url
        self.auth = (OWNER, server.manage("create_token", OWNER, "--scopes", "write:packages,delete:packages",
                                          "--create-user", "--note", "outage tests").strip())
        response = requests.get(f"{self.url}/token", params={"scope": f"repository:{REPO}:pull"}, auth=self.auth,
                                timeout=30)
        response.raise_for_status()
        self.bearer = {"Authorization": f"Bearer {response.json()['token']}"}

    def push_blob(self, session: requests.Session, data: bytes) -> requests.Response:
        return session.post(f"{self.url}/v2/{REPO}/blobs/uploads/", params={"digest": digest_of(data)}, data=data,
                            auth=self.auth, headers={"Content-Type": "application/octet-stream"}, timeout=60)

    def push_image(self, tag: str, layer: bytes) -> str:
        """Push a one-layer image; return its layer's digest."""
        # A config of its own: after S3 lost its objects, one the database knows would not be stored again.
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": {"tag": tag}},
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        with requests.Session() as session:
            for blob in (config, layer):
                response = self.push_blob(session, blob)
                assert response.status_code == 201, response.text
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": digest_of(config), "size": len(config)},
                "layers": [{"mediaType": LAYER_TYPE, "digest": digest_of(layer), "size": len(layer)}],
            }).encode()
            response = session.put(f"{self.url}/v2/{REPO}/manifests/{tag}", data=manifest, auth=self.auth,
                                   headers={"Content-Type": MANIFEST_TYPE}, timeout=60)
            assert response.status_code == 201, response.text
        return digest_of(layer)

    def pull(self, session: requests.Session, record, tag: str, layer: str, *, blob_first: bool = False) -> None:
        """Pull as docker does: the manifest (the fast path answers it), then a blob (the full stack)."""
        sends = [
            ("manifest", lambda: session.get(f"{self.url}/v2/{REPO}/manifests/{tag}", timeout=60,
                                             headers={**self.bearer, "Accept": MANIFEST_TYPE})),
            ("blob", lambda: session.get(f"{self.url}/v2/{REPO}/blobs/{layer}", headers=self.bearer, timeout=60)),
        ]
        for what, send in reversed(sends) if blob_first else sends:
            record(what, send)


@dataclass(frozen=True)
class Outcome:
    what: str
    started: float
    finished: float
    status: int | None  # None: no HTTP answer at all
    code: str | None = None
    retry_after: str | None = None
    problem: str | None = None

    @classmethod
    def of(cls, what: str, started: float, response: requests.Response) -> "Outcome":
        finished, code = time.monotonic(), None
        if response.status_code >= 400:
            try:
                code = response.json()["errors"][0]["code"]
            except (ValueError, KeyError, IndexError):
                return cls(what, started, finished, response.status_code, problem=response.text[:300])
        return cls(what, started, finished, response.status_code, code, response.headers.get("Retry-After"))

    @property
    def unavailable(self) -> bool:
        return self.status == 503 and self.code == "UNAVAILABLE" and (self.retry_after or "").isdigit()


class Loop:
    """CLIENTS threads, each on its own keep-alive connection, repeating step(session, record) until stopped."""

    def __init__(self, step):
        self.step = step
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def run(self) -> None:
        with requests.Session() as session:
            while not self.done.is_set():
                self.step(session, self.record)

    def record(self, what: str, send) -> None:
        """Send one request and keep its outcome, a connection error included."""
        started = time.monotonic()
        try:
            outcome = Outcome.of(what, started, send())
        except requests.RequestException as error:
            outcome = Outcome(what, started, time.monotonic(), None, problem=repr(error))
        with self.lock:
            self.outcomes.append(outcome)

    def __enter__(self) -> "Loop":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=120)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        """Wait until count more outcomes are in."""
        goal, deadline = len(self.outcomes) + count, time.monotonic() + timeout
        while len(self.outcomes) < goal:
            assert time.monotonic() < deadline, f"only {len(self.outcomes)} of {goal} requests answered"
            time.sleep(0.05)

    def since(self, start: float) -> list[Outcome]:
        """Return the outcomes of requests sent from start on."""
        with self.lock:
            return [o for o in self.outcomes if o.started >= start]

    def within(self, start: float, end: float) -> list[Outcome]:
        """Return the outcomes of requests sent from start on and answered by end."""
        with self.lock:
            return [o for o in self.outcomes if o.started >= start and o.finished <= end]


def assert_no_failure(outcomes: list[Outcome], allowed=(200, 201)) -> None:
    failures = [o for o in outcomes if o.status not in allowed and not o.unavailable]
    assert not failures, failures[:10]


@pytest.fixture
def cluster():
    cluster = Cluster()
    cluster.start()
    connection = psycopg2.connect(cluster.url("postgres"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CREATE DATABASE berth")
    connection.close()
    yield cluster
    cluster.stop()


def start_server(tmp_path, database_url: str, **env) -> BerthServer:
    # LOG_LEVEL=WARNING keeps the access log and the outage warnings out of a much shorter log.
    return BerthServer(database_url=database_url, data_dir=tmp_path / "berth", workers=2, threads=4,
                       env={"LOG_LEVEL": "WARNING", **env}).start()


def test_postgresql_restart_and_outage_under_a_pull_loop(cluster, tmp_path):
    server = start_server(tmp_path, cluster.url())
    try:
        registry = Registry(server)
        layer = registry.push_image("v1", os.urandom(2048))

        def pull(session, record):
            registry.pull(session, record, "v1", layer)

        def pull_blob_first(session, record):
            registry.pull(session, record, "v1", layer, blob_first=True)

        # A restart between requests breaks every thread's persistent connection, and none of the
        # requests after it may fail on one: first the full stack's (a blob GET first on every
        # connection), then the manifest fast path's.
        for step in (pull_blob_first, pull):
            with Loop(pull) as loop:
                loop.wait_for(20 * CLIENTS)
            cluster.pause()
            cluster.resume()
            restarted = time.monotonic()
            with Loop(step) as loop:
                loop.wait_for(20 * CLIENTS)
            after = loop.since(restarted)
            assert len(after) >= 20 * CLIENTS
            assert all(o.status == 200 for o in after), (step.__name__, [o for o in after if o.status != 200][:10])

        # An outage under the loop: 503 UNAVAILABLE with Retry-After while it's down, then no failures.
        with Loop(pull) as loop:
            loop.wait_for(4 * CLIENTS)
            cluster.pause()
            down = time.monotonic()
            loop.wait_for(10 * CLIENTS)
            token = requests.get(f"{server.url}/token", params={"scope": f"repository:{REPO}:pull"},
                                 auth=registry.auth, timeout=30)
            page = requests.get(f"{server.url}/packages", timeout=30)
            back = time.monotonic()
            cluster.resume()
            up = time.monotonic()
            loop.wait_for(20 * CLIENTS)
        assert_no_failure(loop.outcomes)
        during = loop.within(down, back)
        assert len(during) >= 5 * CLIENTS  # what was in flight at either end doesn't count
        assert all(o.unavailable for o in during), [o for o in during if not o.unavailable][:10]
        assert Outcome.of("token", down, token).unavailable, token.text
        assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
        assert "Berth is unavailable for a moment" in page.text
        after = loop.since(up)
        assert len(after) >= 10 * CLIENTS
        assert all(o.status == 200 for o in after), [o for o in after if o.status != 200][:10]
    finally:
        server.stop()
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]


def test_s3_outage_under_a_pull_and_push_loop(cluster, tmp_path):
    s3 = S3Server(tmp_path / "moto.log").start()
    bucket = s3.create_bucket()
    server = start_server(tmp_path, cluster.url(), **s3.env(bucket, redirect=False))
    try:
        registry = Registry(server)
        current = {"tag": "v1", "layer": registry.push_image("v1", os.urandom(2048))}

        def pull_and_push(session, record):
            registry.pull(session, record, current["tag"], current["layer"])
            record("push", lambda: registry.push_blob(session, os.urandom(1024)))

        with Loop(pull_and_push) as loop:
            loop.wait_for(4 * CLIENTS)
            s3.stop()
            down = time.monotonic()
            loop.wait_for(6 * CLIENTS, timeout=120)
            back = time.monotonic()
        # Manifests live in the database: only blob reads and pushes need S3.
        during = loop.within(down, back)
        stored = [o for o in during if o.what != "manifest"]
        assert stored and all(o.unavailable for o in stored), [o for o in stored if not o.unavailable][:10]
        assert all(o.status == 200 for o in during if o.what == "manifest")
        assert_no_failure(loop.outcomes)

        # moto comes back on its port with nothing in it: the same bucket, empty, and Berth carries on.
        stopped, s3 = s3, S3Server(s3.log)
        s3.port, s3.url = stopped.port, stopped.url
        s3.start()
        s3.client().create_bucket(Bucket=bucket)
        current.update(tag="v2", layer=registry.push_image("v2", os.urandom(2048)))
        up = time.monotonic()
        with Loop(pull_and_push) as loop:
            loop.wait_for(20 * CLIENTS)
        after = loop.since(up)
        assert len(after) >= 20 * CLIENTS
        assert all(o.status in (200, 201) for o in after), [o for o in after if o.status not in (200, 201)][:10]
    finally:
        server.stop()
        s3.stop()
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
