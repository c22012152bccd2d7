from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Distribution API"

    def ready(self):
        # The embedded defaults keep SQLite and blobs here; make sure it exists.
        Path(settings.BERTH_DATA_DIR).mkdir(parents=True, exist_ok=True)
        if settings.BERTH_STORAGE != "filesystem":
            from registry.storage import get_store

            # Fail at start-up, with the reason, rather than on the first push.
            get_store().check()
