"""Writes on blobs: link into a package, mount, store monolithically, delete."""

from django.db import IntegrityError, transaction

from registry.models import Blob, Package, PackageBlob
from registry.oci.digests import parse_digest
from registry.oci.errors import BlobUnknown
from registry.storage import get_store


def blob_record(*, digest: str, size: int, storage_key: str = "") -> Blob:
    """Return the Blob row for a stored blob, creating it when first seen.

    When the digest already has a blob, the bytes just stored under storage_key are a
    duplicate and are deleted: each digest is stored once.
    """
    blob = Blob.objects.filter(digest=digest).first()
    if blob is None:
        try:
            with transaction.atomic():
                return Blob.objects.create(digest=digest, size=size, storage_key=storage_key)
        except IntegrityError:
            blob = Blob.objects.get(digest=digest)
    if storage_key and storage_key != blob.storage_key:
        get_store().delete(digest, key=storage_key)
    return blob


def blob_link(*, package: Package, blob: Blob) -> None:
    """Make blob visible in package (idempotent)."""
    try:
        with transaction.atomic():
            PackageBlob.objects.get_or_create(package=package, blob=blob)
    except IntegrityError:
        pass


def blob_store_monolithic(*, package: Package, digest: str, stream, length: int | None) -> Blob:
    """Store a whole blob sent in one request, verify it, and link it to package."""
    parsed = parse_digest(digest)
    size, key = get_store().store(stream, length=length, digest=parsed)
    blob = blob_record(digest=digest, size=size, storage_key=key)
    blob_link(package=package, blob=blob)
    return blob


def blob_mount(*, package: Package, digest: str, source: Package | None) -> Blob | None:
    """Link a blob from source into package; return None when it can't be mounted."""
    parse_digest(digest)
    if source is None:
        return None
    blob = Blob.objects.filter(digest=digest, packages=source).first()
    if blob is None:
        return None
    blob_link(package=package, blob=blob)
    return blob


def blob_unlink(*, package: Package, digest: str) -> None:
    """Remove a blob from package; its bytes go when `gc` finds nothing uses them."""
    parse_digest(digest)
    deleted, _ = PackageBlob.objects.filter(package=package, blob__digest=digest).delete()
    if not deleted:
        raise BlobUnknown(f"blob {digest} is not in {package.name}", detail={"digest": digest})
