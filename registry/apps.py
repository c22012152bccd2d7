from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Distribution API"

    def ready(self):
        # The embedded defaults keep SQLite and blobs here; make sure it exists.
        Path(settings.BERTH_DATA_DIR).mkdir(parents=True, exist_ok=True)
