"""The OCI distribution-spec conformance suite's workflows, replayed through the test client.

Each test follows one workflow of opencontainers/distribution-spec conformance/ (v1.1:
01_pull_test.go, 02_push_test.go, 03_discovery_test.go, 04_management_test.go) step by step,
with the suite's kind of data and the same checks of status codes and headers. Where the
suite accepts several answers (201 or 202 for a monolithic POST, 202 or 400 for a tag
delete), these tests pin the one Berth gives.
"""

import json
import os

import pytest

from registry.oci import media_types as mt
from tests.registry.helpers import OCI_LAYER, body, descriptor, request, sha256

pytestmark = pytest.mark.django_db

NAME = "alice/conformance"
CROSSMOUNT = "alice/conformance-crossmount"
EMPTY_JSON = b"{}"
ARTIFACT_A = "application/vnd.nhl.peanut.butter.bagel"
ARTIFACT_B = "application/vnd.nba.strawberry.jam.croissant"
ANNOTATION = "org.opencontainers.conformance.test"
NONEXISTENT_TAG = ".INVALID_MANIFEST_NAME"
DUMMY_DIGEST = sha256(b"hello world")


def config(n: int) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "author": f"conformance {n}",
                       "rootfs": {"type": "layers", "diff_ids": []}}).encode()


LAYER = os.urandom(1024)


def oci_manifest(config_bytes: bytes, layers: list[bytes], *, config_type: str = mt.OCI_CONFIG, **extra) -> bytes:
    document = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                "config": descriptor(config_bytes, config_type),
                "layers": [descriptor(layer, OCI_LAYER) for layer in layers], **extra}
    return json.dumps(document, indent="\t").encode()


def post_put(api, data: bytes, name: str = NAME):
    """The suite's usual blob push: POST for a session, then PUT the whole blob."""
    response = request(api, "POST", f"/v2/{name}/blobs/uploads/")
    return request(api, "PUT", f"{response['Location']}?digest={sha256(data)}", data,
                   headers={"Content-Length": str(len(data))})


def put(api, reference: str, raw: bytes, media_type: str = mt.OCI_MANIFEST):
    return request(api, "PUT", f"/v2/{NAME}/manifests/{reference}", raw, content_type=media_type)


def ok(response) -> bool:
    return 200 <= response.status_code < 300


def test_pull_workflow(api):
    manifest = oci_manifest(config(0), [LAYER])
    digest = sha256(manifest)
    # Setup
    assert ok(post_put(api, config(0)))
    assert ok(post_put(api, LAYER))
    assert ok(put(api, "tagtest0", manifest))
    tag = api.get(f"/v2/{NAME}/tags/list").json()["tags"][0]
    # Pull blobs
    assert api.head(f"/v2/{NAME}/blobs/{DUMMY_DIGEST}").status_code == 404
    response = api.head(f"/v2/{NAME}/blobs/{sha256(config(0))}")
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == sha256(config(0))
    assert api.get(f"/v2/{NAME}/blobs/{DUMMY_DIGEST}").status_code == 404
    assert api.get(f"/v2/{NAME}/blobs/{sha256(config(0))}").status_code == 200
    # Pull manifests
    accept = {"Accept": mt.OCI_MANIFEST}
    assert api.head(f"/v2/{NAME}/manifests/{NONEXISTENT_TAG}").status_code == 404
    for method in (api.head, api.get):
        for reference in (digest, tag):
            response = method(f"/v2/{NAME}/manifests/{reference}", headers=accept)
            assert response.status_code == 200
            assert response["Docker-Content-Digest"] == digest
    assert api.get(f"/v2/{NAME}/manifests/{NONEXISTENT_TAG}").status_code == 404
    # Error codes: "400 response body should contain OCI-conforming JSON message"
    response = put(api, "sha256:totallywrong", b"blablabla")
    assert response.status_code in (400, 404)
    assert response.json()["errors"][0]["code"] in {"DIGEST_INVALID", "MANIFEST_INVALID", "NAME_INVALID",
                                                    "TAG_INVALID", "UNSUPPORTED"}
    # Teardown (OCI_DELETE_MANIFEST_BEFORE_BLOBS, the default)
    assert ok(api.delete(f"/v2/{NAME}/manifests/{digest}"))
    assert ok(api.delete(f"/v2/{NAME}/blobs/{sha256(config(0))}"))
    assert ok(api.delete(f"/v2/{NAME}/blobs/{sha256(LAYER)}"))


def test_push_workflow(api):
    blob_a = b"NBA Jam on my NBA toast"
    blob_b = b"Hello, how are you today?"
    chunk1, chunk2 = blob_b[:3], blob_b[3:]
    range1, range2 = f"0-{len(chunk1) - 1}", f"{len(chunk1)}-{len(blob_b) - 1}"
    ref_blob_a = b"NHL Peanut Butter on my NHL bagel"

    # Setup
    assert ok(post_put(api, EMPTY_JSON))
    assert ok(post_put(api, ref_blob_a))

    # Blob Upload Streamed
    response = request(api, "POST", f"/v2/{NAME}/blobs/uploads/")
    assert response["Location"]
    response = request(api, "PATCH", response["Location"], blob_a)
    assert response.status_code == 202
    response = request(api, "PUT", f"{response['Location']}?digest={sha256(blob_a)}",
                       headers={"Content-Length": "0"})
    assert response.status_code == 201
    assert response["Location"]

    # Blob Upload Monolithic
    assert api.get(f"/v2/{NAME}/blobs/{DUMMY_DIGEST}").status_code == 404
    response = request(api, "POST", f"/v2/{NAME}/blobs/uploads/?digest={sha256(config(1))}", config(1))
    assert response["Location"]
    assert response.status_code == 201  # the suite accepts 201 or 202
    assert api.get(f"/v2/{NAME}/blobs/{sha256(config(1))}").status_code == 200
    response = request(api, "POST", f"/v2/{NAME}/blobs/uploads/")
    assert response.status_code == 202
    response = request(api, "PUT", f"{response['Location']}?digest={sha256(config(1))}", config(1))
    assert response.status_code == 201
    assert response["Location"]
    assert api.get(f"/v2/{NAME}/blobs/{sha256(config(1))}").status_code == 200
    response = post_put(api, LAYER)
    assert response.status_code == 201
    assert response["Location"]
    assert api.get(f"/v2/{NAME}/blobs/{sha256(LAYER)}").status_code == 200

    # Blob Upload Chunked
    response = request(api, "POST", f"/v2/{NAME}/blobs/uploads/", headers={"Content-Length": "0"})
    assert response["Location"]
    response = request(api, "PATCH", response["Location"], chunk2, headers={"Content-Range": range2})
    assert response.status_code == 416, "Out-of-order blob upload should return 416"

    prev = request(api, "POST", f"/v2/{NAME}/blobs/uploads/", headers={"Content-Length": "0"})
    assert prev["Location"]
    response = request(api, "PATCH", prev["Location"], chunk1, headers={"Content-Range": range1})
    assert response.status_code == 202
    assert response["Range"] == range1
    response = request(api, "PATCH", prev["Location"], chunk1, headers={"Content-Range": range1})
    assert response.status_code == 416, "Retry previous blob chunk should return 416"
    response = api.get(prev["Location"])
    assert response.status_code == 204, "Get on stale blob upload should return 204 with a range and location"
    assert response["Location"]
    assert response["Range"] == range1
    response = request(api, "PATCH", response["Location"], chunk2, headers={"Content-Range": range2})
    assert response.status_code == 202
    assert response["Range"] == f"0-{len(blob_b) - 1}"
    assert response["Location"]
    response = request(api, "PUT", f"{response['Location']}?digest={sha256(blob_b)}",
                       headers={"Content-Length": "0"})
    assert response.status_code == 201
    assert response["Location"]

    # Cross-Repository Blob Mount
    response = request(api, "POST", f"/v2/{CROSSMOUNT}/blobs/uploads/?mount={DUMMY_DIGEST}")
    assert response.status_code == 202
    assert response["Location"]
    response = request(api, "POST", f"/v2/{CROSSMOUNT}/blobs/uploads/?mount={sha256(blob_a)}&from={NAME}")
    assert response.status_code == 201  # the suite accepts 201 or 202
    assert response["Location"] == f"/v2/{CROSSMOUNT}/blobs/{sha256(blob_a)}"
    assert api.get(response["Location"]).status_code == 200
    # OCI_AUTOMATIC_CROSSMOUNT is off here: a mount without from starts a session.
    response = request(api, "POST", f"/v2/{CROSSMOUNT}/blobs/uploads/?mount={sha256(blob_a)}")
    assert response.status_code == 202

    # Manifest Upload
    assert api.get(f"/v2/{NAME}/manifests/{NONEXISTENT_TAG}").status_code == 404
    manifest1 = oci_manifest(config(1), [LAYER])
    for i in range(4):
        response = put(api, f"test{i}", manifest1)
        assert response.status_code == 201
        assert response["Location"]
    empty_layers = oci_manifest(config(1), [])
    response = put(api, "emptylayer", empty_layers)
    assert response.status_code == 201, "Registry should accept a manifest upload with no layers"
    assert response["Location"]
    response = api.get(f"/v2/{NAME}/manifests/{sha256(manifest1)}", headers={"Accept": mt.OCI_MANIFEST})
    assert response.status_code == 200

    subject = descriptor(oci_manifest(config(4), [LAYER]), mt.OCI_MANIFEST)  # never pushed here
    config_type = oci_manifest(ref_blob_a, [ref_blob_a], config_type=ARTIFACT_A, subject=subject,
                               annotations={ANNOTATION: "config type"})
    assert ok(put(api, sha256(config_type), config_type)), "custom config/mediaType (as artifact type)"
    artifact_type = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": ARTIFACT_A,
        "config": descriptor(EMPTY_JSON, mt.OCI_EMPTY), "layers": [descriptor(ref_blob_a, OCI_LAYER)],
        "subject": subject, "annotations": {ANNOTATION: "artifact type"}}).encode()
    assert ok(put(api, sha256(artifact_type), artifact_type)), "custom artifactType"

    assert ok(post_put(api, config(0)))
    manifest0 = oci_manifest(config(0), [LAYER])
    assert ok(put(api, "tagtest0", manifest0))
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "artifactType": "application/vnd.food.stand",
                        "manifests": [descriptor(manifest0, mt.OCI_MANIFEST)],
                        "annotations": {ANNOTATION: "test index"}}, indent="\t").encode()
    assert ok(put(api, sha256(index), index, mt.OCI_INDEX)), "manifest upload with image index"
    nested = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "artifactType": "application/vnd.food.stand",
                         "manifests": [descriptor(index, mt.OCI_INDEX)],
                         "annotations": {ANNOTATION: "test index"}}, indent="\t").encode()
    assert ok(put(api, sha256(nested), nested, mt.OCI_INDEX)), "nested image index"

    dangling = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": ARTIFACT_B,
        "config": descriptor(EMPTY_JSON, mt.OCI_EMPTY), "layers": [descriptor(ref_blob_a, OCI_LAYER)],
        "subject": descriptor(oci_manifest(config(3), [LAYER]), mt.OCI_MANIFEST)}).encode()
    response = put(api, sha256(dangling), dangling)
    assert ok(response), "PUT manifest with 'dangling' subject fails, but must not"
    assert response["OCI-Subject"] == sha256(oci_manifest(config(3), [LAYER]))

    # Teardown
    for digest in (sha256(manifest1), sha256(config_type), sha256(artifact_type), sha256(empty_layers)):
        assert ok(api.delete(f"/v2/{NAME}/manifests/{digest}"))
    for blob in (config(1), LAYER, EMPTY_JSON):
        assert ok(api.delete(f"/v2/{NAME}/blobs/{sha256(blob)}"))


def test_content_discovery_workflow(api):
    ref_blob_a, ref_blob_b = b"NHL Peanut Butter on my NHL bagel", b"NBA Strawberry Jam on my NBA croissant"
    manifest2 = oci_manifest(config(2), [LAYER])
    manifest4 = oci_manifest(config(4), [LAYER])
    subject = descriptor(manifest4, mt.OCI_MANIFEST)

    def refs(blob, artifact, where):
        by_config = oci_manifest(blob, [blob], config_type=artifact, subject=subject, annotations={ANNOTATION: where})
        by_type = json.dumps({
            "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": artifact,
            "config": descriptor(EMPTY_JSON, mt.OCI_EMPTY), "layers": [descriptor(blob, OCI_LAYER)],
            "subject": subject, "annotations": {ANNOTATION: where + " layer"}}).encode()
        return by_config, by_type

    # Setup: tags
    assert ok(post_put(api, config(2)))
    assert ok(post_put(api, LAYER))
    for i in range(4):
        assert ok(put(api, f"test{i}", manifest2))
    tag_list = api.get(f"/v2/{NAME}/tags/list").json()["tags"]
    assert tag_list == ["test0", "test1", "test2", "test3"]

    # Setup: references, some pushed before their subject exists
    assert ok(post_put(api, EMPTY_JSON))
    assert ok(post_put(api, ref_blob_a))
    a_config, a_layer = refs(ref_blob_a, ARTIFACT_A, "A")
    for raw in (a_config, a_layer):
        response = put(api, sha256(raw), raw)
        assert ok(response)
        assert response["OCI-Subject"] == sha256(manifest4)
    index = json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "artifactType": "application/vnd.food.stand",
                        "manifests": [descriptor(a_config, mt.OCI_MANIFEST), descriptor(a_layer, mt.OCI_MANIFEST)],
                        "subject": subject, "annotations": {ANNOTATION: "index"}}).encode()
    response = put(api, sha256(index), index, mt.OCI_INDEX)
    assert ok(response)
    assert response["OCI-Subject"] == sha256(manifest4)
    assert ok(post_put(api, config(4)))
    assert ok(put(api, "tagtest0", manifest4))
    assert ok(post_put(api, ref_blob_b))
    for raw in refs(ref_blob_b, ARTIFACT_B, "B"):
        response = put(api, sha256(raw), raw)
        assert ok(response)
        assert response["OCI-Subject"] == sha256(manifest4)
    manifest3 = oci_manifest(config(3), [LAYER])
    c_layer = json.dumps({
        "schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "artifactType": ARTIFACT_A,
        "config": descriptor(EMPTY_JSON, mt.OCI_EMPTY), "layers": [descriptor(ref_blob_a, OCI_LAYER)],
        "subject": descriptor(manifest3, mt.OCI_MANIFEST), "annotations": {ANNOTATION: "C"}}).encode()
    response = put(api, sha256(c_layer), c_layer)
    assert ok(response)
    assert response["OCI-Subject"] == sha256(manifest3)

    # Listing tags
    response = api.get(f"/v2/{NAME}/tags/list")
    assert response.status_code == 200
    num_tags = len(response.json()["tags"])
    half = num_tags // 2
    response = api.get(f"/v2/{NAME}/tags/list?n={half}")
    assert response.status_code == 200
    page = response.json()["tags"]
    assert len(page) == half
    response = api.get(f"/v2/{NAME}/tags/list?n={half}&last={page[-1]}")
    assert response.status_code == 200
    assert len(response.json()["tags"]) <= half
    assert page[-1] not in response.json()["tags"]

    # Listing referrers
    def referrers(digest, query=""):
        response = api.get(f"/v2/{NAME}/referrers/{digest}{query}")
        assert response.status_code == 200
        assert response["Content-Type"] == mt.OCI_INDEX
        return response, json.loads(body(response))["manifests"]

    _, manifests = referrers(DUMMY_DIGEST)
    assert manifests == []
    _, manifests = referrers(sha256(manifest4))
    assert len(manifests) == 5
    assert len({m["digest"] for m in manifests}) == 5
    assert all(len(m["annotations"]) == 1 for m in manifests)
    response, manifests = referrers(sha256(manifest4), f"?artifactType={ARTIFACT_A}")
    assert response["OCI-Filters-Applied"] == "artifactType"
    assert len(manifests) == 2
    assert {m["annotations"][ANNOTATION] for m in manifests} == {"A", "A layer"}
    _, manifests = referrers(sha256(manifest3))
    assert [m["digest"] for m in manifests] == [sha256(c_layer)]

    # Teardown: every delete answers 2xx, 404 or 405
    for raw in (index, manifest2, manifest4, a_config, a_layer, *refs(ref_blob_b, ARTIFACT_B, "B"), c_layer):
        assert api.delete(f"/v2/{NAME}/manifests/{sha256(raw)}").status_code in (202, 404)
    for blob in (config(2), LAYER, config(4), ref_blob_a, ref_blob_b, EMPTY_JSON):
        assert api.delete(f"/v2/{NAME}/blobs/{sha256(blob)}").status_code in (202, 404)


def test_content_management_workflow(api):
    manifest = oci_manifest(config(3), [LAYER])
    # Setup
    assert ok(post_put(api, config(3)))
    assert ok(post_put(api, LAYER))
    assert ok(put(api, "tagtest0", manifest))
    assert ok(put(api, "othertag", manifest))
    num_tags = len(api.get(f"/v2/{NAME}/tags/list").json()["tags"])
    # Manifest delete
    assert api.delete(f"/v2/{NAME}/manifests/tagtest0").status_code == 202  # the suite accepts 202 or 400
    assert api.delete(f"/v2/{NAME}/manifests/{sha256(manifest)}").status_code == 202
    assert api.get(f"/v2/{NAME}/manifests/{sha256(manifest)}").status_code == 404
    response = api.get(f"/v2/{NAME}/tags/list")
    assert response.status_code == 200
    assert len(response.json()["tags"]) < num_tags
    # Blob delete
    assert api.delete(f"/v2/{NAME}/blobs/{sha256(config(3))}").status_code == 202
    assert api.get(f"/v2/{NAME}/blobs/{sha256(config(3))}").status_code == 404
