"""GitHub's packages REST API under /api/v3/, for the authenticated user, a user and an organization.

Nested package names come %2F-encoded (servers decode that to a slash before routing) or with a
literal slash; either way a name ending in /versions, /restore or /retention can't be told from these routes.
"""

from django.http import JsonResponse
from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from api.errors import NotFound, error_response
from api.views.audit import audit_routes
from api.views.hooks import hook_routes
from api.views.packages import PackageListView, PackageRestoreView, PackageView
from api.views.retention import OwnerRetentionView, PackageRetentionView
from api.views.versions import VersionListView, VersionRestoreView, VersionView

app_name = "api"

OWNERS = {"user": "user/", "users": "users/<str:username>/", "orgs": "orgs/<str:org>/"}


def root(request):
    """Say where the description and its docs page are (GitHub's root lists its URL templates)."""
    return JsonResponse({"openapi_url": request.build_absolute_uri("openapi.json"),
                         "documentation_url": request.build_absolute_uri("docs")})


def not_found(request, *args, **kwargs):
    return error_response(NotFound())


def owner_routes(kind: str, prefix: str) -> list:
    package = f"{prefix}packages/<str:package_type>/<path:package_name>"
    extra = {"owner_kind": kind}
    return [
        path(f"{prefix}packages", PackageListView.as_view(), extra, name=f"{kind}-packages"),
        path(f"{prefix}retention", OwnerRetentionView.as_view(), extra, name=f"{kind}-retention"),
        path(f"{package}/versions/<int:version_id>/restore", VersionRestoreView.as_view(), extra,
             name=f"{kind}-version-restore"),
        path(f"{package}/versions/<int:version_id>", VersionView.as_view(), extra, name=f"{kind}-version"),
        path(f"{package}/versions", VersionListView.as_view(), extra, name=f"{kind}-versions"),
        path(f"{package}/restore", PackageRestoreView.as_view(), extra, name=f"{kind}-package-restore"),
        path(f"{package}/retention", PackageRetentionView.as_view(), extra, name=f"{kind}-package-retention"),
        path(package, PackageView.as_view(), extra, name=f"{kind}-package"),
    ]


urlpatterns = [
    path("", root, name="root"),
    # Public, as GitHub's description is; no credentials are read for it.
    path("openapi.json", SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]),
         name="openapi"),
    path("docs", SpectacularSwaggerView.as_view(url_name="api:openapi", authentication_classes=[],
                                                permission_classes=[]), name="docs"),
    *[route for kind, prefix in OWNERS.items() for route in owner_routes(kind, prefix)],
    *audit_routes(),
    *hook_routes(),
    re_path(r"^.*$", not_found),
]
