import logging
from pathlib import Path

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger(__name__)


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Distribution API"

    def ready(self):
        # The embedded defaults keep SQLite and blobs here; make sure it exists.
        Path(settings.BERTH_DATA_DIR).mkdir(parents=True, exist_ok=True)
        if settings.BERTH_STORAGE != "filesystem":
            from registry.storage import get_store
            from registry.storage.base import StoreUnreachable

            # Fail at start-up, with the reason, rather than on the first push. But a store that is
            # merely down is an outage (requests answer 503 until it is back), not a reason to refuse
            # to start: gunicorn stops the whole server when a replacement worker fails to boot.
            try:
                get_store().check()
            except StoreUnreachable as error:
                logger.warning("%s Starting anyway: requests that need blob storage answer 503 until it is back.",
                               error)
