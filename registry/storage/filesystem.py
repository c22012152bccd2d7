"""Blobs in a local folder: the embedded default.

Blobs are content-addressed files (`blobs/sha256/ab/abcdef...`); an upload is one file under
`uploads/` that is renamed into place once its digest is verified.
"""

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from registry.oci.errors import BlobUploadInvalid
from registry.storage.base import CHUNK_SIZE, BlobStore, StoredItem, UploadBusy, UploadWriter


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

    @staticmethod
    def _lock(fd: int) -> None:
        # Two PATCHes of one upload at once would interleave their bytes in the one file while
        # only one of them saves its hash state: a blob could then be published under a digest
        # its bytes don't have. One writer at a time; the other is told to check the status.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UploadBusy() from None

    def writer(self, upload_id, offset, state):
        return _FileWriter(self, upload_id, offset, state)

    def read_upload(self, upload_id, offset, state, *, reopen):
        if not offset:
            return
        with open(self.upload_path(upload_id), "rb") as f:
            remaining = offset
            while remaining:
                data = f.read(min(CHUNK_SIZE, remaining))
                if not data:
                    return
                remaining -= len(data)
                yield data

    def complete(self, upload_id, size, state, digest):
        path = self.upload_path(upload_id)
        with open(path, "ab") as f:
            self._lock(f.fileno())
            if os.fstat(f.fileno()).st_size < size:
                raise BlobUploadInvalid("the upload's stored bytes are shorter than its offset; start a new upload")
            f.truncate(size)  # bytes of a PATCH that failed half way
            target = self.blob_path(str(digest))
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                path.unlink()
            else:
                os.replace(path, target)
        return ""

    def abort(self, upload_id, state):
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


class _FileWriter(UploadWriter):
    """Appends to the upload's file while holding its lock, from entering the block to leaving it."""

    def __init__(self, store: FilesystemBlobStore, upload_id: str, offset: int, state: dict):
        self.store, self.offset, self.state = store, offset, state
        self.path = store.upload_path(upload_id)
        self.file = None
        self.positioned = False

    def __enter__(self):
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o640)
        self.file = os.fdopen(fd, "wb", buffering=0)
        try:
            self.store._lock(fd)
        except BaseException:
            self.file.close()
            raise
        return self

    def __exit__(self, *exc):
        self.file.close()

    def _position(self) -> None:
        # Positioned at the first write, not on entering: the caller first checks, under the
        # lock, that no other PATCH advanced the upload meanwhile.
        size = os.fstat(self.file.fileno()).st_size
        if size < self.offset:
            raise BlobUploadInvalid("the upload's stored bytes are shorter than its offset; start a new upload")
        # Bytes past offset belong to a PATCH that failed half way: drop them. Only then: on
        # ext4 a truncate to zero makes close() start writing the whole file back (auto_da_alloc).
        if size != self.offset:
            self.file.truncate(self.offset)
        self.file.seek(self.offset)
        self.positioned = True

    def write(self, data):
        if not self.positioned:
            self._position()
        self.file.write(data)

    def close(self):
        if not self.positioned:
            self._position()
        return self.state
