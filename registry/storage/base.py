"""The interface every blob store offers: write, read, complete and abort; nothing else.

Each digest is stored once (the Blob row is unique per digest). Uploads are written aside
and only become a blob after the digest is verified: an interrupted or failed upload never
leaves a visible blob. Hashing happens above the stores (registry.services.hashing): a store
only sees bytes.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured

from registry.oci.digests import Digest

CHUNK_SIZE = 4 * 1024 * 1024


class StoreUnreachable(ImproperlyConfigured):
    """The store could not be reached at start-up: an outage, not a mistake in the settings."""


class UploadBusy(Exception):
    """Another request is writing the same upload right now (a client sent two at once)."""


@dataclass(frozen=True)
class StoredItem:
    """Something sweep() found in the store: a blob, an upload piece or an unfinished upload."""

    kind: str
    key: str
    size: int


class UploadWriter:
    """Where one request's bytes of an upload go; a context manager that holds the upload.

    write() takes bytes in order from the upload's offset on; close() stores what is still
    buffered and returns the state to save with the new offset. Leaving the block without
    close() leaves the saved state valid: the bytes written are ignored or overwritten later.
    """

    def __enter__(self) -> "UploadWriter":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def write(self, data) -> None:
        raise NotImplementedError

    def close(self) -> dict:
        raise NotImplementedError


class BlobStore:
    """Methods every backend offers; the registry services use only these."""

    def writer(self, upload_id: str, offset: int, state: dict) -> UploadWriter:
        """Return a writer appending to an upload at offset; raise UploadBusy if another holds it."""
        raise NotImplementedError

    def read_upload(self, upload_id: str, offset: int, state: dict, *, reopen: bool):
        """Yield the upload's first offset bytes in blocks: only to re-derive a hash that can't be loaded.

        May change state in place (S3 completes its multipart upload to read it, and with
        reopen continues it in a new one); the caller saves the state it then writes with.
        """
        raise NotImplementedError

    def complete(self, upload_id: str, size: int, state: dict, digest: Digest) -> str:
        """Make an upload of size bytes, whose digest the caller verified, the blob `digest`.

        Return the blob's storage key, which the Blob row keeps ("" when the key follows
        from the digest alone).
        """
        raise NotImplementedError

    def abort(self, upload_id: str, state: dict) -> None:
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
