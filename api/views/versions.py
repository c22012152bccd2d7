"""Package versions: a multi-arch image is one version, its platforms and referrers inside it.

Deletes are the 30-day soft deletes of the package pages (registry.services.trash), so a version
deleted here is restorable from the settings page and the other way round. Unlike GitHub, the
last version of a package may be deleted (the pages allow it too); the package stays, empty.
"""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from api import permissions, selectors
from api.base import ApiView, documented
from api.errors import Forbidden, NotFound, Unprocessable
from api.serializers import VersionSerializer
from registry.services import trash
from registry.services.downloads import download_fold
from registry.services.usage import version_sizes

STATES = ("active", "deleted")


class VersionsMixin:
    def readable_package(self):
        self.container_only()
        owner = self.owner()
        package = selectors.package_find(owner=owner, name=self.kwargs["package_name"])
        return owner, permissions.check_read(self.request, package)

    def admin_package(self):
        self.container_only()
        owner = self.owner()
        package = selectors.package_find(owner=owner, name=self.kwargs["package_name"])
        return owner, permissions.check_admin(self.request, package)

    def serialize(self, owner, package, versions, many=False):
        sizes = version_sizes(package=package, versions=versions if many else [versions])
        context = {"request": self.request, "owner": owner, "package": package, "sizes": sizes}
        return VersionSerializer(versions, many=many, context=context).data


class VersionListView(VersionsMixin, ApiView):
    operation_ids = {"get": "get-all-package-versions-for-package-owned-by-{short}"}

    @documented(parameters=[OpenApiParameter("state", str, enum=list(STATES)), OpenApiParameter("page", int),
                               OpenApiParameter("per_page", int)],
                   responses=VersionSerializer(many=True))
    def get(self, request, **kwargs):
        """List a package's versions, newest first; state=deleted lists those still restorable (admins only)."""
        state = self.choice("state", STATES, default="active")
        owner, package = self.readable_package()
        download_fold(packages=[package.pk])
        if state == "deleted":
            if not permissions.is_admin(request, package):
                raise Forbidden(f"Only admins of {package.name} can list its deleted versions")
            versions = selectors.deleted_versions(package=package)
        else:
            versions = selectors.live_versions(package=package)
        return self.page_response(versions, lambda page: self.serialize(owner, package, page, many=True))


class VersionView(VersionsMixin, ApiView):
    operation_ids = {"get": "get-package-version-for-{who}", "delete": "delete-package-version-for-{short}"}

    @documented(responses=VersionSerializer)
    def get(self, request, version_id, **kwargs):
        """Get a version: live, or deleted and still restorable (admins only)."""
        owner, package = self.readable_package()
        download_fold(packages=[package.pk])
        version = selectors.version_find(package=package, version_id=version_id, deleted=False)
        if version is None and permissions.is_admin(request, package):
            version = selectors.version_find(package=package, version_id=version_id, deleted=True)
        if version is None:
            raise NotFound()
        return Response(self.serialize(owner, package, version))

    @documented(responses={204: None})
    def delete(self, request, version_id, **kwargs):
        """Delete a version with its platforms and referrers; restorable for 30 days."""
        _, package = self.admin_package()
        manifest = selectors.manifest_find(package=package, version_id=version_id)
        if manifest is None or manifest.deleted_at is not None:
            raise NotFound()
        try:
            trash.version_soft_delete(manifest=manifest)
        except trash.TrashRefused as e:
            raise Unprocessable(str(e)) from None
        return Response(status=204)


class VersionRestoreView(VersionsMixin, ApiView):
    operation_ids = {"post": "restore-package-version-for-{short}"}

    @documented(request=None, responses={204: None})
    def post(self, request, version_id, **kwargs):
        """Restore a deleted version with what was deleted along with it (a live one is left as it is)."""
        _, package = self.admin_package()
        manifest = selectors.manifest_find(package=package, version_id=version_id)
        if manifest is None:
            raise NotFound()
        try:
            trash.version_restore(manifest=manifest)
        except trash.TrashRefused as e:
            raise Unprocessable(str(e)) from None
        return Response(status=204)
