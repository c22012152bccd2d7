"""Old webhook events, deliveries and attempts are forgotten; a delivery still being retried never is."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.models import Delivery, DeliveryAttempt, Event, Job
from events.services import delivery_redeliver, webhook_create, webhook_history_purge
from tests.helpers import OWNER
from tests.registry.helpers import push_image

NOWHERE = "http://127.0.0.1:9/hook"  # nothing listens on 9: every attempt fails, and is retried


@pytest.fixture
def hook(api, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    settings.BERTH_WEBHOOK_RETENTION_DAYS = 30
    return webhook_create(namespace=OWNER, url=NOWHERE, secret="s")


def push_with_delivery(api, tag: str, *, state: str, days: int) -> Delivery:
    """Push tag, try its delivery once, and make the event, delivery and attempt days old."""
    push_image(api, tag, layers=(tag.encode(),))
    delivery = Delivery.objects.latest("id")
    DeliveryAttempt.objects.create(delivery=delivery, status_code=500)
    then = timezone.now() - timedelta(days=days)
    Delivery.objects.filter(pk=delivery.pk).update(state=state, created_at=then)
    DeliveryAttempt.objects.filter(delivery=delivery).update(created_at=then)
    Event.objects.filter(pk=delivery.event_id).update(created_at=then)
    return delivery


def test_finished_deliveries_past_the_retention_go_with_their_events_and_attempts(api, hook):
    old_done = push_with_delivery(api, "v1", state=Delivery.State.DELIVERED, days=31)
    old_failed = push_with_delivery(api, "v2", state=Delivery.State.FAILED, days=31)
    recent = push_with_delivery(api, "v3", state=Delivery.State.DELIVERED, days=29)
    assert webhook_history_purge() == {"events": 2, "deliveries": 2, "attempts": 2}
    assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
    assert set(Event.objects.values_list("pk", flat=True)) == {recent.event_id}
    assert not DeliveryAttempt.objects.filter(delivery_id__in=[old_done.pk, old_failed.pk]).exists()


def test_a_delivery_pending_retry_is_kept_with_its_event_and_attempts(api, hook, settings):
    settings.BERTH_WEBHOOK_RETENTION_DAYS = 1
    pending = push_with_delivery(api, "v1", state=Delivery.State.PENDING, days=2)
    assert webhook_history_purge() == {"events": 0, "deliveries": 0, "attempts": 0}
    assert Delivery.objects.get().pk == pending.pk
    assert DeliveryAttempt.objects.filter(delivery=pending).exists() and Event.objects.exists()


def test_an_old_event_redelivered_recently_is_kept(api, hook):
    old = push_with_delivery(api, "v1", state=Delivery.State.DELIVERED, days=40)
    again = delivery_redeliver(delivery=old)
    Delivery.objects.filter(pk=again.pk).update(state=Delivery.State.DELIVERED)
    assert webhook_history_purge() == {"events": 0, "deliveries": 1, "attempts": 1}
    assert Delivery.objects.get().pk == again.pk and Event.objects.get().pk == old.event_id


def test_events_no_webhook_wanted_are_forgotten_too(api, settings):
    settings.BERTH_WEBHOOK_RETENTION_DAYS = 30
    push_image(api, "v1")
    Event.objects.update(created_at=timezone.now() - timedelta(days=31))
    push_image(api, "v2", layers=(b"two",))
    assert webhook_history_purge()["events"] == 1
    assert Event.objects.count() == 1


def test_the_worker_purges_beside_the_audit_log(api, hook):
    old = push_with_delivery(api, "v1", state=Delivery.State.DELIVERED, days=31)
    Job.objects.filter(kind="webhook.deliver").delete()
    call_command("worker", "--once")
    assert not Delivery.objects.filter(pk=old.pk).exists()
    assert set(Job.objects.filter(key__isnull=False).values_list("key", flat=True)) >= {"webhooks.purge", "audit.purge"}
