"""Blobs in a local folder: the embedded default.

Blobs are content-addressed files (`blobs/sha256/ab/abcdef...`); an upload is one file under
`uploads/` that is renamed into place once its digest is verified.
"""

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from registry.oci.digests import new_hasher
from registry.oci.errors import DigestInvalid
from registry.storage.base import CHUNK_SIZE, BlobStore, StoredItem, UploadBusy, copy_stream


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

    @staticmethod
    def _lock(fd: int) -> None:
        # Two PATCHes of one upload at once would interleave their bytes in the one file while
        # the hash cache kept one request's hash: a blob could then be published under a digest
        # its bytes don't have. One writer at a time; the other is told to check the status.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy() from None

    def append(self, upload_id, offset, state, stream, *, length):
        room = settings.BERTH_MAX_LAYER_SIZE - offset
        path = self.upload_path(upload_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
        with os.fdopen(fd, "wb", buffering=0) as out:
            self._lock(fd)
            hasher = self._hasher_at(upload_id, offset)
            # Bytes past offset belong to a PATCH that failed half way: drop them. Only then: on
            # ext4 a truncate to zero makes close() start writing the whole file back (auto_da_alloc).
            if os.fstat(fd).st_size != offset:
                out.truncate(offset)
            out.seek(offset)
            copied = copy_stream(stream, out, hasher, length=length, room=room)
            self.hashes.put(f"{upload_id}:sha256", offset + copied, hasher)
        return offset + copied, state

    def finish(self, upload_id, offset, state, digest):
        path = self.upload_path(upload_id)
        with open(path, "ab") as f:
            self._lock(f.fileno())
            hasher = self._hasher_at(upload_id, offset, digest.algorithm)
            self.check_digest(hasher, digest)
            f.truncate(offset)
            target = self.blob_path(str(digest))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                path.unlink()
            else:
                os.replace(path, target)
        return ""

    def discard(self, upload_id, state):
        self.hashes.drop(f"{upload_id}:sha256")
        try:
            self.upload_path(upload_id).unlink()
        except FileNotFoundError:
            pass

    def open(self, digest, *, key="", offset=0):
        f = open(self.blob_path(digest), "rb")
        if offset:
            f.seek(offset)
        return f

    def exists(self, digest, *, key=""):
        return self.blob_path(digest).exists()

    def delete(self, digest, *, key=""):
        try:
            self.blob_path(digest).unlink()
        except FileNotFoundError:
            pass

    def sweep(self, *, keep_keys, keep_digests, keep_uploads, before, dry_run):
        found = []
        for path in sorted(self.blob_root.glob("*/*/*")):
            digest = f"{path.parent.parent.name}:{path.name}"
            if digest not in keep_digests and _older(path, before):
                found.append(StoredItem("blob file", digest, path.stat().st_size))
                if not dry_run:
                    path.unlink(missing_ok=True)
        for path in sorted(self.upload_root.iterdir()):
            if path.name not in keep_uploads and _older(path, before):
                found.append(StoredItem("upload file", path.name, path.stat().st_size))
                if not dry_run:
                    path.unlink(missing_ok=True)
        return found


def _older(path: Path, before: datetime) -> bool:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC) < before
    except FileNotFoundError:
        return False
