"""Reads for the package pages, on top of registry.selectors and the access module."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.db.models import F, Max, Q
from django.utils import timezone

from accounts import access
from accounts.models import Namespace, PackagePermission
from registry.models import Manifest, ManifestReference, Package, Tag, Visibility
from registry.oci import media_types as mt
from registry.services.downloads import download_fold
from registry.services.trash import RETENTION

DESCRIPTION = "org.opencontainers.image.description"
LICENSES = "org.opencontainers.image.licenses"
SOURCE = "org.opencontainers.image.source"
DESCRIPTION_LIMIT = 512
LICENSE_LIMIT = 256
SOURCE_LIMIT = 2048
# Fields every version list needs; the raw bytes are read only on a version's own page.
LIST_FIELDS = ("id", "package_id", "digest", "media_type", "artifact_type", "size", "pushed_at", "subject_digest",
               "annotations", "labels", "platforms", "layers_size", "downloads", "deleted_at", "deleted_tags")


def _live_packages(packages):
    return packages.filter(deleted_at__isnull=True)


def package_list(*, request, owner: str | None = None, query: str = ""):
    """Return the live packages the visitor may read (of one owner, or public and internal ones across
    the instance), filtered by a name fragment, with their last push, most recent first."""
    user = access.caller_for(request).user
    packages = _live_packages(access.visible_packages(user))
    if owner is not None:
        packages = packages.filter(namespace=owner)
    else:
        shown = [Visibility.PUBLIC, Visibility.INTERNAL] if user.is_authenticated else [Visibility.PUBLIC]
        packages = packages.filter(visibility__in=shown)
    if query:
        packages = packages.filter(name__icontains=query.strip())
    download_fold(packages=packages.values("pk"))
    return packages.annotate(last_published=Max("manifests__pushed_at", filter=Q(manifests__deleted_at__isnull=True))
                             ).order_by(F("last_published").desc(nulls_last=True), "name")


def owner_exists(owner: str) -> bool:
    """Return True if owner is a user's or an organization's name, or holds packages."""
    return Namespace.objects.filter(name=owner).exists() or Package.all_objects.filter(namespace=owner).exists()


def is_owner_admin(request, owner: str) -> bool:
    """Return True if the visitor holds owner (their own name, or an organization they own)."""
    return access.namespace_role(access.caller_for(request).user, owner) == PackagePermission.Role.ADMIN


def deleted_packages(*, request, owner: str) -> list[Package]:
    """Return owner's packages deleted within the restore window that the visitor administers."""
    since = timezone.now() - RETENTION
    packages = Package.all_objects.filter(namespace=owner, deleted_at__gte=since).order_by("-deleted_at")
    return [p for p in packages if may_restore(request, p)]


def may_restore(request, package: Package) -> bool:
    """Return True if the visitor administers package (deleted, so the access module no longer sees it)."""
    user = access.caller_for(request).user
    return access.package_role(user, package, package.namespace) == PackagePermission.Role.ADMIN


def package_for_page(*, request, name: str) -> Package | None:
    """Return the live package called name if the visitor may read it; None answers 404 either way."""
    if not access.can_read(request, name):
        return None
    package_id = Package.objects.filter(name=name, deleted_at__isnull=True).values_list("pk", flat=True).first()
    if package_id is None:
        return None
    # Its pages show download counts: bring them up to date first.
    download_fold(packages=[package_id])
    return Package.objects.get(pk=package_id)


@dataclass
class Version:
    """A version as the pages list it: a manifest with its tags, platforms and what hangs under it."""

    manifest: Manifest
    tags: list[str] = field(default_factory=list)
    children: list["Version"] = field(default_factory=list)
    referrers: list["Version"] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def is_index(self) -> bool:
        return self.manifest.media_type in mt.INDEXES

    @property
    def kind(self) -> str:
        if self.is_index:
            return "multi-arch image"
        if self.manifest.artifact_type:
            return self.manifest.artifact_type
        return "image"

    @property
    def platforms(self) -> list[str]:
        return [platform_label(p) for p in self.manifest.platforms]

    @property
    def size(self) -> int:
        return self.manifest.layers_size + self.manifest.size


def platform_label(platform: dict) -> str:
    return "/".join(v for v in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if v)


def versions(*, package: Package) -> list[Version]:
    """Return package's live versions newest first, platforms of an index and referrers nested under
    their parent rather than listed on their own."""
    manifests = list(Manifest.objects.filter(package=package, deleted_at__isnull=True).only(*LIST_FIELDS)
                     .order_by("-pushed_at", "-id"))
    by_digest = {m.digest: Version(m) for m in manifests}
    by_id = {v.manifest.pk: v for v in by_digest.values()}
    for manifest_id, name in Tag.objects.filter(package=package).order_by("name").values_list("manifest_id", "name"):
        if manifest_id in by_id:
            by_id[manifest_id].tags.append(name)
    nested = set()
    references = ManifestReference.objects.filter(manifest_id__in=by_id, kind=ManifestReference.Kind.MANIFEST
                                                  ).order_by("pk").values_list("manifest_id", "digest")
    for parent_id, digest in references:
        child = by_digest.get(digest)
        if child is not None:
            by_id[parent_id].children.append(child)
            nested.add(digest)
    for version in by_digest.values():
        subject = by_digest.get(version.manifest.subject_digest)
        if subject is not None:
            subject.referrers.append(version)
            nested.add(version.digest)
    return [v for v in by_digest.values() if v.digest not in nested]


def deleted_versions(*, package: Package) -> list[Manifest]:
    """Return package's versions deleted within the restore window, most recently deleted first."""
    since = timezone.now() - RETENTION
    return list(Manifest.objects.filter(package=package, deleted_at__gte=since).only(*LIST_FIELDS)
                .order_by("-deleted_at", "-id"))


def newest_version(top_level: list[Version]) -> Version | None:
    """Return the version tagged latest, else the most recently pushed one that isn't an artifact."""
    for version in top_level:
        if "latest" in version.tags:
            return version
    images = [v for v in top_level if not v.manifest.subject_digest]
    return images[0] if images else None


@dataclass(frozen=True)
class Details:
    description: str = ""
    license: str = ""
    source: str = ""
    source_is_link: bool = False


def _cut(value, limit: int) -> str:
    value = value if isinstance(value, str) else ""
    return value.strip()[:limit]


def details(version: Version | None) -> Details:
    """Return what the package page shows about the package, read from its newest version.

    An image's config labels come first, then its manifest's annotations; an index's own
    annotations come first, then its platforms' labels in the index's order.
    """
    if version is None:
        return Details()
    manifest = version.manifest
    if version.is_index:
        sources = [manifest.annotations] + [c.manifest.labels for c in version.children]
    else:
        sources = [manifest.labels, manifest.annotations]
    sources = [s for s in sources if isinstance(s, dict)]

    def pick(key: str, limit: int) -> str:
        for source in sources:
            value = _cut(source.get(key), limit)
            if value:
                return value
        return ""

    source = pick(SOURCE, SOURCE_LIMIT)
    return Details(description=pick(DESCRIPTION, DESCRIPTION_LIMIT), license=pick(LICENSES, LICENSE_LIMIT),
                   source=source, source_is_link=is_web_url(source))


def is_web_url(value: str) -> bool:
    """Return True only for absolute http and https URLs (never javascript:, data: and the like)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in value)


def last_published(top_level: list[Version]) -> datetime | None:
    return max((v.manifest.pushed_at for v in top_level), default=None)


def version_get(*, package: Package, digest: str) -> Version | None:
    """Return the live version with digest, with its tags, platforms and referrers, or None."""
    for version in _walk(versions(package=package)):
        if version.digest == digest:
            return version
    return None


def _walk(items: list[Version]):
    for version in items:
        yield version
        yield from _walk(version.children)
        yield from _walk(version.referrers)


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str
    size: int


def manifest_document(manifest: Manifest) -> tuple[str, list[Layer], Layer | None]:
    """Return the manifest's JSON pretty-printed, its layers and its config descriptor."""
    raw = bytes(Manifest.objects.filter(pk=manifest.pk).values_list("raw", flat=True).first() or b"")
    try:
        document = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace"), [], None
    if not isinstance(document, dict):
        return json.dumps(document, indent=2), [], None

    def layer(d) -> Layer | None:
        if not isinstance(d, dict):
            return None
        return Layer(str(d.get("mediaType", "")), str(d.get("digest", "")), d.get("size") or 0)

    layers = [x for x in (layer(d) for d in document.get("layers") or []) if x is not None]
    return json.dumps(document, indent=2), layers, layer(document.get("config"))


def grants(*, package: Package) -> list[PackagePermission]:
    return list(PackagePermission.objects.filter(package=package).select_related("user", "team__organization")
                .order_by("team__name", "user__username"))
