"""Garbage collection: packages and versions deleted over 30 days ago, blobs no manifest uses,
expired uploads, and bytes nothing refers to.

Safe while the registry serves traffic: nothing younger than the grace period is removed,
so blobs a push has uploaded (or linked) but not yet named in a manifest survive, and so do
the objects of uploads in progress. The grace period must be longer than the longest push.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from registry.models import Blob, Manifest, ManifestReference, PackageBlob, Upload
from registry.services.downloads import download_fold
from registry.services.trash import expired, expired_purge
from registry.services.uploads import upload_cancel
from registry.storage import get_store
from registry.storage.base import StoredItem

DEFAULT_GRACE = timedelta(hours=24)


@dataclass
class GcReport:
    """What a collection removed (or, in a dry run, would remove)."""

    blobs: list[tuple[str, int]] = field(default_factory=list)  # digest, size
    uploads: list[tuple[str, int]] = field(default_factory=list)  # upload id, bytes received
    stored: list[StoredItem] = field(default_factory=list)  # bytes with no database row at all
    packages: list[str] = field(default_factory=list)  # deleted from the pages over 30 days ago
    versions: list[str] = field(default_factory=list)  # name@digest, likewise

    @property
    def total_size(self) -> int:
        return (sum(size for _, size in self.blobs) + sum(size for _, size in self.uploads)
                + sum(item.size for item in self.stored))


def unreferenced_blobs(*, before: datetime):
    """Return blobs no manifest names, created, linked and last seen (HEAD) in a package before `before`."""
    named = ManifestReference.objects.filter(kind=ManifestReference.Kind.BLOB, digest=OuterRef("digest"))
    configs = Manifest.objects.filter(config_digest=OuterRef("digest"))
    fresh_links = PackageBlob.objects.filter(blob=OuterRef("pk"), seen_at__gte=before)
    return (Blob.objects.filter(created_at__lt=before)
            .exclude(Exists(named)).exclude(Exists(configs)).exclude(Exists(fresh_links))
            .order_by("created_at", "pk"))


def expired_uploads(*, now: datetime):
    return Upload.objects.filter(updated_at__lt=now - timedelta(seconds=settings.BERTH_UPLOAD_TIMEOUT))


def gc_run(*, grace: timedelta = DEFAULT_GRACE, dry_run: bool = False, now: datetime | None = None) -> GcReport:
    """Collect garbage; with dry_run, only report what would go."""
    now = now or timezone.now()
    before = now - grace
    report = GcReport()
    store = get_store()

    if not dry_run:
        # Pull counts of every package, folded into their counters so the shard rows stay few.
        download_fold()
    # Purged first, so the blobs only they used go in this same run.
    if dry_run:
        packages, versions = expired(now=now)
        report.packages = list(packages.values_list("name", flat=True))
        report.versions = [str(v) for v in versions]
    else:
        report.packages, report.versions = expired_purge(now=now)

    for upload in expired_uploads(now=now).select_related("package"):
        report.uploads.append((str(upload.id), upload.offset))
        if not dry_run:
            upload_cancel(upload=upload)

    for blob in unreferenced_blobs(before=before):
        if dry_run:
            report.blobs.append((blob.digest, blob.size))
        elif _blob_delete(blob.pk, before=before):
            store.delete(blob.digest, key=blob.storage_key)
            report.blobs.append((blob.digest, blob.size))

    # Read what the database refers to before listing the store: anything created after
    # these reads is younger than the grace period and left alone by sweep().
    live = list(Upload.objects.values_list("id", "storage_state"))
    keep_uploads = {str(upload_id) for upload_id, _ in live}
    keep_keys = set()
    for _, state in live:
        keys, backend_ids = store.upload_refs(state)
        keep_keys |= keys
        keep_uploads |= backend_ids
    keep_digests = set()
    for digest, key in Blob.objects.values_list("digest", "storage_key").iterator():
        keep_digests.add(digest)
        if key:
            keep_keys.add(key)
    report.stored = store.sweep(keep_keys=keep_keys, keep_digests=keep_digests, keep_uploads=keep_uploads,
                                before=before, dry_run=dry_run)
    return report


@transaction.atomic
def _blob_delete(pk: int, *, before: datetime) -> bool:
    """Delete a blob row and its links if it is still unreferenced, under a row lock."""
    blob = Blob.objects.select_for_update().filter(pk=pk).first()
    if blob is None or not unreferenced_blobs(before=before).filter(pk=pk).exists():
        return False
    PackageBlob.objects.filter(Q(blob=blob)).delete()
    blob.delete()
    return True

