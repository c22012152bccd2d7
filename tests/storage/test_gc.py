"""manage.py gc on both backends: what it removes, what it keeps, and --dry-run."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from registry.models import Blob, PackageBlob, Upload
from registry.services.gc import gc_run
from registry.storage import get_store
from tests.registry.helpers import REPO, body, push_blob, push_image, request, sha256, start_upload
from tests.s3 import bucket_objects, open_multipart_uploads

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
DAY = timedelta(days=1)


@pytest.fixture(params=["filesystem", "s3"])
def backend(request, settings):
    if request.param == "s3":
        request.getfixturevalue("s3_settings")
    return request.param


def age(digest: str, by: timedelta) -> None:
    """Make a blob and its links look older than they are."""
    Blob.objects.filter(digest=digest).update(created_at=timezone.now() - by)
    PackageBlob.objects.filter(blob__digest=digest).update(created_at=timezone.now() - by, seen_at=timezone.now() - by)


def stored(digest: str) -> bool:
    blob = Blob.objects.filter(digest=digest).first()
    return blob is not None and get_store().exists(digest, key=blob.storage_key)


def gc(*args: str) -> str:
    out = io.StringIO()
    call_command("gc", *args, stdout=out)
    return out.getvalue()


def test_gc_removes_an_orphaned_blob_and_keeps_referenced_and_fresh_ones(api, backend):
    layer = b"layer in a manifest" * 100
    push_image(api, "v1", layers=(layer,))
    orphan = push_blob(api, b"pushed, never used" * 1000)
    fresh = push_blob(api, b"pushed a minute ago, manifest still to come")
    for digest in (sha256(layer), orphan):
        age(digest, 2 * DAY)
    output = gc()
    assert f"removed blob {orphan} (17.6 KiB, 18000 bytes)" in output
    assert not Blob.objects.filter(digest=orphan).exists() and not PackageBlob.objects.filter(
        blob__digest=orphan).exists()
    assert api.head(f"/v2/{REPO}/blobs/{orphan}").status_code == 404
    assert stored(sha256(layer)) and stored(fresh)
    assert api.get(f"/v2/{REPO}/manifests/v1").status_code == 200


def test_the_bytes_of_a_removed_blob_are_gone(api, backend, settings):
    orphan = push_blob(api, b"x" * 5000)
    key = Blob.objects.get(digest=orphan).storage_key
    assert get_store().exists(orphan, key=key)
    age(orphan, 2 * DAY)
    gc()
    if backend == "s3":
        assert not get_store().exists(orphan, key=key)
    else:
        assert not (settings.BERTH_DATA_DIR / "blobs" / "sha256" / orphan[7:9] / orphan[7:]).exists()


def test_a_recently_mounted_old_blob_is_kept(api, backend):
    orphan = push_blob(api, b"old, but just mounted elsewhere")
    age(orphan, 2 * DAY)
    response = request(api, "POST", f"/v2/alice/second/blobs/uploads/?mount={orphan}&from={REPO}")
    assert response.status_code == 201, body(response)
    gc()
    assert stored(orphan)


def test_an_old_blob_a_push_skipped_after_a_head_is_kept(api, backend):
    # docker HEADs each layer and skips uploading those that exist; its manifest comes later.
    skipped = push_blob(api, b"old and unreferenced, but a pusher was just told it exists")
    forgotten = push_blob(api, b"old and unreferenced, and nobody asked")
    age(skipped, 2 * DAY)
    age(forgotten, 2 * DAY)
    assert request(api, "HEAD", f"/v2/{REPO}/blobs/{skipped}").status_code == 200
    gc()
    assert stored(skipped)
    assert not stored(forgotten)
    # Seen once; a day and more later, with no manifest naming it, it goes.
    age(skipped, 2 * DAY)
    gc()
    assert not stored(skipped)


def test_pushing_an_old_blob_again_keeps_it(api, backend):
    again = push_blob(api, b"pushed again by a client that didn't HEAD first")
    age(again, 2 * DAY)
    assert push_blob(api, b"pushed again by a client that didn't HEAD first") == again
    gc()
    assert stored(again)


def test_dry_run_prints_sizes_and_removes_nothing(api, backend):
    orphan = push_blob(api, b"y" * 3 * MiB)
    age(orphan, 2 * DAY)
    location = start_upload(api)
    assert request(api, "PATCH", location, b"z" * 1000).status_code == 202
    Upload.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    output = gc("--dry-run")
    assert f"would remove blob {orphan} (3.0 MiB, 3145728 bytes)" in output
    assert f"would remove expired upload {location.rsplit('/', 1)[1]} (1000 B, 1000 bytes)" in output
    assert "Would remove 2 item(s)" in output
    assert stored(orphan) and Upload.objects.exists()


def test_expired_uploads_are_removed_with_their_bytes(api, backend, request):
    location = start_upload(api)
    assert request_patch(api, location, b"w" * (6 * MiB)).status_code == 202
    Upload.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    gc()
    assert not Upload.objects.exists()
    if backend == "s3":
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
        assert open_multipart_uploads(server, bucket) == [] and bucket_objects(server, bucket) == {}


def request_patch(api, location, data):
    return request(api, "PATCH", location, data)


def test_gc_while_a_push_is_under_way_keeps_its_bytes(api, backend):
    """Even with no grace period, an upload in progress keeps everything it has stored."""
    data = bytes(range(256)) * (40 * 1024)  # 10 MiB: an open multipart upload and a tail on S3
    location = start_upload(api)
    assert request_patch(api, location, data[:7 * MiB]).status_code == 202
    report = gc_run(grace=timedelta(0), now=timezone.now() + timedelta(minutes=1))
    assert report.uploads == [] and report.stored == []
    assert request_patch(api, location, data[7 * MiB:]).status_code == 202
    response = request(api, "PUT", f"{location}?digest={sha256(data)}")
    assert response.status_code == 201, body(response)
    assert stored(sha256(data))


def test_stray_stored_bytes_are_swept(backend, request):
    """Bytes with no database row (a worker died mid-upload) go once older than the grace period."""
    store = get_store()
    if backend == "s3":
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
        server.client().put_object(Bucket=bucket, Key="blobs/left-behind", Body=b"q" * 10)
        mpu = server.client().create_multipart_upload(Bucket=bucket, Key="blobs/never-finished")
    else:
        (store.upload_root / "dead-upload").write_bytes(b"q" * 10)
    early = gc_run(grace=timedelta(hours=1)).stored
    # moto reports every multipart upload as initiated in 2010, so only objects show the grace period there.
    assert [item for item in early if item.kind != "unfinished multipart upload"] == []
    late = gc_run(grace=timedelta(hours=1), now=timezone.now() + timedelta(hours=2)).stored
    swept = sorted((item.kind, item.size) for item in early + late)
    assert swept == ([("object", 10), ("unfinished multipart upload", 0)] if backend == "s3"
                     else [("upload file", 10)])
    if backend == "s3":
        assert bucket_objects(server, bucket) == {}
        assert mpu["UploadId"] not in open_multipart_uploads(server, bucket)
    else:
        assert not (store.upload_root / "dead-upload").exists()
