"""Package pages. NAME holds slashes, so page suffixes follow a `/-/` that no repository name contains."""

from django.urls import path, re_path

from packages_ui import views
from packages_ui.retention_views import OwnerSettingsView, RetentionSettingsView
from packages_ui.source_views import SourceSettingsView

app_name = "packages_ui"

OWNER = r"(?P<owner>[^/]+)"
NAME = r"(?P<name>[^-].*?)"
PACKAGE = rf"^{OWNER}/packages/container/{NAME}"
DIGEST = r"(?P<digest>[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+)"

urlpatterns = [
    path("", views.ExploreView.as_view(), name="home"),
    path("packages", views.ExploreView.as_view(), name="explore"),
    re_path(rf"^{OWNER}/packages$", views.OwnerPackagesView.as_view(), name="owner"),
    re_path(rf"^{OWNER}/packages/-/settings$", OwnerSettingsView.as_view(), name="owner-settings"),
    re_path(rf"{PACKAGE}/-/versions$", views.VersionsView.as_view(), name="versions"),
    re_path(rf"{PACKAGE}/-/versions/{DIGEST}$", views.VersionView.as_view(), name="version"),
    re_path(rf"{PACKAGE}/-/versions/{DIGEST}/(?P<action>delete|restore)$", views.VersionActionView.as_view(),
            name="version-action"),
    re_path(rf"{PACKAGE}/-/settings$", views.SettingsView.as_view(), name="settings"),
    re_path(rf"{PACKAGE}/-/settings/retention$", RetentionSettingsView.as_view(), name="retention"),
    re_path(rf"{PACKAGE}/-/settings/source/(?P<action>connect|disconnect|inherit|ci-access|ci-access-remove)$",
            SourceSettingsView.as_view(), name="source"),
    re_path(rf"{PACKAGE}/-/settings/(?P<action>visibility|grant|revoke|delete)$",
            views.SettingsActionView.as_view(), name="settings-action"),
    re_path(rf"{PACKAGE}/-/restore$", views.PackageRestoreView.as_view(), name="restore"),
    re_path(rf"{PACKAGE}$", views.PackageView.as_view(), name="package"),
]
