"""What the worker runs: webhook deliveries, the download-count fold, and forgetting old audit entries."""

from django.conf import settings

from audit.services import audit_purge
from events.delivery import delivery_attempt
from events.outbox import DELIVER
from events.queue import RECURRING, handler
from registry.services.downloads import download_fold

FOLD = "downloads.fold"
AUDIT_PURGE = "audit.purge"


@handler(DELIVER)
def deliver(payload: dict):
    return delivery_attempt(delivery_id=payload["delivery"])


@handler(FOLD)
def fold(payload: dict):
    download_fold()
    return None


RECURRING["downloads.fold"] = (FOLD, lambda: settings.BERTH_DOWNLOAD_FOLD_INTERVAL)


@handler(AUDIT_PURGE)
def purge_audit_log(payload: dict):
    audit_purge()
    return None


RECURRING["audit.purge"] = (AUDIT_PURGE, lambda: 3600)
