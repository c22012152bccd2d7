"""One upload's PATCHes spread over app servers and workers read nothing back from the store.

Two gunicorn servers, one worker each, share a PostgreSQL database and a store (one data folder,
or one bucket behind a byte-counting proxy). Each PATCH lands in a process that never saw the
upload's earlier bytes, so it must continue the hash from the state saved in the upload's row.
What the store reads back is counted from outside the servers (tests/storage/byte_counter.py):
a test of work done, not of time. Without the saved state, every PATCH re-read the whole upload.
"""

import hashlib
import os
import signal
import uuid
from dataclasses import dataclass

import pytest
import requests

from tests.helpers import OWNER
from tests.pgplugin import migrated_database
from tests.servers import BerthServer, http_up, wait_until
from tests.storage.byte_counter import CountingProxy, rchar, worker_pids

pytestmark = pytest.mark.postgresql(reason="the app servers share one database on the test PostgreSQL server")

MiB = 1024 * 1024
KiB = 1024
FALLBACK_LOG = "re-deriving its"  # what registry.services.hashing logs when it reads an upload back


@dataclass
class Cluster:
    backend: str
    servers: list[BerthServer]
    auth: tuple[str, str]
    proxy: CountingProxy | None

    def session(self) -> requests.Session:
        session = requests.Session()
        session.auth = self.auth
        return session

    def bytes_read(self) -> int:
        """Bytes the store has handed the app servers so far (see the module docstring)."""
        if self.proxy:
            return self.proxy.received
        return rchar(pid for server in self.servers for pid in worker_pids(server))

    def logs(self) -> str:
        return "".join(server.log.read_text(errors="replace") for server in self.servers)


@pytest.fixture(scope="module", params=["filesystem", "s3"])
def cluster(request, tmp_path_factory):
    backend, proxy = request.param, None
    env = {"BERTH_DATA_DIR": str(tmp_path_factory.mktemp("shared-store"))}
    if backend == "s3":
        s3_server = request.getfixturevalue("s3_server")
        proxy = CountingProxy(s3_server.port)
        env = {**s3_server.env(s3_server.create_bucket(), redirect=False), "AWS_S3_ENDPOINT_URL": proxy.url}
    database = migrated_database(f"berth_x_{uuid.uuid4().hex[:8]}")
    servers = []
    try:
        for _ in range(2):
            server = BerthServer(database_url=database, data_dir=tmp_path_factory.mktemp("berth-x"), env=env,
                                 workers=1, threads=4, migrated=True)
            servers.append(server.start())
        token = servers[0].manage("create_token", OWNER, "--scopes", "write:packages,delete:packages",
                                  "--create-user", "--note", "cross-server tests").strip()
        found = Cluster(backend, servers, (OWNER, token), proxy)
        for server in servers:
            warm_up(found, server)
        yield found
    finally:
        for server in servers:
            server.stop()
        if proxy:
            proxy.stop()


def pattern(size: int, seed: int) -> bytes:
    """Incompressible-looking bytes, different for every seed."""
    out, counter = bytearray(), 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


def warm_up(cluster: Cluster, server: BerthServer) -> None:
    """Push and fetch a blob in two PATCHes, so the worker has imported everything an upload needs."""
    data = pattern(100 * KiB, seed=server.port)
    push(cluster, [server, server], [data[:50 * KiB], data[50 * KiB:]], finish_on=server, name=f"{OWNER}/warm")
    cluster.session().get(f"{server.url}/v2/{OWNER}/warm/blobs/sha256:{hashlib.sha256(data).hexdigest()}")


def push(cluster: Cluster, route: list[BerthServer], chunks: list[bytes], *, finish_on: BerthServer,
         name: str, between=None) -> str:
    """PATCH chunk n to route[n] with Content-Range, then PUT on finish_on; return the digest."""
    data = b"".join(chunks)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    response = cluster.session().post(f"{route[0].url}/v2/{name}/blobs/uploads/", timeout=60)
    assert response.status_code == 202, response.text
    location, offset = response.headers["Location"], 0
    for number, (server, chunk) in enumerate(zip(route, chunks, strict=True)):
        headers = {"Content-Range": f"{offset}-{offset + len(chunk) - 1}", "Content-Type": "application/octet-stream"}
        response = cluster.session().patch(server.url + location, data=chunk, headers=headers, timeout=120)
        assert response.status_code == 202, response.text
        offset += len(chunk)
        assert response.headers["Range"] == f"0-{offset - 1}"
        if between:
            between(number)
    response = cluster.session().put(f"{finish_on.url}{location}?digest={digest}", timeout=120)
    assert response.status_code == 201, response.text
    return digest


def fetched_digest(cluster: Cluster, server: BerthServer, name: str, digest: str) -> str:
    response = cluster.session().get(f"{server.url}/v2/{name}/blobs/{digest}", timeout=120)
    assert response.status_code == 200, response.text
    return "sha256:" + hashlib.sha256(response.content).hexdigest()


ALIGNED = [8 * MiB, 8 * MiB, 16 * MiB, 8 * MiB, 3 * MiB]  # whole S3 parts, then a tail
UNALIGNED = [3 * MiB, 6 * MiB, 100 * KiB, 9 * MiB, 1 * MiB + 7]


@pytest.mark.parametrize("sizes", [ALIGNED, UNALIGNED], ids=["whole-parts", "any-sizes"])
def test_patches_alternating_between_app_servers_read_nothing_back(cluster, sizes):
    a, b = cluster.servers
    chunks = [pattern(size, seed) for seed, size in enumerate(sizes)]
    name = f"{OWNER}/alternating-{len(sizes)}-{sizes[0]}"
    before = cluster.bytes_read()
    route = [a, b] * len(chunks)
    digest = push(cluster, route[:len(chunks)], chunks, finish_on=route[len(chunks)], name=name)
    read = cluster.bytes_read() - before
    print(f"\n{cluster.backend}: {sum(sizes) / MiB:.1f} MiB pushed in {len(sizes)} PATCHes over two servers, "
          f"{read / KiB:.0f} KiB read back")
    # The old per-worker hash re-read the whole upload on every PATCH: here over 40 MiB.
    if cluster.backend == "s3" and sizes is UNALIGNED:
        # S3 refuses parts under 5 MiB, so a PATCH's tail waits in a small object that the next
        # PATCH (or the PUT) reads once to send it as part of a part. Nothing else comes back.
        assert read < 8 * MiB
    else:
        assert read < 256 * KiB
    assert FALLBACK_LOG not in cluster.logs()
    for server in (a, b):
        assert fetched_digest(cluster, server, name, digest) == digest


def test_the_saved_state_survives_a_killed_worker(cluster):
    a, b = cluster.servers
    chunks = [pattern(3 * MiB + 1000 * n, 50 + n) for n in range(5)]
    name = f"{OWNER}/killed"

    def kill_after_the_second(number: int) -> None:
        if number != 1:
            return
        (worker,) = worker_pids(a)
        os.kill(worker, signal.SIGKILL)  # no clean-up of any kind: what a crash or OOM kill does
        wait_until(lambda: worker_pids(a) and worker_pids(a) != [worker] and http_up(f"{a.url}/v2/"),
                   timeout=30, what="a new gunicorn worker", log=a.log)

    # Two PATCHes on A, its worker killed, the next on B, then on A's new worker, the PUT on B.
    digest = push(cluster, [a, a, b, a, b], chunks, finish_on=b, name=name, between=kill_after_the_second)
    assert FALLBACK_LOG not in cluster.logs()
    assert fetched_digest(cluster, a, name, digest) == digest
