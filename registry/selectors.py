"""Reads shared by the distribution API and the package pages."""

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Collate, Lower

from registry.models import Blob, Manifest, Package, Tag
from registry.oci import media_types as mt
from registry.oci.digests import looks_like_digest, parse_digest
from registry.oci.errors import BlobUnknown, ManifestUnknown, NameUnknown, OCIError
from registry.oci.manifests import Descriptor, listed_artifact_type
from registry.oci.names import is_valid_tag, validate_name


def name_unknown(name: str) -> NameUnknown:
    """Return the error a missing repository gets; accounts.access gives unreadable ones exactly the same."""
    return NameUnknown(f"repository {name} is not known to this registry", detail={"name": name})


def package_get(*, name: str) -> Package:
    """Return the live package called name or raise NAME_UNKNOWN."""
    validate_name(name)
    package = Package.objects.filter(name=name).first()
    if package is None:
        raise name_unknown(name)
    return package


def package_find(*, name: str) -> Package | None:
    return Package.objects.filter(name=name).first()


def blob_get(*, package: Package, digest: str) -> Blob:
    """Return a blob linked to package, or raise BLOB_UNKNOWN."""
    parse_digest(digest)
    blob = Blob.objects.filter(digest=digest, packages=package).first()
    if blob is None:
        raise BlobUnknown(f"blob {digest} is not in {package.name}", detail={"digest": digest})
    return blob


def manifest_get(*, package: Package, reference: str) -> Manifest:
    """Return the manifest a tag or digest names in package, or raise MANIFEST_UNKNOWN."""
    live = Manifest.objects.filter(package=package, deleted_at__isnull=True)
    if looks_like_digest(reference):
        parse_digest(reference)
        manifest = live.filter(digest=reference).first()
    elif not is_valid_tag(reference):
        # No such tag can exist; the conformance suite expects 404 for reads of one.
        raise ManifestUnknown(
            f"{reference!r} is not a valid tag, so {package.name} has no manifest under it",
            detail={"name": package.name, "reference": reference},
        )
    else:
        # The tag's own package too (one filter(), so one join): it lets PostgreSQL find the tag by its
        # unique (package, name) instead of reading every tag of every package with that name.
        manifest = live.filter(tags__package=package, tags__name=reference).first()
    if manifest is None:
        raise ManifestUnknown(f"manifest {reference} is not in {package.name}",
                              detail={"name": package.name, "reference": reference})
    return manifest


def manifest_find(*, name: str, reference: str, package_annotations: dict | None = None) -> Manifest | None:
    """Return the live manifest a tag or digest names in the live package called name, or None.

    Its package comes in the same query (select_related), annotated with package_annotations
    (expressions over the manifest's row, e.g. OuterRef("package__namespace")) set on it without
    their prefix. None for a malformed reference too: manifest_get() says what is wrong with it.
    """
    live = Manifest.objects.filter(package__name=name, package__deleted_at__isnull=True, deleted_at__isnull=True)
    if looks_like_digest(reference):
        try:
            parse_digest(reference)
        except OCIError:
            return None
        live = live.filter(digest=reference)
    elif is_valid_tag(reference):
        live = live.filter(tags__package_id=F("package_id"), tags__name=reference)  # see manifest_get()
    else:
        return None
    annotations = package_annotations or {}
    manifest = live.select_related("package").annotate(
        **{f"package_{key}": value for key, value in annotations.items()}).first()
    if manifest is not None:
        for key in annotations:
            setattr(manifest.package, key, getattr(manifest, f"package_{key}"))
    return manifest


def tag_names(*, package: Package, n: int | None, last: str | None) -> list[str]:
    """Return tag names in the spec's lexical (case-insensitive) order after last, at most n of them."""
    tags = Tag.objects.filter(package=package).annotate(
        folded=_bytewise(Lower("name")), exact=_bytewise(F("name"))
    ).order_by("folded", "exact")
    if last:
        tags = tags.filter(Q(folded__gt=last.lower()) | Q(folded=last.lower(), exact__gt=last))
    names = tags.values_list("name", flat=True)
    return list(names if n is None else names[:n])


def _bytewise(expression):
    """Compare by code point, whatever collation the database was created with."""
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


def referrers(*, package: Package, digest: str, artifact_type: str | None) -> list[Descriptor]:
    """Return descriptors of the manifests in package whose subject is digest, optionally of one artifactType.

    An image manifest without an artifactType is listed (and filtered) as its config's mediaType,
    read from the stored manifest: the artifact_type column leaves it empty for images, which the
    package pages show as images.
    """
    parse_digest(digest)
    manifests = Manifest.objects.filter(package=package, subject_digest=digest, deleted_at__isnull=True
                                        ).order_by("pushed_at", "id")
    if artifact_type:
        manifests = manifests.filter(Q(artifact_type=artifact_type)
                                     | Q(artifact_type="", media_type__in=mt.IMAGE_MANIFESTS))
    listed = [
        Descriptor(media_type=m.media_type, digest=m.digest, size=m.size, annotations=m.annotations or {},
                   artifact_type=listed_artifact_type(m.media_type, m.artifact_type, bytes(m.raw)))
        for m in manifests
    ]
    return [d for d in listed if not artifact_type or d.artifact_type == artifact_type]


def catalog_names(*, packages, n: int | None, last: str | None) -> list[str]:
    """Return names of packages (a queryset of Package.objects: live ones) holding a live manifest, after last."""
    live = Manifest.objects.filter(package=OuterRef("pk"), deleted_at__isnull=True)
    packages = packages.filter(Exists(live)).annotate(
        exact=_bytewise(F("name"))
    ).order_by("exact")
    if last:
        packages = packages.filter(exact__gt=last)
    names = packages.values_list("name", flat=True)
    return list(names if n is None else names[:n])
