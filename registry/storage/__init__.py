"""Berth's blob store, picked by name with BERTH_STORAGE.

`base` holds the interface (write, read, complete, abort), `filesystem` the embedded default
and `s3` the S3-compatible backend for many app servers. Hashing happens above them, in
registry.services.hashing.
"""

import threading

from django.conf import settings
from django.utils.module_loading import import_string

from registry.storage.base import CHUNK_SIZE, BlobStore, UploadWriter
from registry.storage.filesystem import FilesystemBlobStore

__all__ = ["CHUNK_SIZE", "BACKENDS", "BlobStore", "FilesystemBlobStore", "UploadWriter", "get_store"]

BACKENDS = {
    "filesystem": "registry.storage.filesystem.FilesystemBlobStore",
    "s3": "registry.storage.s3.S3BlobStore",
}

_stores: dict[tuple, BlobStore] = {}
_stores_lock = threading.Lock()


def _store_key() -> tuple:
    # Tests change these settings between cases; each combination gets its own store.
    return (settings.BERTH_STORAGE, str(settings.BERTH_DATA_DIR), getattr(settings, "AWS_STORAGE_BUCKET_NAME", ""),
            getattr(settings, "AWS_S3_ENDPOINT_URL", ""), getattr(settings, "AWS_LOCATION", ""))


def get_store() -> BlobStore:
    """Return the configured blob store (BERTH_STORAGE), built once per process."""
    key = _store_key()
    store = _stores.get(key)
    if store is None:
        with _stores_lock:
            store = _stores.get(key)
            if store is None:
                store = _stores[key] = import_string(BACKENDS[settings.BERTH_STORAGE])()
    return store
