"""Packages: list an owner's, get one, delete one (the 30-day soft delete the settings page does) and restore it."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from api import permissions, selectors
from api.base import PACKAGE_TYPES, ApiView, documented
from api.errors import Unprocessable
from api.serializers import PackageSerializer
from registry.models import Visibility
from registry.services import trash
from registry.services.downloads import download_fold

LIST_PARAMETERS = [
    OpenApiParameter("package_type", str, enum=list(PACKAGE_TYPES), required=True),
    OpenApiParameter("visibility", str, enum=Visibility.values),
    OpenApiParameter("page", int), OpenApiParameter("per_page", int, description="At most 100; 30 by default"),
]


class PackageListView(ApiView):
    operation_ids = {"get": "list-packages-for-{who}"}

    @documented(parameters=LIST_PARAMETERS, responses=PackageSerializer(many=True))
    def get(self, request, **kwargs):
        """List an owner's packages that the caller may read."""
        package_type = self.choice("package_type", PACKAGE_TYPES)
        if package_type is None:
            raise Unprocessable("package_type is required: pass package_type=container")
        visibility = self.choice("visibility", Visibility.values)
        owner = self.owner()
        packages = selectors.package_list(request=request, owner=owner, visibility=visibility)
        if package_type != "container":
            packages = packages.none()
        # The JSON shows download counts: fold the pulls counted since the last fold first, as the pages do.
        download_fold(packages=packages.values("pk"))

        def serialize(page):
            rows = [selectors.package_row(package=p, owner=owner) for p in page]
            return PackageSerializer(rows, many=True, context={"request": request}).data

        return self.page_response(packages, serialize)


class PackageView(ApiView):
    operation_ids = {"get": "get-package-for-{who}", "delete": "delete-package-for-{short}"}

    @documented(responses=PackageSerializer)
    def get(self, request, package_name, **kwargs):
        """Get a package."""
        self.container_only()
        owner = self.owner()
        package = permissions.check_read(request, selectors.package_find(owner=owner, name=package_name))
        download_fold(packages=[package.pk])
        package.refresh_from_db(fields=["downloads"])
        row = selectors.package_row(package=package, owner=owner)
        return Response(PackageSerializer(row, context={"request": request}).data)

    @documented(responses={204: None})
    def delete(self, request, package_name, **kwargs):
        """Delete a package with all its versions; restorable for 30 days. Berth has no download limit on this."""
        self.container_only()
        owner = self.owner()
        package = permissions.check_admin(request, selectors.package_find(owner=owner, name=package_name))
        trash.package_soft_delete(package=package)
        return Response(status=204)


class PackageRestoreView(ApiView):
    operation_ids = {"post": "restore-package-for-{short}"}

    @documented(request=None, responses={204: None})
    def post(self, request, package_name, **kwargs):
        """Restore a package deleted within the last 30 days (a package that isn't deleted is left as it is)."""
        self.container_only()
        owner = self.owner()
        deleted = selectors.deleted_package_find(owner=owner, name=package_name)
        if deleted is not None:
            package = permissions.check_admin(request, deleted, live=False)
        else:
            package = permissions.check_admin(request, selectors.package_find(owner=owner, name=package_name))
        try:
            trash.package_restore(package=package)
        except trash.TrashRefused as e:
            raise Unprocessable(str(e)) from None
        return Response(status=204)
