"""Send one delivery attempt, log it, and decide when to try again."""

import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from config import metrics
from events.models import Delivery, DeliveryAttempt
from events.payloads import request_for
from events.targets import TargetRefused, check_target

EXCERPT = 1000
# Backoff doubles from BERTH_WEBHOOK_RETRY_BASE up to this, until BERTH_WEBHOOK_RETRY_HOURS have passed.
MAX_DELAY = timedelta(hours=1)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Take a redirect as the answer: following it could lead to an address check_target refuses."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(NoRedirects)


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after the attempts-th failed attempt."""
    base = timedelta(seconds=settings.BERTH_WEBHOOK_RETRY_BASE)
    return min(base * 2 ** max(attempts - 1, 0), MAX_DELAY)


def _send(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=settings.BERTH_WEBHOOK_TIMEOUT) as response:
            return response.status, response.read(EXCERPT).decode(errors="replace"), ""
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(EXCERPT).decode(errors="replace"), ""
    except (OSError, ValueError) as exc:
        return None, "", str(getattr(exc, "reason", exc))


def delivery_attempt(*, delivery_id: int) -> datetime | None:
    """Try delivering once; return when to try again, or None when delivered or given up."""
    delivery = Delivery.objects.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None or delivery.state != Delivery.State.PENDING:
        return None
    webhook = delivery.webhook
    started = time.monotonic()
    try:
        check_target(webhook.url)
    except TargetRefused as exc:
        status, excerpt, error = None, "", f"refused: {exc}"
    else:
        body, headers = request_for(webhook, delivery.event, delivery.pk)
        status, excerpt, error = _send(webhook.url, body, headers)
    now = timezone.now()
    DeliveryAttempt.objects.create(delivery=delivery, status_code=status, error=error, response_excerpt=excerpt,
                                   duration_ms=int((time.monotonic() - started) * 1000), created_at=now)
    delivery.attempts += 1
    succeeded = status is not None and 200 <= status < 300
    retry_at = None
    if succeeded:
        delivery.state = Delivery.State.DELIVERED
    elif now - delivery.created_at < timedelta(hours=settings.BERTH_WEBHOOK_RETRY_HOURS):
        retry_at = now + retry_delay(delivery.attempts)
    else:
        delivery.state = Delivery.State.FAILED
    delivery.save(update_fields=["attempts", "state"])
    metrics.webhook_delivery(result="delivered" if succeeded else "failed" if retry_at is None else "retrying")
    return retry_at
