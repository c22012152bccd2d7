"""Blob upload sessions: start, append chunks, finish, cancel.

The session row holds the offset, the storage backend's state and the running hash's
midstate, so consecutive requests of one upload may land on different workers or app servers
and none of them reads back the bytes earlier requests stored.
"""

import re
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from registry.models import Package, Upload
from registry.oci.digests import parse_digest, verify
from registry.oci.errors import BlobUploadInvalid, BlobUploadUnknown, RangeInvalid
from registry.services.blobs import blob_link, blob_record
from registry.services.hashing import copy_stream, hasher_at, saved_state
from registry.storage import get_store
from registry.storage.base import UploadBusy

CONTENT_RANGE_RE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(\d+|\*))?$")


def upload_start(*, package: Package) -> Upload:
    return Upload.objects.create(package=package)


def upload_get(*, package: Package, upload_id: str) -> Upload:
    """Return a live upload session of package, or raise BLOB_UPLOAD_UNKNOWN."""
    unknown = BlobUploadUnknown(
        f"upload {upload_id} is unknown, finished, cancelled or expired; start a new upload",
        detail={"uuid": upload_id},
    )
    try:
        upload = Upload.objects.get(id=uuid.UUID(upload_id), package=package)
    except (ValueError, Upload.DoesNotExist):
        raise unknown from None
    expires = upload.updated_at + timedelta(seconds=settings.BERTH_UPLOAD_TIMEOUT)
    if expires < timezone.now():
        upload_cancel(upload=upload)
        raise unknown
    return upload


def parse_content_range(value: str) -> tuple[int, int]:
    match = CONTENT_RANGE_RE.fullmatch(value.strip())
    if not match:
        raise BlobUploadInvalid(
            f"Content-Range {value!r} is malformed; send '<start>-<end>' with inclusive byte offsets",
            status=416,
        )
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise BlobUploadInvalid(f"Content-Range {value!r} ends before it starts", status=416)
    return start, end


def _changed_meanwhile(upload: Upload) -> RangeInvalid:
    return RangeInvalid("another request changed this upload at the same time; check its status",
                        headers=range_headers(upload))


def upload_append(*, upload: Upload, stream, length: int | None, content_range: str | None) -> Upload:
    """Append a chunk; out-of-order Content-Range raises 416 with the current Range."""
    if content_range:
        start, end = parse_content_range(content_range)
        if start != upload.offset:
            raise RangeInvalid(
                f"chunk starts at byte {start} but the upload has {upload.offset} bytes; "
                f"send the chunk that starts at {upload.offset}",
                headers=range_headers(upload),
            )
        if length is not None and length != end - start + 1:
            raise RangeInvalid(
                f"Content-Range {content_range!r} covers {end - start + 1} bytes but "
                f"Content-Length is {length}",
                headers=range_headers(upload),
            )
        if length is None:
            length = end - start + 1
    store, upload_id, state = get_store(), str(upload.id), upload.storage_state
    hasher = hasher_at(store, upload_id=upload_id, offset=upload.offset, state=state, saved=upload.hash_state)
    current = Upload.objects.filter(id=upload.id, offset=upload.offset)
    try:
        with store.writer(upload_id, upload.offset, state) as out:
            # The writer holds the upload (the filesystem store locks its file): a PATCH saved
            # since this request read the row shows now, before any of its bytes are overwritten.
            if not current.exists():
                raise _changed_meanwhile(upload)
            copied = copy_stream(stream, out, hasher, length=length,
                                 room=settings.BERTH_MAX_LAYER_SIZE - upload.offset)
            state = out.close()
            # Only the request whose offset is still current may advance the session; the hash
            # state goes in the same UPDATE, so it always covers exactly offset bytes.
            offset, hash_state = upload.offset + copied, saved_state(hasher)
            updated = current.update(offset=offset, storage_state=state, hash_state=hash_state,
                                     updated_at=timezone.now())
    except UploadBusy:
        raise _changed_meanwhile(upload) from None
    if not updated:
        raise _changed_meanwhile(upload)
    upload.offset, upload.storage_state, upload.hash_state = offset, state, hash_state
    return upload


def upload_finish(*, upload: Upload, digest: str, stream, length: int | None,
                  content_range: str | None):
    """Take an optional last chunk, verify the digest and publish the blob."""
    parsed = parse_digest(digest)
    # A chunked body (length None) may carry the last chunk; an empty Content-Length body carries nothing.
    if length is None or length or content_range:
        upload = upload_append(upload=upload, stream=stream, length=length, content_range=content_range)
    store, upload_id = get_store(), str(upload.id)
    try:
        # Uploads keep a SHA-256 state; a sha512 digest is re-derived from the stored bytes once.
        hasher = hasher_at(store, upload_id=upload_id, offset=upload.offset, state=upload.storage_state,
                           saved=upload.hash_state, algorithm=parsed.algorithm, reopen=False)
        verify(hasher, parsed)
        key = store.complete(upload_id, upload.offset, upload.storage_state, parsed)
    except UploadBusy:
        raise _changed_meanwhile(upload) from None  # the upload is fine: keep it
    except Exception:
        upload_cancel(upload=upload)
        raise
    with transaction.atomic():
        blob = blob_record(digest=digest, size=upload.offset, storage_key=key)
        blob_link(package=upload.package, blob=blob)
        Upload.objects.filter(id=upload.id).delete()
    return blob


def upload_cancel(*, upload: Upload) -> None:
    get_store().abort(str(upload.id), upload.storage_state)
    Upload.objects.filter(id=upload.id).delete()


def range_headers(upload: Upload) -> dict[str, str]:
    """Return the Range header telling a client how many bytes the upload holds."""
    return {"Range": f"0-{max(upload.offset - 1, 0)}"}
