"""What every blob store shares: the per-worker hash cache, the copy loop and the interface.

Each digest is stored once (the Blob row is unique per digest). Uploads are written aside
and only become a blob after the digest is verified: an interrupted or failed upload never
leaves a visible blob.
"""

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from registry.oci.digests import Digest
from registry.oci.errors import DigestInvalid, SizeInvalid

CHUNK_SIZE = 4 * 1024 * 1024
# Streams that say reads_into = True (the API's socket reader) fill one reused buffer with
# readinto(), small enough to stay in the CPU cache between the socket read, the hash and the write.
READ_BUFFER = 1024 * 1024


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
    if getattr(stream, "reads_into", False):
        copied = _copy_into(stream, out, hasher, length=length, room=room)
    else:
        copied = _copy_reads(stream, out, hasher, length=length, room=room)
    if length is not None and copied != length:
        raise SizeInvalid(
            f"the request announced Content-Length {length} but sent {copied} bytes; "
            "the chunk was not stored, resend it"
        )
    return copied


def _copy_into(stream, out, hasher, *, length: int | None, room: int) -> int:
    buffer = memoryview(bytearray(READ_BUFFER))
    copied = 0
    while length is None or copied < length:
        n = stream.readinto(buffer if length is None else buffer[:length - copied])
        if not n:
            break
        copied += n
        if copied > room:
            raise _too_large()
        data = buffer[:n]
        hasher.update(data)
        out.write(data)
    return copied


def _copy_reads(stream, out, hasher, *, length: int | None, room: int) -> int:
    copied = 0
    want = length
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
    return copied


def _too_large() -> SizeInvalid:
    limit = settings.BERTH_MAX_LAYER_SIZE
    return SizeInvalid(
        f"blob is larger than this registry's limit of {limit} bytes (BERTH_MAX_LAYER_SIZE)",
        status=413,
    )


class UploadBusy(Exception):
    """Another request is writing the same upload right now (a client sent two at once)."""


@dataclass(frozen=True)
class StoredItem:
    """Something sweep() found in the store: a blob, an upload piece or an unfinished upload."""

    kind: str
    key: str
    size: int


class BlobStore:
    """Methods every backend offers; the registry services use only these."""

    hashes = HashCache()

    def append(self, upload_id: str, offset: int, state: dict, stream, *, length: int | None) -> tuple[int, dict]:
        """Append a request body to an upload at offset; return the new offset and state."""
        raise NotImplementedError

    def finish(self, upload_id: str, offset: int, state: dict, digest: Digest) -> str:
        """Verify an upload's digest and make it the blob `digest`; raise DigestInvalid.

        Return the blob's storage key, which the Blob row keeps ("" when the key follows
        from the digest alone).
        """
        raise NotImplementedError

    def discard(self, upload_id: str, state: dict) -> None:
        """Forget an upload and its bytes."""
        raise NotImplementedError

    def open(self, digest: str, *, key: str = "", offset: int = 0):
        """Return a binary file object for a stored blob, positioned at offset."""
        raise NotImplementedError

    def exists(self, digest: str, *, key: str = "") -> bool:
        raise NotImplementedError

    def delete(self, digest: str, *, key: str = "") -> None:
        raise NotImplementedError

    def redirect_url(self, digest: str, *, key: str = "") -> str | None:
        """Return a URL clients may fetch the blob from directly, or None to stream it."""
        return None

    def check(self) -> None:
        """Raise ImproperlyConfigured when the store can't be used (checked at start-up)."""

    def upload_refs(self, state: dict) -> tuple[set[str], set[str]]:
        """Return the storage keys and backend upload ids an upload's state refers to."""
        return set(), set()

    def sweep(self, *, keep_keys: set[str], keep_digests: set[str], keep_uploads: set[str],
              before: datetime, dry_run: bool) -> list["StoredItem"]:
        """Remove stored bytes nothing refers to any more and that are older than before.

        keep_keys and keep_digests name blobs and upload pieces the database still refers to,
        keep_uploads the ids of live upload sessions. Return what was (or would be) removed.
        """
        return []

    def store(self, stream, *, length: int | None, digest: Digest) -> tuple[int, str]:
        """Store a whole blob from a stream (monolithic upload); return its size and key."""
        upload_id = f"mono-{uuid.uuid4()}"
        state: dict = {}
        try:
            size, state = self.append(upload_id, 0, state, stream, length=length)
            key = self.finish(upload_id, size, state, digest)
        except BaseException:
            self.discard(upload_id, state)
            raise
        return size, key

    @staticmethod
    def check_digest(hasher, digest: Digest) -> None:
        actual = f"{digest.algorithm}:{hasher.hexdigest()}"
        if actual != str(digest):
            raise DigestInvalid(
                f"the uploaded content has digest {actual}, not {digest}; nothing was stored",
                detail={"expected": str(digest), "actual": actual},
            )
