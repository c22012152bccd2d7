"""The one blob store: stream into an upload while hashing, verify, commit, open, delete.

Blobs are content-addressed (`blobs/sha256/ab/abcdef...`), so a blob pushed to many
packages is stored once. Uploads are written to their own object and only renamed into
place after the digest is verified: an interrupted or failed upload never leaves a
visible blob.
"""

import os
import threading
import uuid
from collections import OrderedDict
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

from registry.oci.digests import Digest, new_hasher
from registry.oci.errors import DigestInvalid, SizeInvalid

CHUNK_SIZE = 4 * 1024 * 1024


class HashCache:
    """Running hashes of uploads in progress, kept per worker as a cache only.

    hashlib state can't be saved in the database, so a worker keeps the hash of each
    upload it has seen, tagged with the offset it covers. A PATCH that lands on a worker
    without a matching entry re-derives the hash from the stored bytes: the cache makes
    finishing cheap, it is never needed for a correct digest.
    """

    def __init__(self, capacity: int = 256):
        self.capacity = capacity
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def take(self, upload_id: str, offset: int):
        """Remove and return the hasher for upload_id if it covers exactly offset bytes."""
        with self._lock:
            entry = self._entries.pop(upload_id, None)
        if entry and entry[0] == offset:
            return entry[1]
        return None

    def put(self, upload_id: str, offset: int, hasher) -> None:
        with self._lock:
            self._entries[upload_id] = (offset, hasher)
            self._entries.move_to_end(upload_id)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def drop(self, upload_id: str) -> None:
        with self._lock:
            self._entries.pop(upload_id, None)


def copy_stream(stream, out, hasher, *, length: int | None, room: int) -> int:
    """Copy stream to out while hashing; return the bytes copied.

    length is the announced Content-Length (None for chunked transfer encoding); room is
    how many more bytes the blob may grow before it passes BERTH_MAX_LAYER_SIZE.
    """
    if length is not None and length > room:
        raise _too_large()
    copied = 0
    want = length if length is not None else None
    while want is None or copied < want:
        size = CHUNK_SIZE if want is None else min(CHUNK_SIZE, want - copied)
        data = stream.read(size)
        if not data:
            break
        copied += len(data)
        if copied > room:
            raise _too_large()
        hasher.update(data)
        out.write(data)
    if want is not None and copied != want:
        raise SizeInvalid(
            f"the request announced Content-Length {want} but sent {copied} bytes; "
            "the chunk was not stored, resend it"
        )
    return copied


def _too_large() -> SizeInvalid:
    limit = settings.BERTH_MAX_LAYER_SIZE
    return SizeInvalid(
        f"blob is larger than this registry's limit of {limit} bytes (BERTH_MAX_LAYER_SIZE)",
        status=413,
    )


class BlobStore:
    """Methods every backend offers; the registry services use only these."""

    hashes = HashCache()

    def append(self, upload_id: str, offset: int, state: dict, stream, *, length: int | None) -> tuple[int, dict]:
        """Append a request body to an upload at offset; return the new offset and state."""
        raise NotImplementedError

    def finish(self, upload_id: str, offset: int, state: dict, digest: Digest) -> None:
        """Verify an upload's digest and make it the blob `digest`; raise DigestInvalid."""
        raise NotImplementedError

    def discard(self, upload_id: str, state: dict) -> None:
        """Forget an upload and its bytes."""
        raise NotImplementedError

    def open(self, digest: str):
        """Return a binary file object for a stored blob."""
        raise NotImplementedError

    def exists(self, digest: str) -> bool:
        raise NotImplementedError

    def delete(self, digest: str) -> None:
        raise NotImplementedError

    def redirect_url(self, digest: str) -> str | None:
        """Return a URL clients may fetch the blob from directly, or None to stream it."""
        return None

    def store(self, stream, *, length: int | None, digest: Digest) -> int:
        """Store a whole blob from a stream (monolithic upload); return its size."""
        upload_id = f"mono-{uuid.uuid4()}"
        try:
            size, state = self.append(upload_id, 0, {}, stream, length=length)
            self.finish(upload_id, size, state, digest)
        except BaseException:
            self.discard(upload_id, {})
            raise
        return size

    @staticmethod
    def check_digest(hasher, digest: Digest) -> None:
        actual = f"{digest.algorithm}:{hasher.hexdigest()}"
        if actual != str(digest):
            raise DigestInvalid(
                f"the uploaded content has digest {actual}, not {digest}; nothing was stored",
                detail={"expected": str(digest), "actual": actual},
            )


class FilesystemBlobStore(BlobStore):
    """Blobs under BERTH_DATA_DIR/blobs, uploads under BERTH_DATA_DIR/uploads."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root or settings.BERTH_DATA_DIR)
        self.blob_root = self.root / "blobs"
        self.upload_root = self.root / "uploads"
        self.upload_root.mkdir(parents=True, exist_ok=True)
        self.blob_root.mkdir(parents=True, exist_ok=True)

    def blob_path(self, digest: str) -> Path:
        algorithm, encoded = digest.split(":", 1)
        return self.blob_root / algorithm / encoded[:2] / encoded

    def upload_path(self, upload_id: str) -> Path:
        return self.upload_root / upload_id

    def _hasher_at(self, upload_id: str, offset: int, algorithm: str = "sha256"):
        hasher = self.hashes.take(f"{upload_id}:{algorithm}", offset)
        if hasher is not None:
            return hasher
        hasher = new_hasher(algorithm)
        if offset:
            with open(self.upload_path(upload_id), "rb") as f:
                remaining = offset
                while remaining:
                    data = f.read(min(CHUNK_SIZE, remaining))
                    if not data:
                        raise DigestInvalid("the upload's stored bytes are shorter than its offset")
                    hasher.update(data)
                    remaining -= len(data)
        return hasher

    def append(self, upload_id, offset, state, stream, *, length):
        room = settings.BERTH_MAX_LAYER_SIZE - offset
        hasher = self._hasher_at(upload_id, offset)
        path = self.upload_path(upload_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
        with os.fdopen(fd, "wb", buffering=0) as out:
            # Bytes past offset belong to a PATCH that failed half way: drop them.
            out.truncate(offset)
            out.seek(offset)
            copied = copy_stream(stream, out, hasher, length=length, room=room)
        self.hashes.put(f"{upload_id}:sha256", offset + copied, hasher)
        return offset + copied, state

    def finish(self, upload_id, offset, state, digest):
        path = self.upload_path(upload_id)
        if not path.exists():
            path.touch()
        hasher = self._hasher_at(upload_id, offset, digest.algorithm)
        self.check_digest(hasher, digest)
        with open(path, "r+b") as f:
            f.truncate(offset)
        target = self.blob_path(str(digest))
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            path.unlink()
        else:
            os.replace(path, target)

    def discard(self, upload_id, state):
        self.hashes.drop(f"{upload_id}:sha256")
        try:
            self.upload_path(upload_id).unlink()
        except FileNotFoundError:
            pass

    def open(self, digest):
        return open(self.blob_path(digest), "rb")

    def exists(self, digest):
        return self.blob_path(digest).exists()

    def delete(self, digest):
        try:
            self.blob_path(digest).unlink()
        except FileNotFoundError:
            pass


_stores: dict[str, BlobStore] = {}
_stores_lock = threading.Lock()

BACKENDS = {"filesystem": "registry.storage.FilesystemBlobStore"}


def get_store() -> BlobStore:
    """Return the configured blob store (BERTH_STORAGE), built once per process."""
    key = f"{settings.BERTH_STORAGE}:{settings.BERTH_DATA_DIR}"
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = import_string(BACKENDS[settings.BERTH_STORAGE])()
    return store
