"""Writes on webhooks: create, change, delete, redeliver, and forget old deliveries."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from events.models import Delivery, DeliveryAttempt, Event, EventType, Job, Webhook
from events.outbox import DELIVER
from events.targets import check_target


class WebhookInvalid(ValueError):
    """A webhook that can't be saved, with a message a person can act on."""


def _clean_events(events) -> list[str]:
    unknown = sorted(set(events) - set(EventType.values))
    if unknown:
        raise WebhookInvalid(f"unknown events {', '.join(unknown)}; choose from {', '.join(EventType.values)}")
    return sorted(set(events))


@transaction.atomic
def webhook_create(*, namespace: str, url: str, secret: str, package=None, events=(),
                   format: str = Webhook.Format.CLOUDEVENTS) -> Webhook:
    """Create a webhook on an owner (package None) or one of its packages."""
    check_target(url)
    if not secret:
        raise WebhookInvalid("a webhook needs a secret to sign its deliveries with")
    if format not in Webhook.Format.values:
        raise WebhookInvalid(f"format must be one of {', '.join(Webhook.Format.values)}")
    if package is not None and package.namespace != namespace:
        raise WebhookInvalid(f"{package.name} is not a package of {namespace}")
    webhook = Webhook.objects.create(namespace=namespace, package=package, url=url, secret=secret,
                                     events=_clean_events(events), format=format)
    _audit(Action.WEBHOOK_CREATE, webhook)
    return webhook


def _audit(action: Action, webhook: Webhook) -> None:
    audit_record(action=action, namespace=webhook.namespace, package=webhook.package.name if webhook.package else "",
                 data={"hook_id": webhook.pk, "url": webhook.url, "events": webhook.events, "format": webhook.format,
                       "active": webhook.active})


@transaction.atomic
def webhook_update(*, webhook: Webhook, url: str | None = None, secret: str | None = None, events=None,
                   format: str | None = None, active: bool | None = None) -> Webhook:
    if url is not None:
        check_target(url)
        webhook.url = url
    if secret:
        webhook.secret = secret
    if events is not None:
        webhook.events = _clean_events(events)
    if format is not None:
        if format not in Webhook.Format.values:
            raise WebhookInvalid(f"format must be one of {', '.join(Webhook.Format.values)}")
        webhook.format = format
    if active is not None:
        webhook.active = active
    webhook.save()
    _audit(Action.WEBHOOK_UPDATE, webhook)
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook) -> None:
    _audit(Action.WEBHOOK_DELETE, webhook)
    webhook.delete()


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery's event again, as a new delivery with its own attempts."""
    again = Delivery.objects.create(webhook=delivery.webhook, event=delivery.event)
    Job.objects.create(kind=DELIVER, payload={"delivery": again.pk})
    return again


@transaction.atomic
def webhook_history_purge(*, now=None) -> dict[str, int]:
    """Delete events, deliveries and attempts older than BERTH_WEBHOOK_RETENTION_DAYS; return how many of each.

    A delivery still pending keeps its attempts and its event, however old: the worker is still
    trying it. An old event a newer delivery (a redelivery) still shows is kept too.
    """
    before = (now or timezone.now()) - timedelta(days=settings.BERTH_WEBHOOK_RETENTION_DAYS)
    finished = Delivery.objects.exclude(state=Delivery.State.PENDING)
    attempts, _ = DeliveryAttempt.objects.filter(created_at__lt=before, delivery__in=finished).delete()
    deliveries, _ = finished.filter(created_at__lt=before).delete()
    events, _ = Event.objects.filter(created_at__lt=before, deliveries__isnull=True).delete()
    return {"events": events, "deliveries": deliveries, "attempts": attempts}
