"""The running hash is saved with the upload: PATCHes continue it without reading stored bytes back.

Each test runs on both stores. `reads` counts the bytes a store reads back from an upload (its
read_upload(), the only way a store hands upload bytes back); the fallback paths must use it,
the saved-state path must not.
"""

import hashlib

import pytest

from registry.models import Upload
from registry.oci import midstate
from registry.storage import get_store
from tests.registry.helpers import REPO, body, request, sha256, start_upload

pytestmark = pytest.mark.django_db

CHUNKS = [bytes([i]) * (7000 + 313 * i) for i in range(6)]
DATA = b"".join(CHUNKS)


@pytest.fixture
def reads(monkeypatch, blob_backend):
    """The bytes the store read back from uploads, as a one-item list."""
    total = [0]
    cls = type(get_store())
    original = cls.read_upload

    def counting(self, *args, **kwargs):
        for block in original(self, *args, **kwargs):
            total[0] += len(block)
            yield block

    monkeypatch.setattr(cls, "read_upload", counting)
    return total


def push_in_patches(api, chunks, *, between=None) -> str:
    """PATCH chunks with Content-Range, calling between(upload) after each; return the location."""
    location, offset = start_upload(api), 0
    for chunk in chunks:
        response = request(api, "PATCH", location, chunk,
                           headers={"Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        assert response.status_code == 202, body(response)
        offset += len(chunk)
        if between:
            between(Upload.objects.get())
    return location


def finish(api, location, data, digest=None):
    digest = digest or sha256(data)
    response = request(api, "PUT", f"{location}?digest={digest}")
    assert response.status_code == 201, body(response)
    fetched = api.get(f"/v2/{REPO}/blobs/{digest}")
    assert b"".join(fetched.streaming_content) == data


def another_platform(upload: Upload) -> None:
    """Replace the saved state by one a big-endian machine's libcrypto would have written."""
    foreign = b"openssl-sha256-v1:s390x-big:112:" + bytes(upload.hash_state)[-112:]
    Upload.objects.filter(id=upload.id).update(hash_state=foreign)


def test_each_patch_saves_the_hash_state_with_the_offset(api):
    seen = []
    location = push_in_patches(api, CHUNKS, between=lambda upload: seen.append(upload))
    offset = 0
    for chunk, upload in zip(CHUNKS, seen, strict=True):
        offset += len(chunk)
        assert upload.offset == offset
        state = bytes(upload.hash_state)
        assert state.startswith(b"openssl-sha256-v1:")
        assert midstate.restore(state).hexdigest() == hashlib.sha256(DATA[:offset]).hexdigest()
    finish(api, location, DATA)


def test_patches_continue_the_saved_hash_without_reading_back(api, reads):
    # Every request of the test client is a fresh view over the row: nothing is kept in memory.
    location = push_in_patches(api, CHUNKS)
    finish(api, location, DATA)
    assert reads == [0]


def test_a_state_from_another_platform_is_re_derived_from_storage(api, reads, caplog):
    location = push_in_patches(api, CHUNKS, between=another_platform)
    finish(api, location, DATA)
    assert "re-deriving its sha256 from 7000 stored bytes (saved hash state b'openssl-sha256-v1:s390x-big" \
        in caplog.text
    # Every PATCH after the first, and the PUT, read the upload's bytes so far once.
    offsets = [sum(len(c) for c in CHUNKS[:n]) for n in range(1, len(CHUNKS) + 1)]
    assert reads == [sum(offsets)]


def test_without_libcrypto_hashes_fall_back_to_hashlib_and_storage(api, reads, monkeypatch):
    monkeypatch.setattr(midstate, "_openssl", None)
    assert not midstate.savable()
    location = push_in_patches(api, CHUNKS, between=lambda upload: assert_empty(upload.hash_state))
    finish(api, location, DATA)
    assert reads[0] == sum(sum(len(c) for c in CHUNKS[:n]) for n in range(1, len(CHUNKS) + 1))


def assert_empty(state) -> None:
    assert bytes(state) == b""


def test_a_sha512_digest_is_re_derived_once_at_the_end(api, reads):
    location = push_in_patches(api, CHUNKS)
    assert reads == [0]
    finish(api, location, DATA, digest="sha512:" + hashlib.sha512(DATA).hexdigest())
    assert reads == [len(DATA)]


def test_a_racing_patch_that_lost_saves_neither_bytes_nor_hash(api, monkeypatch):
    """A PATCH whose row changed while it waited for the upload is refused before it writes."""
    from registry.services import uploads

    location = push_in_patches(api, CHUNKS[:2])
    stale = Upload.objects.get()
    response = request(api, "PATCH", location, CHUNKS[2],
                       headers={"Content-Range": f"{stale.offset}-{stale.offset + len(CHUNKS[2]) - 1}"})
    assert response.status_code == 202
    # The loser read the row before the winner's PATCH was saved.
    with pytest.raises(uploads.RangeInvalid):
        uploads.upload_append(upload=stale, stream=_Body(b"x" * 500), length=500, content_range=None)
    rest = CHUNKS[3:]
    offset = Upload.objects.get().offset
    for chunk in rest:
        response = request(api, "PATCH", location, chunk,
                           headers={"Content-Range": f"{offset}-{offset + len(chunk) - 1}"})
        assert response.status_code == 202, body(response)
        offset += len(chunk)
    finish(api, location, DATA)


class _Body:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, size=-1):
        data, self.data = self.data[:size], self.data[size:]
        return data
