"""S3BlobStore against a real S3 API over HTTP: multipart streaming, re-deriving, redirects, start-up check.

The helpers drive the store as the upload service does (registry.services.hashing): one hasher
above the store, its state saved between PATCHes, or dropped to take the fallback that reads the
upload back.
"""

import hashlib
import io
import tracemalloc

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from registry.oci.digests import parse_digest, verify
from registry.oci.errors import DigestInvalid
from registry.services.hashing import copy_stream, hasher_at, store_stream
from registry.storage.s3 import MIN_PART, PART_SIZE, S3BlobStore
from tests.s3 import bucket_objects, open_multipart_uploads

MiB = 1024 * 1024


def digest_of(data: bytes):
    return parse_digest("sha256:" + hashlib.sha256(data).hexdigest())


def pattern(size: int, seed: int = 0) -> bytes:
    """Bytes that differ from part to part, so misordered parts change the digest."""
    block = hashlib.sha256(str(seed).encode()).digest() * 32  # 1 KiB
    return (block * (size // len(block) + 1))[:size]


@pytest.fixture
def store(s3_settings):
    return S3BlobStore()


class Upload:
    """An upload as its database row holds it: offset, store state and saved hash state."""

    def __init__(self, store, upload_id: str):
        self.store, self.id = store, upload_id
        self.offset, self.state, self.saved = 0, {}, b""

    def append(self, stream, length: int | None, *, rederive: bool = False) -> None:
        """One PATCH; with rederive it lands on a worker that can't load the saved hash state."""
        hasher = hasher_at(self.store, upload_id=self.id, offset=self.offset, state=self.state,
                           saved=None if rederive else self.saved)
        with self.store.writer(self.id, self.offset, self.state) as out:
            self.offset += copy_stream(stream, out, hasher, length=length, room=10**12)
            self.state = out.close()
        self.saved = hasher.state()

    def finish(self, digest, *, rederive: bool = False) -> str:
        hasher = hasher_at(self.store, upload_id=self.id, offset=self.offset, state=self.state,
                           saved=None if rederive else self.saved, reopen=False)
        verify(hasher, digest)
        return self.store.complete(self.id, self.offset, self.state, digest)


def upload_in_patches(store, upload_id: str, chunks: list[bytes], *, rederive: bool = False) -> Upload:
    """Append chunks as consecutive PATCHes; with rederive, each lands on a worker without the hash."""
    upload = Upload(store, upload_id)
    for chunk in chunks:
        upload.append(io.BytesIO(chunk), len(chunk), rederive=rederive)
    return upload


def read_back(store, key: str) -> bytes:
    with store.open("unused", key=key) as f:
        return f.read()


def assert_only(s3_server, bucket, key, data):
    """The bucket holds exactly the blob, and no multipart upload is left open."""
    assert bucket_objects(s3_server, bucket) == {key: len(data)}
    assert open_multipart_uploads(s3_server, bucket) == []


@pytest.mark.parametrize("size", [0, 1000, MIN_PART - 1, MIN_PART, PART_SIZE, 2 * PART_SIZE + 3 * MiB])
def test_one_patch_stores_the_blob_and_nothing_else(store, s3_server, s3_bucket, size):
    data = pattern(size)
    upload = upload_in_patches(store, "u1", [data])
    assert upload.offset == size
    key = upload.finish(digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)
    tags = s3_server.client().get_object_tagging(Bucket=s3_bucket, Key=key)["TagSet"]
    assert {"Key": "digest", "Value": str(digest_of(data))} in tags


def test_a_small_blob_is_finished_without_copying(store, s3_server, s3_bucket):
    data = b"config blob" * 100
    upload = upload_in_patches(store, "u2", [data])
    (pending_key, _), = upload.state["pending"]
    assert upload.finish(digest_of(data)) == pending_key


def test_a_large_patch_streams_in_parts_and_the_tail_is_the_only_pending_piece(store):
    data = pattern(3 * PART_SIZE + 1234)
    upload = upload_in_patches(store, "u3", [data])
    assert [size for _, _, size in upload.state["mpu"]["parts"]] == [PART_SIZE] * 3
    assert [size for _, size in upload.state["pending"]] == [1234]


def test_many_patches_smaller_than_an_s3_part(store, s3_server, s3_bucket):
    chunks = [pattern(300 * 1024 + i, seed=i) for i in range(40)]  # ~12 MiB in 40 PATCHes of 300 KiB
    data = b"".join(chunks)
    upload = upload_in_patches(store, "u4", chunks)
    assert upload.offset == len(data)
    parts = upload.state["mpu"]["parts"]
    assert len(parts) == 2 and all(size >= MIN_PART for _, _, size in parts)
    assert sum(size for _, size in upload.state["pending"]) < MIN_PART
    key = upload.finish(digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)


def test_many_tiny_patches_that_never_make_a_part(store, s3_server, s3_bucket):
    chunks = [bytes([i]) * 100 for i in range(30)]
    data = b"".join(chunks)
    upload = upload_in_patches(store, "u5", chunks)
    key = upload.finish(digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)


@pytest.mark.parametrize("sizes", [
    [6 * MiB, 6 * MiB, 100],  # parts and a tail on different workers
    [PART_SIZE, 3 * MiB, 3 * MiB],  # tails merged into a part after a re-derivation
    [1000, 2000],  # only pending objects
])
def test_patches_on_workers_that_cannot_load_the_hash_state(store, s3_server, s3_bucket, sizes):
    chunks = [pattern(size, seed=i) for i, size in enumerate(sizes)]
    data = b"".join(chunks)
    upload = upload_in_patches(store, "u6", chunks, rederive=True)
    key = upload.finish(digest_of(data), rederive=True)
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)


def test_finishing_where_the_hash_state_cannot_load_uses_the_completed_upload(store, s3_server, s3_bucket):
    data = pattern(2 * PART_SIZE)
    upload = upload_in_patches(store, "u7", [data])
    mpu_key = upload.state["mpu"]["key"]
    assert upload.finish(digest_of(data), rederive=True) == mpu_key
    assert_only(s3_server, s3_bucket, mpu_key, data)


def test_a_failed_patch_after_a_re_derivation_leaves_the_saved_state_usable(store, s3_server, s3_bucket):
    import copy

    first = pattern(6 * MiB, seed=1)
    upload = upload_in_patches(store, "u8", [first])
    saved = copy.deepcopy(upload.state)

    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise OSError("client went away")

    with pytest.raises(OSError):
        upload.append(Broken(), 10, rederive=True)
    upload.state = saved  # the database still holds the state before the failed PATCH
    second = pattern(2 * MiB, seed=2)
    upload.append(io.BytesIO(second), len(second), rederive=True)
    key = upload.finish(digest_of(first + second))
    assert read_back(store, key) == first + second


def test_a_wrong_digest_leaves_nothing_behind(store, s3_server, s3_bucket):
    data = pattern(PART_SIZE + 2 * MiB)
    upload = upload_in_patches(store, "u9", [data[:MiB], data[MiB:]])
    with pytest.raises(DigestInvalid):
        upload.finish(digest_of(b"something else"))
    store.abort("u9", upload.state)  # what services.uploads does when finishing fails
    assert bucket_objects(s3_server, s3_bucket) == {}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_a_monolithic_store_with_a_wrong_digest_leaves_nothing(store, s3_server, s3_bucket):
    data = pattern(PART_SIZE + 1)
    with pytest.raises(DigestInvalid):
        store_stream(store, io.BytesIO(data), length=len(data), digest=digest_of(b"other"))
    assert bucket_objects(s3_server, s3_bucket) == {}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_aborting_an_upload_aborts_its_multipart_upload(store, s3_server, s3_bucket):
    upload = upload_in_patches(store, "u10", [pattern(PART_SIZE + 5)])
    assert open_multipart_uploads(s3_server, s3_bucket)
    store.abort("u10", upload.state)
    assert open_multipart_uploads(s3_server, s3_bucket) == []
    assert bucket_objects(s3_server, s3_bucket) == {}


class Generated(io.RawIOBase):
    """A request body of size bytes made up as it is read, so only the store's buffers count."""

    def __init__(self, size: int):
        self.left, self.block = size, pattern(MiB)

    def read(self, size=-1):
        size = min(self.left, MiB if size is None or size < 0 else size, MiB)
        self.left -= size
        return self.block[:size]


def test_streaming_holds_at_most_a_part_or_two_in_memory(store):
    size = 12 * PART_SIZE
    assert store.bucket.client  # made once per thread (botocore's service model is most of it): not counted
    tracemalloc.start()
    try:
        Upload(store, "u11").append(Generated(size), size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * PART_SIZE, f"peak {peak / MiB:.1f} MiB while streaming {size / MiB:.0f} MiB"


def test_open_from_an_offset(store):
    data = pattern(3 * MiB)
    key = upload_in_patches(store, "u12", [data]).finish(digest_of(data))
    with store.open("unused", key=key, offset=MiB + 7) as f:
        assert f.read() == data[MiB + 7:]


def test_the_redirect_url_serves_the_blob_to_a_plain_http_client(store, s3_settings):
    data = pattern(PART_SIZE + 10)
    key = upload_in_patches(store, "u13", [data]).finish(digest_of(data))
    url = store.redirect_url(str(digest_of(data)), key=key)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    response = requests.get(url, timeout=30)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == digest_of(data).encoded
    s3_settings.BERTH_BLOB_REDIRECT = False
    assert store.redirect_url(str(digest_of(data)), key=key) is None


def test_check_passes_on_a_reachable_bucket(store):
    store.check()


def test_check_names_a_missing_bucket(s3_settings):
    s3_settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket-here"
    with pytest.raises(ImproperlyConfigured, match="'no-such-bucket-here'.*does not exist.*AWS_STORAGE_BUCKET_NAME"):
        S3BlobStore().check()


def test_check_names_an_unreachable_endpoint(s3_settings):
    from tests.pgplugin import free_port

    s3_settings.AWS_S3_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ImproperlyConfigured, match="can't reach.*AWS_S3_ENDPOINT_URL"):
        S3BlobStore().check()


def test_a_racing_patch_that_lost_leaves_the_winner_whole(store, s3_server, s3_bucket):
    """Two PATCHes from the same saved row: only the one whose state was saved counts."""
    import copy

    first = pattern(1000, seed=1)
    winner = upload_in_patches(store, "u14", [first])
    loser = Upload(store, "u14")
    loser.offset, loser.state, loser.saved = winner.offset, copy.deepcopy(winner.state), winner.saved
    winner_bytes, loser_bytes = pattern(2000, seed=2), pattern(2000, seed=3)
    winner.append(io.BytesIO(winner_bytes), 2000)
    loser.append(io.BytesIO(loser_bytes), 2000)  # its database update fails: nothing names its state
    key = winner.finish(digest_of(first + winner_bytes))
    assert read_back(store, key) == first + winner_bytes


def test_a_part_overwritten_by_a_racing_patch_fails_the_upload(store):
    import copy

    from registry.oci.errors import BlobUploadInvalid

    winner_bytes, loser_bytes = pattern(PART_SIZE, seed=4), pattern(PART_SIZE, seed=5)
    winner = upload_in_patches(store, "u15", [winner_bytes])
    loser = Upload(store, "u15")
    loser.state = {"mpu": copy.deepcopy(winner.state["mpu"]) | {"parts": []}}
    loser.append(io.BytesIO(loser_bytes), PART_SIZE)
    with pytest.raises(BlobUploadInvalid, match="concurrent"):
        winner.finish(digest_of(winner_bytes))


def test_check_names_refused_credentials(settings, tmp_path):
    from tests.s3 import S3Server

    server = S3Server(tmp_path / "moto.log", check_credentials=True).start()
    try:
        bucket = server.create_bucket()
        for name, value in server.env(bucket).items():
            setattr(settings, name, value if name != "BERTH_BLOB_REDIRECT" else True)
        S3BlobStore().check()  # the right credentials pass
        settings.AWS_SECRET_ACCESS_KEY = "not-the-secret"
        with pytest.raises(ImproperlyConfigured,
                           match=f"'{bucket}'.*access was refused; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
            S3BlobStore().check()
    finally:
        server.stop()


def test_a_re_derivation_copies_a_large_upload_in_ranges_s3_accepts(store, monkeypatch, s3_server, s3_bucket):
    from registry.storage import s3

    monkeypatch.setattr(s3, "MAX_COPY_PART", 6 * MiB)  # S3's 5 GiB copy limit, scaled down
    first, second = pattern(2 * PART_SIZE, seed=6), pattern(MiB, seed=7)
    upload = upload_in_patches(store, "u16", [first, second], rederive=True)
    copied = [size for _, _, size in upload.state["mpu"]["parts"]]
    assert len(copied) == 3 and sum(copied) == len(first) and min(copied) >= MIN_PART
    key = upload.finish(digest_of(first + second), rederive=True)
    assert read_back(store, key) == first + second
    assert_only(s3_server, s3_bucket, key, first + second)


def test_parts_grow_with_the_layer_size_limit(store, s3_settings):
    s3_settings.BERTH_MAX_LAYER_SIZE = 9000 * 10 * MiB  # 10,000 parts of 8 MiB would not hold it
    data = pattern(21 * MiB)
    upload = upload_in_patches(store, "u17", [data])
    assert [size for _, _, size in upload.state["mpu"]["parts"]] == [10 * MiB, 10 * MiB]
    assert upload.finish(digest_of(data))


def test_the_client_is_the_one_django_storages_configured(store, s3_settings):
    import threading

    from storages.backends.s3 import S3Storage

    assert isinstance(store.bucket.storage, S3Storage)
    client = store.bucket.client
    assert client is store.bucket.storage.connection.meta.client
    assert client.meta.endpoint_url == s3_settings.AWS_S3_ENDPOINT_URL
    config = client.meta.config
    # Throttling backs off (issue 11); an unreachable S3 fails a request in seconds, not minutes.
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}
    assert config.connect_timeout <= 5 and config.read_timeout <= 30
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(store.bucket.client)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(other is client for other in seen)  # one per process, not a session per thread


def test_a_key_prefix_applies_to_every_call(s3_settings, s3_server, s3_bucket):
    s3_settings.AWS_LOCATION = "team/berth"
    store = S3BlobStore()
    data = pattern(PART_SIZE + 100)
    key = upload_in_patches(store, "u18", [data]).finish(digest_of(data))
    assert key.startswith("team/berth/blobs/") and bucket_objects(s3_server, s3_bucket) == {key: len(data)}
    assert store.exists("unused", key=key)
    assert requests.get(store.redirect_url("unused", key=key), timeout=30).content == data
    store.delete("unused", key=key)
    assert bucket_objects(s3_server, s3_bucket) == {}
