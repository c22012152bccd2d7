"""Writes on manifests and tags."""

from django.db import IntegrityError, transaction

from events.models import EventType
from events.outbox import event_record, version_data
from registry.models import Manifest, ManifestReference, Package, PackageBlob, Tag
from registry.oci.digests import digest_bytes, looks_like_digest, parse_digest
from registry.oci.errors import DigestInvalid, ManifestBlobUnknown, ManifestInvalid, ManifestUnknown
from registry.oci.manifests import ParsedManifest, parse_image_config, parse_manifest
from registry.oci.names import validate_tag
from registry.storage import get_store
from retention.quotas import quota_check_manifest
from sources.identity import JobIdentity
from sources.provenance import connect_from_labels, provenance_record

MAX_CONFIG_SIZE = 8 * 1024 * 1024


def manifest_put(*, package: Package, reference: str, raw: bytes, content_type: str,
                 tags: list[str] = (), job: JobIdentity | None = None, by=None
                 ) -> tuple[Manifest, ParsedManifest]:
    """Validate and store a manifest under a tag or its digest, plus any extra tags.

    A CI job's push (job) records the version's provenance; a person's (by, the user) may connect the
    package to the repository its source label names. Both happen in the manifest's transaction.
    Events name the pusher: the job's repository, the person, or nobody (an anonymous push).
    """
    pusher = job.username if job is not None else by.get_username() if by is not None else ""
    if looks_like_digest(reference):
        wanted = parse_digest(reference)
        digest = digest_bytes(raw, wanted.algorithm)
        if digest != reference:
            raise DigestInvalid(
                f"the manifest's digest is {digest}, not {reference} as the URL says",
                detail={"expected": reference, "actual": digest},
            )
        tag_list = [validate_tag(t) for t in tags]
    else:
        digest = digest_bytes(raw)
        tag_list = [validate_tag(reference), *(validate_tag(t) for t in tags)]

    parsed = parse_manifest(raw, content_type)
    sizes = _check_blobs(package, parsed)
    _check_children(package, parsed)
    quota_check_manifest(package=package, digest=digest, raw=raw, parsed=parsed, blob_sizes=sizes)
    labels, platforms = _describe(package, parsed)

    with transaction.atomic():
        # Locked so a retention run deleting this version either sees the new tag or finishes first
        # (and the push below then brings the version back): the tag never lands on a deleted version.
        manifest = Manifest.objects.select_for_update().filter(package=package, digest=digest).first()
        published = manifest is None or manifest.deleted_at is not None
        if manifest is None:
            manifest = _create(package, digest, raw, parsed, labels, platforms, sizes)
        elif manifest.deleted_at is not None:
            # Pushing a deleted version again brings it back, without the tags it had then.
            Manifest.objects.filter(pk=manifest.pk).update(deleted_at=None, deleted_tags=[])
            manifest.deleted_at, manifest.deleted_tags = None, []
        before = dict(Tag.objects.filter(package=package, name__in=tag_list).values_list("name", "manifest_id"))
        for tag in tag_list:
            tag_set(package=package, name=tag, manifest=manifest)
        if job is not None:
            provenance_record(manifest=manifest, job=job)
        else:
            connect_from_labels(package=package, manifest=manifest, user=by)
        _record_push(package, manifest, tag_list, before, published, pusher)
    return manifest, parsed


def _record_push(package, manifest, tag_list, before, published, pusher) -> None:
    """Record a published version, or the tags a push of a known version moved (the webhooks' outbox)."""
    moved = [tag for tag in tag_list if before.get(tag) != manifest.pk]
    if published:
        event_record(type=EventType.PUBLISHED, package=package, subject=manifest.digest,
                     version=version_data(manifest, tag_list), actor=pusher)
    elif moved:
        event_record(type=EventType.TAG_MOVED, package=package, subject=manifest.digest,
                     version=version_data(manifest, tag_list), actor=pusher, extra={"moved_tags": moved})


def _check_blobs(package: Package, parsed: ParsedManifest) -> dict[str, int]:
    """Raise MANIFEST_BLOB_UNKNOWN for a referenced blob missing from package."""
    wanted = {d.digest for d in parsed.blob_descriptors()}
    present = dict(PackageBlob.objects.filter(package=package, blob__digest__in=wanted)
                   .values_list("blob__digest", "blob__size"))
    for where, descriptor in _named_blobs(parsed):
        size = present.get(descriptor.digest)
        if size is None:
            if descriptor.is_foreign:
                continue  # Windows base layers live at their urls, not in the registry.
            raise ManifestBlobUnknown(
                f"{where} {descriptor.digest} has not been pushed to {package.name}; "
                "push the blob before the manifest",
                detail={"digest": descriptor.digest},
            )
        if size != descriptor.size:
            raise ManifestInvalid(
                f"{where} {descriptor.digest} is {size} bytes in the registry but the manifest "
                f"says {descriptor.size}",
                detail={"digest": descriptor.digest},
            )
    return present


def _named_blobs(parsed: ParsedManifest):
    if parsed.config is not None:
        yield "config", parsed.config
    for i, layer in enumerate(parsed.layers):
        yield f"layers[{i}]", layer


def _check_children(package: Package, parsed: ParsedManifest) -> None:
    wanted = {d.digest for d in parsed.manifests}
    present = set(Manifest.objects.filter(package=package, digest__in=wanted, deleted_at__isnull=True)
                  .values_list("digest", flat=True))
    for i, child in enumerate(parsed.manifests):
        if child.digest not in present:
            raise ManifestBlobUnknown(
                f"manifests[{i}] {child.digest} has not been pushed to {package.name}; "
                "push each platform's manifest before the index",
                detail={"digest": child.digest},
            )


def _describe(package: Package, parsed: ParsedManifest) -> tuple[dict, list]:
    """Return the config labels and platforms the package pages show."""
    if parsed.is_index:
        platforms = [c.platform.as_dict() for c in parsed.manifests
                     if c.platform is not None and c.platform.os != "unknown"]
        return {}, platforms
    if not parsed.is_image or parsed.config.size > MAX_CONFIG_SIZE:
        return {}, []
    with get_store().open(parsed.config.digest) as f:
        config = parse_image_config(f.read(MAX_CONFIG_SIZE))
    return config.labels, [config.platform.as_dict()] if config.platform else []


def _create(package, digest, raw, parsed, labels, platforms, sizes) -> Manifest:
    layers_size = sum(d.size for d in parsed.blob_descriptors())
    if parsed.is_index:
        layers_size = sum(Manifest.objects.filter(package=package, digest__in=[c.digest for c in parsed.manifests])
                          .values_list("layers_size", flat=True))
    try:
        with transaction.atomic():
            manifest = Manifest.objects.create(
                package=package,
                digest=digest,
                media_type=parsed.media_type,
                artifact_type=parsed.effective_artifact_type,
                raw=raw,
                size=len(raw),
                config_digest=parsed.config.digest if parsed.config else "",
                subject_digest=parsed.subject.digest if parsed.subject else "",
                annotations=parsed.annotations,
                labels=labels,
                platforms=platforms,
                layers_size=layers_size,
            )
    except IntegrityError:
        return Manifest.objects.get(package=package, digest=digest)
    references = [ManifestReference(manifest=manifest, digest=d.digest, kind=ManifestReference.Kind.BLOB)
                  for d in parsed.blob_descriptors() if d.digest in sizes]
    references += [ManifestReference(manifest=manifest, digest=d.digest, kind=ManifestReference.Kind.MANIFEST)
                   for d in parsed.manifests]
    ManifestReference.objects.bulk_create(references, ignore_conflicts=True)
    return manifest


def tag_set(*, package: Package, name: str, manifest: Manifest) -> Tag:
    """Point tag name at manifest, moving it if it pointed elsewhere."""
    updated = Tag.objects.filter(package=package, name=name).update(manifest=manifest)
    if updated:
        return Tag.objects.get(package=package, name=name)
    try:
        with transaction.atomic():
            return Tag.objects.create(package=package, name=name, manifest=manifest)
    except IntegrityError:
        Tag.objects.filter(package=package, name=name).update(manifest=manifest)
        return Tag.objects.get(package=package, name=name)


def manifest_delete(*, package: Package, reference: str) -> None:
    """Delete a manifest by digest (with its tags), or just a tag when given one."""
    if looks_like_digest(reference):
        parse_digest(reference)
        # One deleted from the package pages is already gone as far as the API is concerned.
        with transaction.atomic():
            found = Manifest.objects.filter(package=package, digest=reference, deleted_at__isnull=True).first()
            tags = list(Tag.objects.filter(manifest=found).values_list("name", flat=True)) if found else []
            deleted, _ = Manifest.objects.filter(package=package, digest=reference, deleted_at__isnull=True).delete()
            if deleted:
                event_record(type=EventType.VERSION_DELETED, package=package, subject=reference,
                             version=version_data(found, tags))
    else:
        validate_tag(reference)
        deleted, _ = Tag.objects.filter(package=package, name=reference).delete()
    if not deleted:
        raise ManifestUnknown(f"manifest {reference} is not in {package.name}",
                              detail={"name": package.name, "reference": reference})
