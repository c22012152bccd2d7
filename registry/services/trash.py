"""Soft deletes from the package pages: a deleted package or version vanishes from the API and the
listings at once, can be restored for RESTORE_WINDOW, and is purged by `manage.py gc` after that.

The distribution API's DELETE stays a hard delete, as clients that call it expect.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from events.models import EventType
from events.outbox import event_record, version_data
from registry.models import Manifest, ManifestReference, Package, Tag

# How long a deleted package or version can be restored (not a retention policy: those decide what to delete).
RESTORE_WINDOW = timedelta(days=30)


class TrashRefused(Exception):
    """A restore or delete that can't be done, with a message a person can act on."""


def restorable_until(deleted_at: datetime) -> datetime:
    return deleted_at + RESTORE_WINDOW


@transaction.atomic
def package_soft_delete(*, package: Package) -> None:
    """Delete package: it answers 404 everywhere until restored or purged."""
    if Package.objects.filter(pk=package.pk, deleted_at__isnull=True).update(deleted_at=timezone.now()):
        event_record(type=EventType.PACKAGE_DELETED, package=package)
    package.refresh_from_db(fields=["deleted_at"])


@transaction.atomic
def package_restore(*, package: Package) -> None:
    """Bring a deleted package back with every version it had when it was deleted."""
    package = Package.all_objects.select_for_update().get(pk=package.pk)
    if package.deleted_at is None:
        return
    if timezone.now() >= restorable_until(package.deleted_at):
        raise TrashRefused(f"{package.name} was deleted more than {RESTORE_WINDOW.days} days ago and can't be restored")
    Package.all_objects.filter(pk=package.pk).update(deleted_at=None)
    event_record(type=EventType.PACKAGE_RESTORED, package=package)


@transaction.atomic
def package_revive(*, package: Package) -> None:
    """Undelete package for a new push, keeping its old versions deleted (and restorable) one by one."""
    package = Package.all_objects.select_for_update().get(pk=package.pk)
    if package.deleted_at is None:
        return
    _trash(list(Manifest.objects.filter(package=package, deleted_at__isnull=True)), package.deleted_at)
    Package.all_objects.filter(pk=package.pk).update(deleted_at=None)


def _trash(manifests: list[Manifest], when: datetime, deleted_by: str = "") -> None:
    tags: dict[int, list[str]] = {}
    for tag in Tag.objects.filter(manifest__in=manifests).order_by("name"):
        tags.setdefault(tag.manifest_id, []).append(tag.name)
    Tag.objects.filter(manifest__in=manifests).delete()
    for manifest in manifests:
        manifest.deleted_at, manifest.deleted_tags = when, tags.get(manifest.pk, [])
        manifest.deleted_by = deleted_by
    Manifest.objects.bulk_update(manifests, ["deleted_at", "deleted_tags", "deleted_by"])


def _children(manifest: Manifest):
    digests = ManifestReference.objects.filter(manifest=manifest, kind=ManifestReference.Kind.MANIFEST
                                               ).values("digest")
    return Manifest.objects.filter(package_id=manifest.package_id, digest__in=digests)


def _parents(manifest: Manifest):
    """Return the live indexes of the package that name manifest as a platform."""
    return Manifest.objects.filter(
        package_id=manifest.package_id, deleted_at__isnull=True,
        references__kind=ManifestReference.Kind.MANIFEST, references__digest=manifest.digest)


@transaction.atomic
def version_soft_delete(*, manifest: Manifest, deleted_by: str = "") -> list[Manifest]:
    """Delete a version with its signatures and attestations, and its platforms no other index uses.

    Return what was deleted. Its tags go with it and come back on restore if still free. deleted_by
    names what deleted it when not a person ("retention policy"), for the pages to show.
    """
    manifest = Manifest.objects.select_for_update().get(pk=manifest.pk)
    if manifest.deleted_at is not None:
        return []
    parent = _parents(manifest).first()
    if parent is not None:
        raise TrashRefused(f"{manifest.digest} is a platform of the multi-arch version {parent.digest}; "
                             "delete that version instead")
    doomed = {manifest.pk: manifest}
    todo = [manifest]
    while todo:
        current = todo.pop()
        related = list(Manifest.objects.filter(package_id=manifest.package_id, deleted_at__isnull=True)
                       .filter(Q(subject_digest=current.digest) | Q(pk__in=_children(current).values("pk"))))
        for candidate in related:
            if candidate.pk in doomed:
                continue
            if candidate.subject_digest != current.digest and _parents(candidate).exclude(pk__in=doomed).exists():
                continue  # a platform another live index still lists
            doomed[candidate.pk] = candidate
            todo.append(candidate)
    tags = list(Tag.objects.filter(manifest=manifest).values_list("name", flat=True))
    _trash(list(doomed.values()), timezone.now(), deleted_by)
    event_record(type=EventType.VERSION_DELETED, package=manifest.package, subject=manifest.digest,
                 version=version_data(manifest, tags))
    return list(doomed.values())


@transaction.atomic
def version_restore(*, manifest: Manifest) -> list[Manifest]:
    """Restore a deleted version with what was deleted along with it; return what came back."""
    manifest = Manifest.objects.select_for_update().get(pk=manifest.pk)
    if manifest.deleted_at is None:
        return []
    if timezone.now() >= restorable_until(manifest.deleted_at):
        raise TrashRefused(f"{manifest.digest} was deleted more than {RESTORE_WINDOW.days} days ago "
                             "and can't be restored")
    when = manifest.deleted_at
    restored = {manifest.pk: manifest}
    todo = [manifest]
    while todo:
        current = todo.pop()
        # Every platform an index lists must be there; referrers only if deleted together with it.
        related = Manifest.objects.filter(package_id=manifest.package_id, deleted_at__isnull=False).filter(
            Q(subject_digest=current.digest, deleted_at=when) | Q(pk__in=_children(current).values("pk")))
        for candidate in related:
            if candidate.pk not in restored:
                restored[candidate.pk] = candidate
                todo.append(candidate)
    for item in restored.values():
        taken = set(Tag.objects.filter(package_id=item.package_id, name__in=item.deleted_tags)
                    .values_list("name", flat=True))
        Tag.objects.bulk_create([Tag(package_id=item.package_id, name=name, manifest=item)
                                 for name in item.deleted_tags if name not in taken], ignore_conflicts=True)
        item.deleted_at, item.deleted_tags, item.deleted_by = None, [], ""
    tags = list(Tag.objects.filter(manifest=manifest).values_list("name", flat=True))
    Manifest.objects.bulk_update(list(restored.values()), ["deleted_at", "deleted_tags", "deleted_by"])
    event_record(type=EventType.VERSION_RESTORED, package=manifest.package, subject=manifest.digest,
                 version=version_data(manifest, tags))
    return list(restored.values())


def expired(*, now: datetime):
    """Return the packages and versions deleted longer ago than RESTORE_WINDOW, for gc to purge."""
    before = now - RESTORE_WINDOW
    packages = Package.all_objects.filter(deleted_at__lt=before).order_by("deleted_at", "pk")
    versions = (Manifest.objects.filter(deleted_at__lt=before).exclude(package__in=packages)
                .select_related("package").order_by("deleted_at", "pk"))
    return packages, versions


@transaction.atomic
def expired_purge(*, now: datetime) -> tuple[list[str], list[str]]:
    """Delete for good what was deleted longer ago than RESTORE_WINDOW; return package names and name@digests."""
    packages, versions = expired(now=now)
    package_names = list(packages.values_list("name", flat=True))
    version_names = [str(v) for v in versions]
    Manifest.objects.filter(pk__in=[v.pk for v in versions]).delete()
    packages.delete()
    return package_names, version_names
