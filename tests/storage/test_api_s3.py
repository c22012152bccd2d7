"""The distribution API with BERTH_STORAGE=s3, through the Django test client as the owner."""

import hashlib
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from registry.models import Blob, Manifest, Upload
from registry.storage.s3 import PART_SIZE
from tests.pgplugin import free_port
from tests.registry.helpers import (
    REPO,
    body,
    error,
    image_config,
    push_blob,
    push_image,
    request,
    sha256,
    start_upload,
)
from tests.s3 import bucket_objects, open_multipart_uploads

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def _s3(s3_settings):
    return s3_settings


def pattern(size: int) -> bytes:
    block = hashlib.sha256(str(size).encode()).digest() * 32
    return (block * (size // len(block) + 1))[:size]


def patch(api, location, data, start):
    return request(api, "PATCH", location, data, headers={"Content-Range": f"{start}-{start + len(data) - 1}"})


def unloadable_hash_state() -> None:
    """Make the saved hash state look written on another platform, as a worker elsewhere might find it."""
    Upload.objects.update(hash_state=b"openssl-sha256-v1:s390x-big:112:" + bytes(112))


def chunked_push(api, chunks, *, name=REPO, forget_hash=False) -> str:
    data = b"".join(chunks)
    location, offset = start_upload(api, name), 0
    for chunk in chunks:
        if forget_hash:
            unloadable_hash_state()
        response = patch(api, location, chunk, offset)
        assert response.status_code == 202, body(response)
        offset += len(chunk)
        assert response["Range"] == f"0-{offset - 1}"
    if forget_hash:
        unloadable_hash_state()
    response = request(api, "PUT", f"{location}?digest={sha256(data)}")
    assert response.status_code == 201, body(response)
    return sha256(data)


def test_get_redirects_to_a_presigned_url_that_serves_the_blob(api, s3_settings):
    data = pattern(PART_SIZE + 3 * MiB)
    digest = chunked_push(api, [data[:4 * MiB], data[4 * MiB:9 * MiB], data[9 * MiB:]])
    response = api.get(f"/v2/{REPO}/blobs/{digest}")
    assert response.status_code == 307
    assert response["Docker-Content-Digest"] == digest
    assert response["Location"].startswith(s3_settings.AWS_S3_ENDPOINT_URL)
    fetched = requests.get(response["Location"], timeout=30)
    assert fetched.status_code == 200 and sha256(fetched.content) == digest


def test_get_streams_when_redirects_are_off(api, s3_settings):
    s3_settings.BERTH_BLOB_REDIRECT = False
    data = pattern(2 * MiB + 5)
    digest = push_blob(api, data)
    response = api.get(f"/v2/{REPO}/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data))
    assert body(response) == data
    ranged = api.get(f"/v2/{REPO}/blobs/{digest}", headers={"Range": f"bytes={MiB}-{MiB + 99}"})
    assert ranged.status_code == 206 and body(ranged) == data[MiB:MiB + 100]
    assert ranged["Content-Range"] == f"bytes {MiB}-{MiB + 99}/{len(data)}"


def test_head_is_answered_from_the_database(api, s3_settings):
    data = b"answered without S3" * 10
    digest = push_blob(api, data)
    s3_settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # S3 is gone now
    response = api.head(f"/v2/{REPO}/blobs/{digest}")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(data)) and response["Docker-Content-Digest"] == digest


def test_a_blob_pushed_twice_or_to_another_package_is_stored_once(api, s3_server, s3_bucket):
    data = pattern(PART_SIZE + 1)
    digest = push_blob(api, data)
    assert chunked_push(api, [data[:MiB], data[MiB:]]) == digest
    assert chunked_push(api, [data], name="alice/other") == digest
    push_blob(api, data, name="alice/third")
    key = Blob.objects.get(digest=digest).storage_key
    assert bucket_objects(s3_server, s3_bucket) == {key: len(data)}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_many_small_patches_on_workers_that_cannot_load_the_hash_state(api, s3_server, s3_bucket):
    chunks = [pattern(700 * 1024 + i) for i in range(12)]  # ~8 MiB in 12 PATCHes under S3's part size
    digest = chunked_push(api, chunks, forget_hash=True)
    key = Blob.objects.get(digest=digest).storage_key
    assert bucket_objects(s3_server, s3_bucket) == {key: sum(map(len, chunks))}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_a_wrong_digest_leaves_nothing_in_the_bucket(api, s3_server, s3_bucket):
    data = pattern(PART_SIZE + 2 * MiB)
    location = start_upload(api)
    assert patch(api, location, data[:6 * MiB], 0).status_code == 202
    assert patch(api, location, data[6 * MiB:], 6 * MiB).status_code == 202
    wrong = sha256(b"not this")
    error(request(api, "PUT", f"{location}?digest={wrong}"), 400, "DIGEST_INVALID")
    assert not Upload.objects.exists() and not Blob.objects.exists()
    assert bucket_objects(s3_server, s3_bucket) == {}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_an_expired_upload_aborts_its_multipart_upload(api, s3_server, s3_bucket, s3_settings):
    location = start_upload(api)
    assert patch(api, location, pattern(6 * MiB), 0).status_code == 202
    assert open_multipart_uploads(s3_server, s3_bucket)
    Upload.objects.update(updated_at=timezone.now() - timedelta(seconds=s3_settings.BERTH_UPLOAD_TIMEOUT + 1))
    error(api.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert open_multipart_uploads(s3_server, s3_bucket) == []
    assert bucket_objects(s3_server, s3_bucket) == {}


def test_a_cancelled_upload_leaves_nothing(api, s3_server, s3_bucket):
    location = start_upload(api)
    assert patch(api, location, pattern(PART_SIZE + 100), 0).status_code == 202
    assert request(api, "DELETE", location).status_code == 204
    assert open_multipart_uploads(s3_server, s3_bucket) == []
    assert bucket_objects(s3_server, s3_bucket) == {}


def test_a_manifest_push_reads_its_config_from_s3(api):
    labels = {"org.opencontainers.image.source": "https://example.com/s3"}
    digest, _ = push_image(api, "v1", config=image_config(labels=labels), layers=(pattern(MiB),))
    assert Manifest.objects.get(digest=digest).labels == labels
    response = api.get(f"/v2/{REPO}/manifests/v1")
    assert response.status_code == 200 and response["Docker-Content-Digest"] == digest
