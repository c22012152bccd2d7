"""What the worker runs: webhook deliveries and the download-count fold."""

from django.conf import settings

from events.delivery import delivery_attempt
from events.outbox import DELIVER
from events.queue import RECURRING, handler
from registry.services.downloads import download_fold

FOLD = "downloads.fold"


@handler(DELIVER)
def deliver(payload: dict):
    return delivery_attempt(delivery_id=payload["delivery"])


@handler(FOLD)
def fold(payload: dict):
    download_fold()
    return None


RECURRING["downloads.fold"] = (FOLD, lambda: settings.BERTH_DOWNLOAD_FOLD_INTERVAL)
