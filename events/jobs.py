"""What the worker runs: webhook deliveries, the download-count fold, scheduled retention, and forgetting
old audit entries and webhook deliveries."""

from django.conf import settings

from audit.services import audit_purge
from events.delivery import delivery_attempt
from events.outbox import DELIVER
from events.queue import RECURRING, handler
from events.services import webhook_history_purge
from registry.services.downloads import download_fold
from retention.services import retention_run_all

FOLD = "downloads.fold"
AUDIT_PURGE = "audit.purge"
WEBHOOK_PURGE = "webhooks.purge"
RETENTION = "retention.run"


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


@handler(WEBHOOK_PURGE)
def purge_webhook_history(payload: dict):
    webhook_history_purge()
    return None


RECURRING["webhooks.purge"] = (WEBHOOK_PURGE, lambda: 3600)


@handler(RETENTION)
def apply_retention(payload: dict):
    retention_run_all()  # each owner's run is recorded and audited, as `manage.py retention`'s are
    return None


# 0 turns it off (recurring_ensure then takes the job out), for those who run `manage.py retention` from cron.
RECURRING["retention.run"] = (RETENTION, lambda: settings.BERTH_RETENTION_INTERVAL)
