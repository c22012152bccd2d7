"""Webhook deliveries are counted by result: delivered, retrying, and failed when the worker gives up."""

from datetime import timedelta

from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config import metrics
from events.delivery import delivery_attempt
from events.models import Delivery
from events.services import webhook_create
from tests.helpers import OWNER
from tests.registry.helpers import push_image


def deliveries(result: str) -> float:
    text = metrics.render()[0].decode()
    return sum(s.value for f in text_string_to_metric_families(text) for s in f.samples
               if s.name == "berth_webhook_deliveries_total" and s.labels == {"result": result})


def test_failed_attempts_count_as_retrying_until_the_worker_gives_up(api, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    webhook_create(namespace=OWNER, url="http://127.0.0.1:9/hook", secret="s")  # nothing listens on 9
    push_image(api, "v1")
    delivery = Delivery.objects.get()
    retrying, failed, delivered = deliveries("retrying"), deliveries("failed"), deliveries("delivered")
    assert delivery_attempt(delivery_id=delivery.pk) is not None
    assert (deliveries("retrying"), deliveries("failed")) == (retrying + 1, failed)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=26))
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert (deliveries("retrying"), deliveries("failed")) == (retrying + 1, failed + 1)
    assert deliveries("delivered") == delivered
