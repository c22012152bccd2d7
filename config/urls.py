"""Top-level routes: the distribution API under /v2/, then accounts and package pages."""

from django.conf import settings
from django.contrib.staticfiles.views import serve
from django.urls import include, path, re_path

from config import health

urlpatterns = [
    path("-/health", health.health),
    path("-/ready", health.ready),
    path("metrics", health.metrics_view),
    path("", include("registry.api.urls")),
    path("", include("accounts.urls")),
    path("", include("events.urls")),
    path("", include("audit.urls")),
    path("api/v3/", include("api.urls")),
    path("", include("sources.urls")),
    # The pages' CSS and JS, served by Django itself so Berth needs no CDN and no web server in front
    # (a front server may still serve STATIC_ROOT, filled by collectstatic, at STATIC_URL).
    re_path(rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.+)$", serve, {"insecure": True}),
    # Last: /OWNER/packages/... would otherwise swallow other one-word routes.
    path("", include("packages_ui.urls")),
]

# An outage raised in a middleware (sessions, authentication) ends here: a 503, not a 500.
handler500 = "config.outages.server_error"
