"""Storage usage: the bytes a version, a package and an owner hold (reads, used by quotas and pages).

One place computes sizes. A version's size is its manifest and those of its platforms plus the
unique blobs they name (configs and layers); a package's is its live manifests plus the unique
blobs they name; an owner's is its live packages' live manifests plus the blobs they name, each
blob counted once however many of the owner's packages hold it. Versions in the trash don't count:
deleting one frees its bytes for the quota at once, though gc only removes them 30 days later.
"""

from django.db.models import Sum

from registry.models import Blob, Manifest, ManifestReference, Package


def blob_sizes(*, package: Package, manifests: list[Manifest]) -> dict[int, dict[str, int]]:
    """Return, per manifest id, the digests and sizes of the blobs it names that the package holds."""
    ids = [m.pk for m in manifests]
    references = list(ManifestReference.objects.filter(manifest_id__in=ids, kind=ManifestReference.Kind.BLOB)
                      .values_list("manifest_id", "digest"))
    sizes = dict(Blob.objects.filter(packages=package, digest__in={d for _, d in references})
                 .values_list("digest", "size"))
    per_manifest: dict[int, dict[str, int]] = {i: {} for i in ids}
    for manifest_id, digest in references:
        if digest in sizes:
            per_manifest[manifest_id][digest] = sizes[digest]
    return per_manifest


def size_of(manifests: list[Manifest], blobs: dict[int, dict[str, int]]) -> int:
    """Return the bytes of manifests themselves plus the blobs they name, each blob counted once."""
    unique: dict[str, int] = {}
    for manifest in manifests:
        unique.update(blobs.get(manifest.pk, {}))
    return sum(m.size for m in manifests) + sum(unique.values())


def _live_manifests(**filters):
    return Manifest.objects.filter(deleted_at__isnull=True, package__deleted_at__isnull=True, **filters)


def _usage(manifests) -> int:
    digests = ManifestReference.objects.filter(manifest__in=manifests, kind=ManifestReference.Kind.BLOB
                                               ).values("digest")
    blobs = Blob.objects.filter(digest__in=digests).aggregate(total=Sum("size"))["total"] or 0
    return blobs + (manifests.aggregate(total=Sum("size"))["total"] or 0)


def package_usage(*, package: Package) -> int:
    """Return the bytes of package's live manifests and the unique blobs they name."""
    return _usage(_live_manifests(package=package))


def owner_usage(*, owner: str) -> int:
    """Return the bytes of owner's live packages: their live manifests and unique blobs across all of them."""
    return _usage(_live_manifests(package__namespace=owner))


def owner_package_usage(*, owner: str) -> dict[int, int]:
    """Return package id to package_usage for each of owner's live packages."""
    return {pk: package_usage(package=Package(pk=pk))
            for pk in Package.objects.filter(namespace=owner).values_list("pk", flat=True)}


def owner_holds_blob(*, owner: str, digest: str) -> bool:
    """Return True if a live version of owner's already names blob digest (so it adds nothing to usage)."""
    return ManifestReference.objects.filter(
        kind=ManifestReference.Kind.BLOB, digest=digest, manifest__deleted_at__isnull=True,
        manifest__package__deleted_at__isnull=True, manifest__package__namespace=owner).exists()


def blobs_new_to_owner(*, owner: str, digests: set[str]) -> set[str]:
    """Return those of digests no live version of owner's names yet."""
    held = set(ManifestReference.objects.filter(
        kind=ManifestReference.Kind.BLOB, digest__in=digests, manifest__deleted_at__isnull=True,
        manifest__package__deleted_at__isnull=True, manifest__package__namespace=owner
    ).values_list("digest", flat=True))
    return set(digests) - held


def _walk(versions):
    for version in versions:
        yield version
        yield from _walk(version.children)
        yield from _walk(version.referrers)


def _with_platforms(version) -> list:
    found = [version]
    for child in version.children:
        found += _with_platforms(child)
    return found


def version_sizes(*, package: Package, versions: list) -> dict[int, int]:
    """Return, per manifest id in a version tree (each node's .manifest, .children platforms and
    .referrers, as packages_ui.presentation.version_tree builds it), its size with its platforms."""
    everything = list(_walk(versions))
    blobs = blob_sizes(package=package, manifests=[v.manifest for v in everything])
    return {v.manifest.pk: size_of([p.manifest for p in _with_platforms(v)], blobs) for v in everything}
