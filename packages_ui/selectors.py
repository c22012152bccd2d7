"""Reads for the package pages, on top of registry.selectors and the access module. They only read:
views fold download counts (a write) before calling them, and packages_ui.presentation shapes the rows."""

from django.db.models import F, Max, Q
from django.utils import timezone

from accounts import access
from accounts.models import Namespace, PackagePermission
from registry.models import Manifest, ManifestReference, Package, Tag, Visibility
from registry.services.trash import RESTORE_WINDOW

# Fields every version list needs; the raw bytes are read only on a version's own page.
LIST_FIELDS = ("id", "package_id", "digest", "media_type", "artifact_type", "size", "pushed_at", "subject_digest",
               "annotations", "labels", "platforms", "layers_size", "downloads", "deleted_at", "deleted_tags",
               "deleted_by")
# And where a CI job built it (sources.models.Provenance), read in the same query: the pages show it.
PROVENANCE_FIELDS = ("provenance__id", "provenance__manifest_id", "provenance__repository_url",
                     "provenance__issuer", "provenance__ref", "provenance__sha", "provenance__workflow",
                     "provenance__run_id")


def package_list(*, request, owner: str | None = None, query: str = ""):
    """Return the live packages the visitor may read (of one owner, or public and internal ones across
    the instance), filtered by a name fragment, with their last push, most recent first."""
    user = access.caller_for(request).user
    packages = access.visible_packages(user)
    if owner is not None:
        packages = packages.filter(namespace=owner)
    else:
        shown = [Visibility.PUBLIC, Visibility.INTERNAL] if user.is_authenticated else [Visibility.PUBLIC]
        packages = packages.filter(visibility__in=shown)
    if query:
        packages = packages.filter(name__icontains=query.strip())
    return packages.annotate(last_published=Max("manifests__pushed_at", filter=Q(manifests__deleted_at__isnull=True))
                             ).order_by(F("last_published").desc(nulls_last=True), "name")


def owner_exists(owner: str) -> bool:
    """Return True if owner is a user's or an organization's name, or holds packages."""
    return Namespace.objects.filter(name=owner).exists() or Package.all_objects.filter(namespace=owner).exists()


def deleted_packages(*, request, owner: str) -> list[Package]:
    """Return owner's packages deleted within the restore window that the visitor administers."""
    since = timezone.now() - RESTORE_WINDOW
    packages = Package.all_objects.filter(namespace=owner, deleted_at__gte=since).order_by("-deleted_at")
    user = access.caller_for(request).user
    return [p for p in packages if access.administers(user, p)]


def package_for_page(*, request, name: str) -> Package | None:
    """Return the live package called name if the visitor may read it; None answers 404 either way."""
    if not access.can_read(request, name):
        return None
    return Package.objects.filter(name=name).first()


def version_rows(*, package: Package) -> tuple[list[Manifest], list[tuple[int, str]], list[tuple[int, str]]]:
    """Return package's live manifests newest first, its (manifest id, tag) pairs in tag order, and the
    (index id, child digest) references of its indexes in index order: what presentation.version_tree() nests."""
    manifests = list(Manifest.objects.filter(package=package, deleted_at__isnull=True).select_related("provenance")
                     .only(*LIST_FIELDS, *PROVENANCE_FIELDS).order_by("-pushed_at", "-id"))
    tags = list(Tag.objects.filter(package=package).order_by("name").values_list("manifest_id", "name"))
    references = list(ManifestReference.objects.filter(manifest__package=package, kind=ManifestReference.Kind.MANIFEST
                                                       ).order_by("pk").values_list("manifest_id", "digest"))
    return manifests, tags, references


def deleted_versions(*, package: Package) -> list[Manifest]:
    """Return package's versions deleted within the restore window, most recently deleted first."""
    since = timezone.now() - RESTORE_WINDOW
    return list(Manifest.objects.filter(package=package, deleted_at__gte=since).select_related("provenance")
                .only(*LIST_FIELDS, *PROVENANCE_FIELDS).order_by("-deleted_at", "-id"))


def manifest_raw(manifest: Manifest) -> bytes:
    """Return a manifest's bytes as pushed (version lists leave them out)."""
    return bytes(Manifest.objects.filter(pk=manifest.pk).values_list("raw", flat=True).first() or b"")


def grants(*, package: Package) -> list[PackagePermission]:
    return list(PackagePermission.objects.filter(package=package).select_related("user", "team__organization")
                .order_by("team__name", "user__username"))
