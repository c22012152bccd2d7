"""The one hashing layer above the blob stores: bodies stream through a hasher into a store's writer.

A store only writes, reads, completes and aborts. The hash of an upload is continued from the
midstate saved in its row (registry.oci.midstate), so a PATCH on any worker of any app server
reads nothing back; only a state this process can't load is re-derived from the stored bytes.
"""

import logging
import uuid

from django.conf import settings

from registry.oci import midstate
from registry.oci.digests import Digest, verify
from registry.oci.errors import BlobUploadInvalid, SizeInvalid
from registry.storage.base import CHUNK_SIZE, BlobStore

# Streams that say reads_into = True (the API's socket reader) fill one reused buffer with
# readinto(), small enough to stay in the CPU cache between the socket read, the hash and the write.
READ_BUFFER = 1024 * 1024

logger = logging.getLogger(__name__)


def hasher_at(store: BlobStore, *, upload_id: str, offset: int, state: dict, saved: bytes | None,
              algorithm: str = "sha256", reopen: bool = True):
    """Return the hash of an upload's first offset bytes: loaded from saved, else re-derived from the store."""
    hasher = midstate.restore(saved, algorithm)
    if hasher is not None:
        return hasher
    hasher = midstate.new_hasher(algorithm)
    if not offset:
        return hasher
    # Written on another platform or library, or never savable here (no libcrypto): read it back.
    # Logged, as it costs a read of the whole upload so far: operators should see it happen.
    logger.warning("upload %s: re-deriving its %s from %d stored bytes (saved hash state %s)", upload_id,
                   algorithm, offset, repr(bytes(saved or b"")[:40]) if saved else "missing")
    total = 0
    for block in store.read_upload(upload_id, offset, state, reopen=reopen):
        hasher.update(block)
        total += len(block)
    if total != offset:
        raise BlobUploadInvalid(
            f"the upload's stored bytes ({total}) don't match its offset ({offset}); start a new upload"
        )
    return hasher


def store_stream(store: BlobStore, stream, *, length: int | None, digest: Digest) -> tuple[int, str]:
    """Store a whole blob from a stream (a monolithic upload) and verify it; return its size and key."""
    upload_id, state = f"mono-{uuid.uuid4()}", {}
    hasher = midstate.new_hasher(digest.algorithm)
    try:
        with store.writer(upload_id, 0, state) as out:
            size = copy_stream(stream, out, hasher, length=length, room=settings.BERTH_MAX_LAYER_SIZE)
            state = out.close()
        verify(hasher, digest)
        return size, store.complete(upload_id, size, state, digest)
    except BaseException:
        store.abort(upload_id, state)
        raise


def saved_state(hasher) -> bytes:
    """Return what the upload row keeps of hasher (empty when it can't be saved here)."""
    return hasher.state() or b""


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
