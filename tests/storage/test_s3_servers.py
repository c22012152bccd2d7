"""Several app servers on one PostgreSQL database and one bucket, with real clients.

Two gunicorn processes share a database and a bucket on the test S3 server: one answers blob
GETs with redirects to presigned URLs, the other streams. A chunked upload whose PATCHes
alternate between them continues the hash state saved in the upload's row (what S3 reads back
meanwhile is counted in test_cross_server.py).
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e import images
from tests.helpers import OWNER, Credentials
from tests.pgplugin import migrated_database
from tests.s3 import bucket_objects, open_multipart_uploads
from tests.servers import BerthServer

pytestmark = pytest.mark.postgresql(reason="the app servers share one database on the test PostgreSQL server")

MiB = 1024 * 1024


@dataclass
class Cluster:
    redirecting: BerthServer
    streaming: BerthServer
    bucket: str
    credentials: Credentials

    def http(self, server: BerthServer) -> "Client":
        return Client(server.url, (self.credentials.username, self.credentials.password))


class Client:
    """requests against one app server, sending Basic owner:token up front (bodies are never re-sent)."""

    def __init__(self, base_url: str, auth: tuple[str, str]):
        self.base_url = base_url
        self.session = requests.Session()
        self.session.auth = auth

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def cluster(s3_server, tmp_path_factory):
    bucket = s3_server.create_bucket()
    database = migrated_database(f"berth_s3_{uuid.uuid4().hex[:8]}")
    servers = []
    try:
        for redirect in (True, False):
            server = BerthServer(database_url=database, data_dir=tmp_path_factory.mktemp("berth-s3"),
                                 env=s3_server.env(bucket, redirect=redirect), workers=1, threads=4, migrated=True)
            servers.append(server.start())
        token = servers[0].manage("create_token", OWNER, "--scopes", "write:packages,delete:packages",
                                  "--create-user", "--note", "S3 app server tests").strip()
        yield Cluster(servers[0], servers[1], bucket, Credentials(OWNER, token))
    finally:
        for server in servers:
            server.stop()


def pattern(size: int, seed: int) -> bytes:
    """Incompressible-looking bytes, different for every seed."""
    out, counter = bytearray(), 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
        counter += 1
    return bytes(out[:size])


def test_a_chunked_upload_alternating_between_app_servers(cluster, s3_server):
    servers = [cluster.redirecting, cluster.streaming]
    http = [cluster.http(server) for server in servers]
    chunks = [pattern(size, seed) for seed, size in enumerate([3 * MiB, 6 * MiB, 100 * 1024, 9 * MiB, MiB])]
    data = b"".join(chunks)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    name = f"{OWNER}/two-servers"

    response = http[0].request("POST", f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202, response.text
    location, offset = response.headers["Location"], 0
    for number, chunk in enumerate(chunks, start=1):
        headers = {"Content-Range": f"{offset}-{offset + len(chunk) - 1}", "Content-Type": "application/octet-stream"}
        response = http[number % 2].request("PATCH", location, data=chunk, headers=headers)
        assert response.status_code == 202, response.text
        offset += len(chunk)
        assert response.headers["Range"] == f"0-{offset - 1}"
    # The PUT lands on the server that did not take the last PATCH.
    response = http[(len(chunks) + 1) % 2].request("PUT", f"{location}?digest={digest}")
    assert response.status_code == 201, response.text

    redirect = http[0].request("GET", f"/v2/{name}/blobs/{digest}", allow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["Location"].startswith(s3_server.url)
    fetched = requests.get(redirect.headers["Location"], timeout=60)
    assert hashlib.sha256(fetched.content).hexdigest() == digest[7:]
    streamed = http[1].request("GET", f"/v2/{name}/blobs/{digest}")
    assert streamed.status_code == 200 and streamed.headers["Docker-Content-Digest"] == digest
    assert hashlib.sha256(streamed.content).hexdigest() == digest[7:]
    for client in http:
        head = client.request("HEAD", f"/v2/{name}/blobs/{digest}")
        assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))
    assert len(data) in bucket_objects(s3_server, cluster.bucket).values()
    assert open_multipart_uploads(s3_server, cluster.bucket) == []


@pytest.fixture(scope="module")
def s3_image(cluster, dockerd, tmp_path_factory):
    """An image with a layer bigger than two S3 parts, built in the session's dockerd."""
    dockerd.docker("import", "-", "berth-s3/base:1", input=images.base_rootfs())
    files = {"app/big.bin": pattern(18 * MiB, 99), "app/hello.txt": b"hello from S3\n"}
    context = images.write_build_context(tmp_path_factory.mktemp("s3-context"),
                                         "FROM berth-s3/base:1\nCOPY app/ /app/\nLABEL berth.test=s3\n", files)
    dockerd.docker("build", "-t", "berth-s3/app:1", str(context))
    image_id = dockerd.docker("image", "inspect", "--format", "{{.Id}}", "berth-s3/app:1").stdout.decode().strip()
    for server in (cluster.redirecting, cluster.streaming):
        dockerd.docker("login", server.host, "-u", cluster.credentials.username, "--password-stdin",
                       input=cluster.credentials.password.encode())
    return image_id


def docker_id(dockerd, ref: str) -> str:
    return dockerd.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.decode().strip()


def forget(dockerd, image_id: str) -> None:
    """Remove every tag of an image, so pulling it again has to fetch its layer."""
    tags = dockerd.docker("image", "inspect", "--format", '{{join .RepoTags " "}}', image_id).stdout.decode().split()
    dockerd.docker("rmi", *tags)
    assert dockerd.docker("image", "inspect", image_id, check=False).returncode != 0


@pytest.mark.e2e
@pytest.mark.parametrize("redirect", [True, False], ids=["redirect", "stream"])
def test_docker_push_and_pull_with_s3(cluster, dockerd, s3_image, redirect):
    pusher, other = ((cluster.redirecting, cluster.streaming) if redirect
                     else (cluster.streaming, cluster.redirecting))
    repository = f"{OWNER}/s3-{'redirect' if redirect else 'stream'}"
    dockerd.docker("tag", "berth-s3/app:1", f"{pusher.host}/{repository}:1")
    dockerd.docker("push", f"{pusher.host}/{repository}:1")
    for server in (pusher, other):
        forget(dockerd, s3_image)
        dockerd.docker("pull", f"{server.host}/{repository}:1")
        assert docker_id(dockerd, f"{server.host}/{repository}:1") == s3_image
    dockerd.docker("tag", s3_image, "berth-s3/app:1")
    log = pusher.log.read_text(errors="replace")
    blob_gets = [line for line in log.splitlines() if f'"GET /v2/{repository}/blobs/sha256:' in line]
    assert blob_gets and all(('" 307 ' in line) == redirect for line in blob_gets), blob_gets[-3:]


def worker_pids(server: BerthServer) -> list[int]:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    return [int(pid) for pid in children]


def memory_kib(pid: int, field: str) -> int:
    """Return a /proc/PID/status memory field (VmRSS now, VmHWM the peak so far) in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def backdate(server: BerthServer, digest: str) -> None:
    """Make a blob and its package links two days old, straight in the servers' database."""
    import psycopg2

    with psycopg2.connect(server.env["DATABASE_URL"]) as connection, connection.cursor() as cursor:
        cursor.execute("UPDATE registry_blob SET created_at = now() - interval '2 days' WHERE digest = %s", [digest])
        cursor.execute("UPDATE registry_packageblob SET created_at = now() - interval '2 days', "
                       "seen_at = now() - interval '2 days' "
                       "WHERE blob_id = (SELECT id FROM registry_blob WHERE digest = %s)", [digest])


def push_small(client: Client, name: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    response = client.request("POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data=data,
                              headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text
    return digest


@pytest.mark.slow
def test_a_256_mib_layer_streams_with_flat_memory_while_gc_runs(cluster):
    from registry.storage.s3 import PART_SIZE

    server, client, name = cluster.streaming, cluster.http(cluster.streaming), f"{OWNER}/big"
    (worker,) = worker_pids(server)
    # Referenced: a manifest names config and layer. Orphaned: pushed, named by nothing. Both are old.
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    layer = pattern(2 * MiB, 7)
    descriptors = [{"mediaType": media_type, "digest": push_small(client, name, data), "size": len(data)}
                   for media_type, data in [("application/vnd.oci.image.config.v1+json", config.encode()),
                                            ("application/vnd.oci.image.layer.v1.tar+gzip", layer)]]
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": descriptors[0], "layers": descriptors[1:]})
    response = client.request("PUT", f"/v2/{name}/manifests/small", data=manifest,
                              headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert response.status_code == 201, response.text
    orphan = push_small(client, name, pattern(3 * MiB, 8))
    for digest in [d["digest"] for d in descriptors] + [orphan]:
        backdate(server, digest)
    baseline = memory_kib(worker, "VmRSS")

    # 32 parts of 8 MiB: far bigger than the one part (and the piece of the next) a worker may hold,
    # so a worker that kept the body, or a good share of it, grows past the bound below.
    size, block, hasher, gc_output = 256 * MiB, pattern(MiB, 9), hashlib.sha256(), []
    assert size >= 32 * PART_SIZE

    def body():
        for sent in range(size // MiB):
            if sent == size // MiB // 2:  # half way through the push
                gc_output.append(server.manage("gc", "--grace", "600"))
            hasher.update(block)
            yield block

    location = client.request("POST", f"/v2/{name}/blobs/uploads/").headers["Location"]
    response = client.request("PATCH", location, data=body(), headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 202, response.text
    digest = "sha256:" + hasher.hexdigest()
    response = client.request("PUT", f"{location}?digest={digest}")
    assert response.status_code == 201, response.text
    peak = memory_kib(worker, "VmHWM")
    print(f"\nworker RSS before the {size // MiB} MiB push: {baseline / 1024:.0f} MiB, peak: {peak / 1024:.0f} MiB")
    # About 26 MiB here whatever the size (a part, its copies, boto's buffers).
    assert (peak - baseline) * 1024 < size // 4, f"worker memory grew {(peak - baseline) / 1024:.0f} MiB"

    head = client.request("HEAD", f"/v2/{name}/blobs/{digest}")
    assert head.status_code == 200 and head.headers["Content-Length"] == str(size)
    assert f"removed blob {orphan}" in gc_output[0]
    assert client.request("HEAD", f"/v2/{name}/blobs/{orphan}").status_code == 404
    for descriptor in descriptors:
        fetched = client.request("GET", f"/v2/{name}/blobs/{descriptor['digest']}")
        assert fetched.status_code == 200 and len(fetched.content) == descriptor["size"]


def test_a_missing_bucket_stops_start_up_with_the_reason(s3_server, tmp_path):
    server = BerthServer(database_url="sqlite:///" + str(tmp_path / "db.sqlite3"), data_dir=tmp_path,
                         env=s3_server.env("berth-no-such-bucket"))
    with pytest.raises(RuntimeError) as failure:
        server.manage("check")
    message = str(failure.value)
    assert "ImproperlyConfigured: BERTH_STORAGE=s3 can't use bucket 'berth-no-such-bucket'" in message
    assert "create it or fix AWS_STORAGE_BUCKET_NAME" in message


def test_s3_without_a_bucket_name_is_refused(tmp_path):
    server = BerthServer(database_url="sqlite:///" + str(tmp_path / "db.sqlite3"), data_dir=tmp_path,
                         env={"BERTH_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": ""})
    with pytest.raises(RuntimeError, match="BERTH_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME"):
        server.manage("check")


@pytest.mark.e2e
def test_skopeo_copies_a_multiarch_image_through_s3_redirects(cluster, tmp_path):
    from tests.e2e.helpers import Skopeo

    skopeo = Skopeo(tmp_path, f"{cluster.credentials.username}:{cluster.credentials.password}")
    layout = images.write_multiarch_layout(tmp_path / "layout", tag="1", annotations={"berth.test": "s3"})
    pushed = f"docker://{cluster.streaming.host}/{OWNER}/skopeo-s3:1"
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", skopeo.creds, f"oci:{layout.path}:1", pushed)
    back = tmp_path / "back"
    skopeo("copy", "--all", "--src-tls-verify=false", "--src-creds", skopeo.creds,
           f"docker://{cluster.redirecting.host}/{OWNER}/skopeo-s3:1", f"oci:{back}:copied")
    assert images.layout_ref(back, "copied")["digest"] == layout.index.digest
    for blob in layout.blobs:
        assert images.read_layout_blob(back, blob.digest) == blob.data, f"{blob.media_type} {blob.digest} differs"
    log = cluster.redirecting.log.read_text(errors="replace").splitlines()
    blob_gets = [line for line in log if f'"GET /v2/{OWNER}/skopeo-s3/blobs/sha256:' in line]
    assert blob_gets and all('" 307 ' in line for line in blob_gets), blob_gets
