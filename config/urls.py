"""Top-level routes: the distribution API under /v2/, then accounts and package pages."""

from django.urls import include, path

urlpatterns = [
    path("", include("registry.api.urls")),
    path("", include("accounts.urls")),
]
