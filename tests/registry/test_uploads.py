"""Blob uploads: sessions, chunks, resume, monolithic pushes, mounts and cancellation."""

import io

import pytest

from registry.models import Upload
from tests.registry.helpers import (
    REPO,
    blobs_stored,
    body,
    error,
    push_blob,
    request,
    sha256,
    start_upload,
    uploads_left,
)

pytestmark = pytest.mark.django_db

BLOB = b"Hello, how are you today? " * 40


def get_blob(api, digest, name=REPO):
    response = api.get(f"/v2/{name}/blobs/{digest}")
    assert response.status_code == 200, body(response)
    return body(response)


def patch(api, location, data, content_range=None):
    headers = {"Content-Range": content_range} if content_range else {}
    return request(api, "PATCH", location, data, headers=headers)


def test_post_starts_a_session_with_location_and_range(api):
    response = request(api, "POST", f"/v2/{REPO}/blobs/uploads/")
    assert response.status_code == 202
    location = response["Location"]
    assert location.startswith(f"/v2/{REPO}/blobs/uploads/")
    assert response["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]
    assert response["Range"] == "0-0"
    assert response["Content-Length"] == "0"
    assert response["Docker-Distribution-API-Version"] == "registry/2.0"


def test_chunked_upload_in_several_patches_with_content_range(api):
    location = start_upload(api)
    chunks = [BLOB[:100], BLOB[100:350], BLOB[350:]]
    offset = 0
    for chunk in chunks:
        response = patch(api, location, chunk, f"{offset}-{offset + len(chunk) - 1}")
        assert response.status_code == 202, body(response)
        offset += len(chunk)
        assert response["Range"] == f"0-{offset - 1}"
        assert response["Location"] == location
    response = request(api, "PUT", f"{location}?digest={sha256(BLOB)}")
    assert response.status_code == 201, body(response)
    assert response["Location"] == f"/v2/{REPO}/blobs/{sha256(BLOB)}"
    assert response["Docker-Content-Digest"] == sha256(BLOB)
    assert get_blob(api, sha256(BLOB)) == BLOB
    assert not Upload.objects.exists()


def test_streamed_patches_without_content_range_append(api):
    location = start_upload(api)
    for part in (BLOB[:10], BLOB[10:500], BLOB[500:]):
        response = patch(api, location, part)
        assert response.status_code == 202, body(response)
    assert response["Range"] == f"0-{len(BLOB) - 1}"
    response = request(api, "PUT", f"{location}?digest={sha256(BLOB)}")
    assert response.status_code == 201, body(response)
    assert get_blob(api, sha256(BLOB)) == BLOB


def test_put_with_a_final_chunk(api):
    """The conformance suite's chunked flow: PATCH 0-2, then PUT carrying 3-end."""
    location = start_upload(api)
    assert patch(api, location, BLOB[:3], "0-2").status_code == 202
    response = request(api, "PUT", f"{location}?digest={sha256(BLOB)}", BLOB[3:],
                       headers={"Content-Range": f"3-{len(BLOB) - 1}"})
    assert response.status_code == 201, body(response)
    assert get_blob(api, sha256(BLOB)) == BLOB


def test_resume_after_a_status_get(api):
    """A client that lost track asks GET for the Range, then sends what follows."""
    location = start_upload(api)
    assert patch(api, location, BLOB[:3], "0-2").status_code == 202
    # A retried first chunk is out of order now: 416 with the Range the session holds.
    retry = patch(api, location, BLOB[:3], "0-2")
    error(retry, 416, "BLOB_UPLOAD_INVALID")
    assert retry["Range"] == "0-2"

    status = api.get(location)
    assert status.status_code == 204
    assert status["Location"] == location
    assert status["Range"] == "0-2"
    assert status["Docker-Upload-UUID"] == location.rsplit("/", 1)[1]

    end = int(status["Range"].split("-")[1]) + 1
    response = patch(api, status["Location"], BLOB[end:], f"{end}-{len(BLOB) - 1}")
    assert response.status_code == 202
    assert response["Range"] == f"0-{len(BLOB) - 1}"
    response = request(api, "PUT", f"{location}?digest={sha256(BLOB)}", headers={"Content-Length": "0"})
    assert response.status_code == 201, body(response)
    assert get_blob(api, sha256(BLOB)) == BLOB


def test_out_of_order_chunk_is_416_and_keeps_the_session(api):
    location = start_upload(api)
    response = patch(api, location, BLOB[3:], f"3-{len(BLOB) - 1}")
    first = error(response, 416, "BLOB_UPLOAD_INVALID")
    assert "starts at byte 3" in first["message"]
    assert response["Range"] == "0-0"
    assert response["Location"] == location
    # The session is intact: the right chunk is still accepted.
    assert patch(api, location, BLOB, f"0-{len(BLOB) - 1}").status_code == 202
    assert request(api, "PUT", f"{location}?digest={sha256(BLOB)}").status_code == 201


def test_malformed_content_range_is_416(api):
    location = start_upload(api)
    assert patch(api, location, b"abc", "0-2").status_code == 202
    for value in ("bytes three", "5-3", "3-"):
        response = patch(api, location, b"abc", value)
        error(response, 416, "BLOB_UPLOAD_INVALID")
        assert response["Range"] == "0-2"
        assert response["Location"] == location


@pytest.mark.parametrize("value", ["3-5", "bytes 3-5/6", "bytes=3-5", "3-5/*"])
def test_content_range_spellings(api, value):
    location = start_upload(api)
    assert patch(api, location, b"abc", "0-2").status_code == 202
    response = patch(api, location, b"def", value)
    assert response.status_code == 202, body(response)
    assert response["Range"] == "0-5"


def test_content_range_disagreeing_with_content_length_is_416(api):
    location = start_upload(api)
    error(patch(api, location, b"abcdef", "0-2"), 416, "BLOB_UPLOAD_INVALID")
    assert api.get(location)["Range"] == "0-0"


def test_monolithic_post_with_digest(api):
    digest = sha256(BLOB)
    response = request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={digest}", BLOB)
    assert response.status_code == 201, body(response)
    assert response["Location"] == f"/v2/{REPO}/blobs/{digest}"
    assert response["Docker-Content-Digest"] == digest
    assert get_blob(api, digest) == BLOB
    assert uploads_left_clean(api)


def uploads_left_clean(api):
    return not Upload.objects.exists()


def test_post_then_single_put_with_body(api):
    location = start_upload(api)
    response = request(api, "PUT", f"{location}?digest={sha256(BLOB)}", BLOB)
    assert response.status_code == 201, body(response)
    assert get_blob(api, sha256(BLOB)) == BLOB


def test_empty_blob(api):
    location = start_upload(api)
    response = request(api, "PUT", f"{location}?digest={sha256(b'')}")
    assert response.status_code == 201, body(response)
    assert get_blob(api, sha256(b"")) == b""


def test_pushing_an_existing_blob_again_is_fine(api, settings):
    push_blob(api, BLOB)
    push_blob(api, BLOB)
    assert len(blobs_stored(settings)) == 1
    assert not uploads_left(settings)


def test_put_without_digest_is_digest_invalid(api):
    location = start_upload(api)
    first = error(request(api, "PUT", location, BLOB), 400, "DIGEST_INVALID")
    assert "?digest=" in first["message"]


def test_cancel_with_delete(api, settings):
    location = start_upload(api)
    assert patch(api, location, BLOB[:100]).status_code == 202
    assert uploads_left(settings)
    response = request(api, "DELETE", location)
    assert response.status_code == 204
    assert not uploads_left(settings)
    error(api.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    error(patch(api, location, BLOB[100:]), 404, "BLOB_UPLOAD_UNKNOWN")


@pytest.mark.parametrize("method", ["GET", "PATCH", "PUT", "DELETE"])
def test_unknown_upload_id_is_blob_upload_unknown(api, method):
    start_upload(api)  # the package exists
    for upload_id in ("3f1a8f9e-0000-4000-8000-000000000000", "not-a-uuid"):
        response = request(api, method, f"/v2/{REPO}/blobs/uploads/{upload_id}?digest={sha256(b'x')}", b"x")
        first = error(response, 404, "BLOB_UPLOAD_UNKNOWN")
        assert first["detail"] == {"uuid": upload_id}


def test_session_belongs_to_its_repository(api):
    location = start_upload(api, f"{REPO}")
    start_upload(api, "alice/other")
    elsewhere = location.replace(f"/v2/{REPO}/", "/v2/alice/other/")
    error(api.get(elsewhere), 404, "BLOB_UPLOAD_UNKNOWN")


def test_expired_session_is_unknown(api, settings):
    settings.BERTH_UPLOAD_TIMEOUT = 0
    location = start_upload(api)
    error(patch(api, location, b"late"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert not Upload.objects.exists()


def test_session_state_lives_in_the_database(api):
    """Sessions must survive on another worker: offset and state are rows, not memory."""
    location = start_upload(api)
    patch(api, location, BLOB[:100])
    upload = Upload.objects.get()
    assert str(upload.id) == location.rsplit("/", 1)[1]
    assert upload.offset == 100


class TestWrongDigest:
    def test_chunked_upload_with_wrong_digest_stores_nothing(self, api, settings):
        location = start_upload(api)
        patch(api, location, BLOB)
        wrong = sha256(b"something else")
        first = error(request(api, "PUT", f"{location}?digest={wrong}"), 400, "DIGEST_INVALID")
        assert first["detail"] == {"expected": wrong, "actual": sha256(BLOB)}
        assert api.head(f"/v2/{REPO}/blobs/{wrong}").status_code == 404
        assert api.head(f"/v2/{REPO}/blobs/{sha256(BLOB)}").status_code == 404
        assert not blobs_stored(settings)
        assert not uploads_left(settings)
        assert not Upload.objects.exists()

    def test_monolithic_post_with_wrong_digest_stores_nothing(self, api, settings):
        wrong = sha256(b"something else")
        error(request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={wrong}", BLOB), 400, "DIGEST_INVALID")
        assert api.head(f"/v2/{REPO}/blobs/{wrong}").status_code == 404
        assert not blobs_stored(settings)
        assert not uploads_left(settings)

    @pytest.mark.parametrize("digest", ["sha256:abc", "sha256:" + "G" * 64, "nocolon", "sha256:" + "A" * 64])
    def test_malformed_digest(self, api, digest):
        error(request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={digest}", BLOB), 400, "DIGEST_INVALID")

    def test_unsupported_algorithm_is_named(self, api, settings):
        digest = "md5:" + "0" * 32
        first = error(request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={digest}", BLOB),
                      400, "DIGEST_INVALID")
        assert "md5" in first["message"] and "sha256" in first["message"]
        assert not blobs_stored(settings)

    def test_sha512_is_accepted(self, api):
        import hashlib

        digest = "sha512:" + hashlib.sha512(BLOB).hexdigest()
        response = request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={digest}", BLOB)
        assert response.status_code == 201, body(response)
        assert get_blob(api, digest) == BLOB


class TestSizes:
    def test_content_length_larger_than_the_body_is_size_invalid(self, api, settings):
        location = start_upload(api)
        # The client announces 50 bytes and sends ten (the test client can't lie, the socket can).
        response = request(api, "PATCH", location, headers={"Content-Length": "50"},
                           **{"wsgi.input": io.BytesIO(b"only ten b")})
        first = error(response, 400, "SIZE_INVALID")
        assert "Content-Length 50" in first["message"]
        assert api.get(location)["Range"] == "0-0"

    def test_a_short_chunk_is_dropped_and_the_upload_continues(self, api, settings):
        """Bytes of a chunk that broke off half way must not end up in the blob."""
        location = start_upload(api)
        assert patch(api, location, BLOB[:100]).status_code == 202
        response = request(api, "PATCH", location, headers={"Content-Length": "500"},
                           **{"wsgi.input": io.BytesIO(b"garbage that stops early")})
        error(response, 400, "SIZE_INVALID")
        assert api.get(location)["Range"] == "0-99"
        assert patch(api, location, BLOB[100:], f"100-{len(BLOB) - 1}").status_code == 202
        assert request(api, "PUT", f"{location}?digest={sha256(BLOB)}").status_code == 201, "digest must verify"
        assert get_blob(api, sha256(BLOB)) == BLOB

    def test_short_monolithic_post_stores_nothing(self, api, settings):
        digest = sha256(BLOB)
        response = request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={digest}",
                           headers={"Content-Length": str(len(BLOB))}, **{"wsgi.input": io.BytesIO(BLOB[:10])})
        error(response, 400, "SIZE_INVALID")
        assert api.head(f"/v2/{REPO}/blobs/{digest}").status_code == 404
        assert not blobs_stored(settings)
        assert not uploads_left(settings)

    def test_layer_over_the_limit_is_refused_and_nothing_kept(self, api, settings):
        settings.BERTH_MAX_LAYER_SIZE = 1000
        data = b"x" * 1001
        first = error(request(api, "POST", f"/v2/{REPO}/blobs/uploads/?digest={sha256(data)}", data),
                      413, "SIZE_INVALID")
        assert "BERTH_MAX_LAYER_SIZE" in first["message"]
        assert not blobs_stored(settings)
        assert not uploads_left(settings)

    def test_chunks_adding_up_over_the_limit_are_refused(self, api, settings):
        settings.BERTH_MAX_LAYER_SIZE = 1000
        location = start_upload(api)
        assert patch(api, location, b"x" * 600).status_code == 202
        error(patch(api, location, b"x" * 600), 413, "SIZE_INVALID")
        # The refused chunk left nothing behind; cancelling removes the rest.
        assert api.get(location)["Range"] == "0-599"
        request(api, "DELETE", location)
        assert not uploads_left(settings)
        assert not blobs_stored(settings)

    def test_final_put_over_the_limit(self, api, settings):
        settings.BERTH_MAX_LAYER_SIZE = 1000
        data = b"y" * 1500
        location = start_upload(api)
        error(request(api, "PUT", f"{location}?digest={sha256(data)}", data), 413, "SIZE_INVALID")
        assert api.head(f"/v2/{REPO}/blobs/{sha256(data)}").status_code == 404
        assert not blobs_stored(settings)


class TestMount:
    def test_mount_from_a_repository_holding_the_blob(self, api):
        digest = push_blob(api, BLOB, "alice/one")
        response = request(api, "POST", f"/v2/alice/two/blobs/uploads/?mount={digest}&from=alice/one")
        assert response.status_code == 201, body(response)
        assert response["Location"] == f"/v2/alice/two/blobs/{digest}"
        assert response["Docker-Content-Digest"] == digest
        assert get_blob(api, digest, "alice/two") == BLOB
        assert not Upload.objects.exists()

    @pytest.mark.parametrize("query", [
        "mount={digest}&from=alice/nowhere",  # unknown source
        "mount={missing}&from=alice/one",  # the source lacks the blob
        "mount={digest}",  # no from: never searched for
    ])
    def test_unmountable_blob_starts_a_session(self, api, query):
        digest = push_blob(api, BLOB, "alice/one")
        query = query.format(digest=digest, missing=sha256(b"missing"))
        response = request(api, "POST", f"/v2/alice/two/blobs/uploads/?{query}")
        assert response.status_code == 202, body(response)
        assert response["Location"].startswith("/v2/alice/two/blobs/uploads/")
        assert api.head(f"/v2/alice/two/blobs/{digest}").status_code == 404
        # The new session works like any other.
        location = response["Location"]
        assert request(api, "PUT", f"{location}?digest={sha256(b'new')}", b"new").status_code == 201

    def test_mount_with_a_malformed_digest(self, api):
        push_blob(api, BLOB, "alice/one")
        error(request(api, "POST", "/v2/alice/two/blobs/uploads/?mount=sha256:nope&from=alice/one"),
              400, "DIGEST_INVALID")


def test_blob_routes_never_read_request_body(api, monkeypatch):
    """Blob bodies stream from wsgi.input; request.body would load a layer into memory."""
    from django.http import HttpRequest

    def forbidden(self):
        raise AssertionError("a blob route read request.body")

    monkeypatch.setattr(HttpRequest, "body", property(forbidden))
    location = start_upload(api)
    assert patch(api, location, BLOB[:100], "0-99").status_code == 202
    assert request(api, "PUT", f"{location}?digest={sha256(BLOB)}", BLOB[100:]).status_code == 201
    push_blob(api, b"monolithic")
