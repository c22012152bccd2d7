"""Blob reads and deletes: HEAD, GET, Range requests, DELETE."""

import pytest

from tests.registry.helpers import REPO, blobs_stored, body, error, push_blob, push_image, sha256

pytestmark = pytest.mark.django_db

DATA = bytes(range(256)) * 4  # 1024 bytes, every byte value


@pytest.fixture
def digest(api):
    return push_blob(api, DATA)


def test_head_has_length_and_digest_and_no_body(api, digest):
    response = api.head(f"/v2/{REPO}/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA))
    assert response["Docker-Content-Digest"] == digest
    assert response["Accept-Ranges"] == "bytes"
    assert body(response) == b""


def test_get_streams_the_blob(api, digest):
    response = api.get(f"/v2/{REPO}/blobs/{digest}")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Length"] == str(len(DATA))
    assert response["Docker-Content-Digest"] == digest
    assert response["Content-Type"] == "application/octet-stream"
    assert body(response) == DATA


@pytest.mark.parametrize(("header", "start", "end"), [
    ("bytes=0-0", 0, 0),
    ("bytes=10-19", 10, 19),
    ("bytes=1000-", 1000, 1023),
    ("bytes=1000-5000", 1000, 1023),  # an end past the blob is clipped
    ("bytes=-24", 1000, 1023),  # suffix range: the last 24 bytes
    ("bytes=-5000", 0, 1023),  # a suffix longer than the blob is all of it
])
def test_range_reads(api, digest, header, start, end):
    response = api.get(f"/v2/{REPO}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert body(response) == DATA[start:end + 1]


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=2000-3000", "bytes=-0"])
def test_unsatisfiable_range_is_416(api, digest, header):
    response = api.get(f"/v2/{REPO}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize("header", ["items=0-1", "bytes=5-2", "bytes=0-1,5-6", "bytes=x-y", "bytes=-"])
def test_ranges_to_ignore_send_the_whole_blob(api, digest, header):
    """RFC 9110: ignore other units, several ranges and malformed ones rather than refuse."""
    response = api.get(f"/v2/{REPO}/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 200
    assert "Content-Range" not in response
    assert body(response) == DATA


def test_any_range_of_an_empty_blob_is_unsatisfiable(api):
    empty = push_blob(api, b"")
    for header in ("bytes=0-", "bytes=-5"):
        response = api.get(f"/v2/{REPO}/blobs/{empty}", headers={"Range": header})
        assert response.status_code == 416
        assert response["Content-Range"] == "bytes */0"
    assert body(api.get(f"/v2/{REPO}/blobs/{empty}")) == b""


def test_unknown_blob_is_blob_unknown(api, digest):
    missing = sha256(b"missing")
    first = error(api.get(f"/v2/{REPO}/blobs/{missing}"), 404, "BLOB_UNKNOWN")
    assert first["detail"] == {"digest": missing}
    assert api.head(f"/v2/{REPO}/blobs/{missing}").status_code == 404


def test_blob_of_another_repository_is_not_visible(api, digest):
    push_blob(api, b"other", "alice/other")
    error(api.get(f"/v2/alice/other/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_unknown_repository_is_name_unknown(api):
    first = error(api.get(f"/v2/alice/nothing-here/blobs/{sha256(b'x')}"), 404, "NAME_UNKNOWN")
    assert "alice/nothing-here" in first["message"]


def test_malformed_digest_in_url(api, digest):
    error(api.get(f"/v2/{REPO}/blobs/sha256:1234"), 400, "DIGEST_INVALID")


def test_delete_then_404(api, digest):
    response = api.delete(f"/v2/{REPO}/blobs/{digest}")
    assert response.status_code == 202
    assert response["Docker-Content-Digest"] == digest
    error(api.get(f"/v2/{REPO}/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert api.head(f"/v2/{REPO}/blobs/{digest}").status_code == 404
    error(api.delete(f"/v2/{REPO}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


def test_push_again_after_delete(api, digest):
    assert api.delete(f"/v2/{REPO}/blobs/{digest}").status_code == 202
    push_blob(api, DATA)
    assert body(api.get(f"/v2/{REPO}/blobs/{digest}")) == DATA


def test_delete_in_one_repository_leaves_the_other(api, digest):
    push_blob(api, DATA, "alice/other")
    assert api.delete(f"/v2/{REPO}/blobs/{digest}").status_code == 202
    assert body(api.get(f"/v2/alice/other/blobs/{digest}")) == DATA


def test_blob_stored_once_for_many_repositories(api, settings, digest):
    push_blob(api, DATA, "alice/other")
    push_blob(api, DATA, "alice/third/nested")
    assert blobs_stored(settings) == [digest]


def test_layer_of_a_pushed_image_is_readable(api):
    push_image(api, "v1", layers=(b"layer one", b"layer two"))
    assert body(api.get(f"/v2/{REPO}/blobs/{sha256(b'layer two')}")) == b"layer two"
