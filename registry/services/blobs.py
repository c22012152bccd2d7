"""Writes on blobs: link into a package, mount, store monolithically, delete."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from registry.models import Blob, Package, PackageBlob
from registry.oci.digests import parse_digest
from registry.oci.errors import BlobUnknown
from registry.services.hashing import store_stream
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
    """Make blob visible in package (idempotent; linking it again counts as seeing it)."""
    try:
        with transaction.atomic():
            _, created = PackageBlob.objects.get_or_create(package=package, blob=blob)
    except IntegrityError:
        created = True  # a concurrent request linked it just now
    if not created:
        blob_seen(package=package, blob=blob)


# How stale seen_at may be before a HEAD writes it again: far below gc's grace period.
SEEN_RESOLUTION = timedelta(minutes=10)


def blob_seen(*, package: Package, blob: Blob) -> None:
    """Record that a client learned blob is in package (and may skip uploading it).

    gc keeps blobs seen within its grace period, so one a push skipped after a HEAD is still
    there when its manifest arrives, however old and unreferenced it was.
    """
    now = timezone.now()
    PackageBlob.objects.filter(package=package, blob=blob, seen_at__lt=now - SEEN_RESOLUTION).update(seen_at=now)


def blob_store_monolithic(*, package: Package, digest: str, stream, length: int | None) -> Blob:
    """Store a whole blob sent in one request, verify it, and link it to package."""
    size, key = store_stream(get_store(), stream, length=length, digest=parse_digest(digest))
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
