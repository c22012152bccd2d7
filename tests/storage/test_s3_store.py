"""S3BlobStore against a real S3 API over HTTP: multipart streaming, rehashing, redirects, start-up check."""

import hashlib
import io
import tracemalloc

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from registry.oci.digests import parse_digest
from registry.oci.errors import DigestInvalid
from registry.storage import BlobStore
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


def upload_in_patches(store, upload_id: str, chunks: list[bytes], *, forget_hash: bool = False):
    """Append chunks as consecutive PATCHes; with forget_hash, each lands on a "worker" without the hash."""
    offset, state = 0, {}
    for chunk in chunks:
        if forget_hash:
            BlobStore.hashes._entries.clear()
        offset, state = store.append(upload_id, offset, state, io.BytesIO(chunk), length=len(chunk))
    if forget_hash:
        BlobStore.hashes._entries.clear()
    return offset, state


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
    offset, state = upload_in_patches(store, "u1", [data])
    assert offset == size
    key = store.finish("u1", offset, state, digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)
    tags = s3_server.client().get_object_tagging(Bucket=s3_bucket, Key=key)["TagSet"]
    assert {"Key": "digest", "Value": str(digest_of(data))} in tags


def test_a_small_blob_is_finished_without_copying(store, s3_server, s3_bucket):
    data = b"config blob" * 100
    offset, state = upload_in_patches(store, "u2", [data])
    (pending_key, _), = state["pending"]
    assert store.finish("u2", offset, state, digest_of(data)) == pending_key


def test_a_large_patch_streams_in_parts_and_the_tail_is_the_only_pending_piece(store):
    data = pattern(3 * PART_SIZE + 1234)
    offset, state = upload_in_patches(store, "u3", [data])
    assert [size for _, _, size in state["mpu"]["parts"]] == [PART_SIZE] * 3
    assert [size for _, size in state["pending"]] == [1234]


def test_many_patches_smaller_than_an_s3_part(store, s3_server, s3_bucket):
    chunks = [pattern(300 * 1024 + i, seed=i) for i in range(40)]  # ~12 MiB in 40 PATCHes of 300 KiB
    data = b"".join(chunks)
    offset, state = upload_in_patches(store, "u4", chunks)
    assert offset == len(data)
    parts = state["mpu"]["parts"]
    assert len(parts) == 2 and all(size >= MIN_PART for _, _, size in parts)
    assert sum(size for _, size in state["pending"]) < MIN_PART
    key = store.finish("u4", offset, state, digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)


def test_many_tiny_patches_that_never_make_a_part(store, s3_server, s3_bucket):
    chunks = [bytes([i]) * 100 for i in range(30)]
    data = b"".join(chunks)
    offset, state = upload_in_patches(store, "u5", chunks)
    key = store.finish("u5", offset, state, digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)


@pytest.mark.parametrize("sizes", [
    [6 * MiB, 6 * MiB, 100],  # parts and a tail on different workers
    [PART_SIZE, 3 * MiB, 3 * MiB],  # tails merged into a part after a rehash
    [1000, 2000],  # only pending objects
])
def test_patches_that_land_on_workers_without_the_hash(store, s3_server, s3_bucket, sizes):
    chunks = [pattern(size, seed=i) for i, size in enumerate(sizes)]
    data = b"".join(chunks)
    offset, state = upload_in_patches(store, "u6", chunks, forget_hash=True)
    key = store.finish("u6", offset, state, digest_of(data))
    assert read_back(store, key) == data
    assert_only(s3_server, s3_bucket, key, data)


def test_finishing_on_a_worker_without_the_hash_uses_the_completed_upload(store, s3_server, s3_bucket):
    data = pattern(2 * PART_SIZE)
    offset, state = upload_in_patches(store, "u7", [data])
    mpu_key = state["mpu"]["key"]
    BlobStore.hashes._entries.clear()
    assert store.finish("u7", offset, state, digest_of(data)) == mpu_key
    assert_only(s3_server, s3_bucket, mpu_key, data)


def test_a_failed_patch_after_a_rehash_leaves_the_saved_state_usable(store, s3_server, s3_bucket):
    first = pattern(6 * MiB, seed=1)
    offset, saved = upload_in_patches(store, "u8", [first])
    BlobStore.hashes._entries.clear()

    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise OSError("client went away")

    import copy
    with pytest.raises(OSError):
        store.append("u8", offset, copy.deepcopy(saved), Broken(), length=10)
    second = pattern(2 * MiB, seed=2)
    offset, state = store.append("u8", offset, saved, io.BytesIO(second), length=len(second))
    key = store.finish("u8", offset, state, digest_of(first + second))
    assert read_back(store, key) == first + second


def test_a_wrong_digest_leaves_nothing_behind(store, s3_server, s3_bucket):
    data = pattern(PART_SIZE + 2 * MiB)
    offset, state = upload_in_patches(store, "u9", [data[:MiB], data[MiB:]])
    with pytest.raises(DigestInvalid):
        store.finish("u9", offset, state, digest_of(b"something else"))
    store.discard("u9", state)  # what services.uploads does when finishing fails
    assert bucket_objects(s3_server, s3_bucket) == {}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_a_monolithic_store_with_a_wrong_digest_leaves_nothing(store, s3_server, s3_bucket):
    data = pattern(PART_SIZE + 1)
    with pytest.raises(DigestInvalid):
        store.store(io.BytesIO(data), length=len(data), digest=digest_of(b"other"))
    assert bucket_objects(s3_server, s3_bucket) == {}
    assert open_multipart_uploads(s3_server, s3_bucket) == []


def test_discarding_an_upload_aborts_its_multipart_upload(store, s3_server, s3_bucket):
    offset, state = upload_in_patches(store, "u10", [pattern(PART_SIZE + 5)])
    assert open_multipart_uploads(s3_server, s3_bucket)
    store.discard("u10", state)
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
    tracemalloc.start()
    try:
        store.append("u11", 0, {}, Generated(size), length=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * PART_SIZE, f"peak {peak / MiB:.1f} MiB while streaming {size / MiB:.0f} MiB"


def test_open_from_an_offset(store):
    data = pattern(3 * MiB)
    offset, state = upload_in_patches(store, "u12", [data])
    key = store.finish("u12", offset, state, digest_of(data))
    with store.open("unused", key=key, offset=MiB + 7) as f:
        assert f.read() == data[MiB + 7:]


def test_the_redirect_url_serves_the_blob_to_a_plain_http_client(store, s3_settings):
    data = pattern(PART_SIZE + 10)
    offset, state = upload_in_patches(store, "u13", [data])
    key = store.finish("u13", offset, state, digest_of(data))
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


def test_a_racing_patch_that_lost_never_lends_its_hash(store, s3_server, s3_bucket):
    """Two PATCHes at the same offset on one worker: only the one whose state was saved counts."""
    import copy

    first = pattern(1000, seed=1)
    offset, saved = upload_in_patches(store, "u14", [first])
    winner_bytes, loser_bytes = pattern(2000, seed=2), pattern(2000, seed=3)
    winner_offset, winner = store.append("u14", offset, copy.deepcopy(saved), io.BytesIO(winner_bytes), length=2000)
    store.append("u14", offset, copy.deepcopy(saved), io.BytesIO(loser_bytes), length=2000)  # its save fails
    key = store.finish("u14", winner_offset, winner, digest_of(first + winner_bytes))
    assert read_back(store, key) == first + winner_bytes


def test_a_part_overwritten_by_a_racing_patch_fails_the_upload(store):
    import copy

    from registry.oci.errors import BlobUploadInvalid

    winner_bytes, loser_bytes = pattern(PART_SIZE, seed=4), pattern(PART_SIZE, seed=5)
    offset, winner = store.append("u15", 0, {}, io.BytesIO(winner_bytes), length=PART_SIZE)
    store.append("u15", 0, {"mpu": copy.deepcopy(winner["mpu"]) | {"parts": []}}, io.BytesIO(loser_bytes),
                 length=PART_SIZE)
    with pytest.raises(BlobUploadInvalid, match="concurrent"):
        store.finish("u15", offset, winner, digest_of(winner_bytes))


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


def test_a_rehash_copies_a_large_upload_in_ranges_s3_accepts(store, monkeypatch, s3_server, s3_bucket):
    from registry.storage import s3

    monkeypatch.setattr(s3, "MAX_COPY_PART", 6 * MiB)  # S3's 5 GiB copy limit, scaled down
    first, second = pattern(2 * PART_SIZE, seed=6), pattern(MiB, seed=7)
    offset, state = upload_in_patches(store, "u16", [first, second], forget_hash=True)
    copied = [size for _, _, size in state["mpu"]["parts"]]
    assert len(copied) == 3 and sum(copied) == len(first) and min(copied) >= MIN_PART
    key = store.finish("u16", offset, state, digest_of(first + second))
    assert read_back(store, key) == first + second
    assert_only(s3_server, s3_bucket, key, first + second)


def test_parts_grow_with_the_layer_size_limit(store, s3_settings):
    s3_settings.BERTH_MAX_LAYER_SIZE = 9000 * 10 * MiB  # 10,000 parts of 8 MiB would not hold it
    data = pattern(21 * MiB)
    offset, state = upload_in_patches(store, "u17", [data])
    assert [size for _, _, size in state["mpu"]["parts"]] == [10 * MiB, 10 * MiB]
    assert store.finish("u17", offset, state, digest_of(data))
