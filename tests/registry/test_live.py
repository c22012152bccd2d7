"""The distribution API through gunicorn: what the Django test client cannot show.

Chunked transfer encoding, HEAD answers, sendfile range reads, and upload sessions whose
requests land on different workers (the session server runs two).
"""

import hashlib
import json
import os

import pytest
import requests

from registry.oci import media_types as mt

pytestmark = pytest.mark.e2e

NAME = "alice/live-api"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def http(berth, owner):
    session = requests.Session()
    session.auth = (owner.username, owner.password)
    session.base = berth.url
    yield session
    session.close()


def call(http, method, path, **kwargs):
    url = path if path.startswith("http") else http.base + path
    return http.request(method, url, allow_redirects=False, timeout=60, **kwargs)


def test_chunked_transfer_encoding_across_workers(http):
    """Bodies without Content-Length (the docker CLI's PATCH) stream through wsgi.input."""
    data = os.urandom(3 * 1024 * 1024 + 17)
    response = call(http, "POST", f"/v2/{NAME}/blobs/uploads/")
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    pieces = [data[i:i + 512 * 1024] for i in range(0, len(data), 512 * 1024)]
    for number, piece in enumerate(pieces):
        # A generator body makes requests send Transfer-Encoding: chunked.
        response = call(http, "PATCH", location, data=(piece[i:i + 65536] for i in range(0, len(piece), 65536)))
        assert response.status_code == 202, response.text
        assert response.headers["Range"] == f"0-{sum(map(len, pieces[:number + 1])) - 1}"
        status = call(http, "GET", location)
        assert status.status_code == 204
        assert status.headers["Range"] == response.headers["Range"]
    response = call(http, "PUT", f"{location}?digest={sha256(data)}")
    assert response.status_code == 201, response.text

    blob = f"/v2/{NAME}/blobs/{sha256(data)}"
    head = call(http, "HEAD", blob)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(data))
    assert head.headers["Docker-Content-Digest"] == sha256(data)
    whole = call(http, "GET", blob)
    assert whole.content == data
    part = call(http, "GET", blob, headers={"Range": "bytes=1048576-1048675"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 1048576-1048675/{len(data)}"
    assert part.content == data[1048576:1048676]
    tail = call(http, "GET", blob, headers={"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    assert call(http, "GET", blob, headers={"Range": f"bytes={len(data)}-"}).status_code == 416


def test_monolithic_chunked_post_and_manifest_round_trip(http):
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
    config = config.encode()
    layer = os.urandom(100_000)
    for blob in (config, layer):
        response = call(http, "POST", f"/v2/{NAME}/blobs/uploads/?digest={sha256(blob)}", data=iter([blob]))
        assert response.status_code == 201, response.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer),
                    "size": len(layer)}],
    }).encode()
    response = call(http, "PUT", f"/v2/{NAME}/manifests/live", data=manifest,
                    headers={"Content-Type": mt.OCI_MANIFEST})
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == sha256(manifest)
    head = call(http, "HEAD", f"/v2/{NAME}/manifests/live", headers={"Accept": mt.OCI_MANIFEST})
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(manifest))
    assert head.headers["Content-Type"] == mt.OCI_MANIFEST
    get = call(http, "GET", f"/v2/{NAME}/manifests/{sha256(manifest)}")
    assert get.content == manifest
    assert get.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_errors_through_gunicorn(http):
    response = call(http, "GET", f"/v2/{NAME}/manifests/.INVALID_MANIFEST_NAME")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] in {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}
    response = call(http, "PUT", f"/v2/{NAME}/manifests/sha256:totallywrong", data=b"blablabla",
                    headers={"Content-Type": mt.OCI_MANIFEST})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "DIGEST_INVALID"
