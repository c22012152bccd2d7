"""Reads for the REST API: owners, packages and their versions, nested and measured.

Versions are nested by packages_ui.presentation.version_tree, as the pages nest them: a
multi-arch image is one version with its platforms inside, and signatures, SBOMs and
attestations hang under the version they refer to. Sizes come from registry.services.usage, the one
place that measures versions, packages and owners.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Namespace
from api import permissions
from api.errors import NotFound
from packages_ui import selectors as page_selectors
from packages_ui.presentation import Version, version_tree
from registry.models import Manifest, ManifestReference, Package
from registry.services.trash import RESTORE_WINDOW
from registry.services.usage import package_usage

ORGANIZATION, USER = "Organization", "User"


@dataclass(frozen=True)
class Owner:
    login: str
    id: int
    type: str

    @property
    def route(self) -> str:
        """Return the route prefix GitHub's URLs name this owner under: users or orgs."""
        return "orgs" if self.type == ORGANIZATION else "users"


@dataclass
class PackageRow:
    package: Package
    owner: Owner
    versions: list[Version] = field(default_factory=list)
    size_in_bytes: int = 0

    @property
    def updated_at(self) -> datetime:
        return max((v.manifest.pushed_at for v in self.versions), default=self.package.created_at)


def owner_get(*, request, kind: str, login: str | None) -> Owner:
    """Return the owner a route names (user: the caller; users/NAME; orgs/NAME), or raise 404."""
    if kind == "user":
        user = permissions.caller_user(request)
        namespace = Namespace.objects.filter(user=user).first()
        return Owner(user.get_username(), namespace.pk if namespace else user.pk, USER)
    namespace = Namespace.objects.filter(name=login).first()
    if namespace is None:
        # A user made outside sign-up (createsuperuser) has no Namespace row but owns their name.
        user = get_user_model().objects.filter(username=login).first() if kind == "users" else None
        if user is None:
            raise NotFound()
        return Owner(user.get_username(), user.pk, USER)
    if (namespace.organization_id is not None) != (kind == "orgs"):
        raise NotFound()
    return Owner(namespace.name, namespace.pk, ORGANIZATION if namespace.organization_id else USER)


def package_list(*, request, owner: Owner, visibility: str | None):
    """Return owner's live packages the caller may read, by name."""
    packages = permissions.readable_packages(request).filter(namespace=owner.login)
    if visibility:
        packages = packages.filter(visibility=visibility)
    return packages.select_related("source_repository").order_by("name")


def package_find(*, owner: Owner, name: str) -> Package | None:
    return Package.objects.filter(name=f"{owner.login}/{name}").select_related("source_repository").first()


def deleted_package_find(*, owner: Owner, name: str) -> Package | None:
    """Return owner's package called name as deleted within the restore window, or None."""
    since = timezone.now() - RESTORE_WINDOW
    return (Package.all_objects.filter(name=f"{owner.login}/{name}", deleted_at__gte=since)
            .order_by("-deleted_at").first())


def live_versions(*, package: Package) -> list[Version]:
    """Return package's live top-level versions, newest first, with platforms and referrers nested."""
    return version_tree(*page_selectors.version_rows(package=package))


def deleted_versions(*, package: Package) -> list[Version]:
    """Return package's versions deleted within the restore window, most recently deleted first, nested."""
    manifests = page_selectors.deleted_versions(package=package)
    references = list(ManifestReference.objects.filter(manifest__in=manifests, kind=ManifestReference.Kind.MANIFEST)
                      .order_by("pk").values_list("manifest_id", "digest"))
    return version_tree(manifests, [(m.pk, tag) for m in manifests for tag in m.deleted_tags], references)


def version_find(*, package: Package, version_id: int, deleted: bool) -> Version | None:
    """Return the version with this id (live, or deleted within the window when deleted), nested as listed."""
    top_level = deleted_versions(package=package) if deleted else live_versions(package=package)
    for version in walk(top_level):
        if version.manifest.pk == version_id:
            return version
    return None


def manifest_find(*, package: Package, version_id: int) -> Manifest | None:
    return Manifest.objects.filter(package=package, pk=version_id).first()


def walk(versions: list[Version]):
    for version in versions:
        yield version
        yield from walk(version.children)
        yield from walk(version.referrers)


def package_row(*, package: Package, owner: Owner) -> PackageRow:
    """Return package with its live versions and size: its live manifests and their unique blobs."""
    versions = live_versions(package=package)
    return PackageRow(package=package, owner=owner, versions=versions, size_in_bytes=package_usage(package=package))

