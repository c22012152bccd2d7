"""WSGI entry point for gunicorn: `gunicorn config.wsgi`."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

django_application = get_wsgi_application()

from registry.api.pull import ManifestPullApp  # noqa: E402 - models can be imported only after django.setup()

# Manifest pulls with a registry token are answered in front of Django's handler (the fast path
# in registry/api/pull.py); everything else, and anything that path leaves alone, goes to Django.
# With BERTH_FAST_PULL=false every request goes to Django, which answers them alike.
application = ManifestPullApp(django_application) if settings.BERTH_FAST_PULL else django_application

from config.metrics import MetricsApp  # noqa: E402

# Outermost, so fast-path pulls are counted too (config/metrics.py).
application = MetricsApp(application)
