"""Webhooks delivered by a real `manage.py worker` to a real receiver: formats, signatures, retries, restarts."""

import hashlib
import hmac
import signal
import time

import pytest

from events.models import Delivery, DeliveryAttempt, Event
from events.services import delivery_redeliver, webhook_create
from tests.helpers import OWNER
from tests.registry.helpers import image_config, push_image

SECRET = "s3cret-for-the-tests"
# The worker is another process: it must reach the test's database, which SQLite's test database (in memory) is not.
pytestmark = [pytest.mark.usefixtures("private_targets"),
              pytest.mark.postgresql(reason="a worker process shares the test database")]


def signed(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def wait_delivered(count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Delivery.objects.filter(state=Delivery.State.DELIVERED).count() >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{count} deliveries were not marked delivered: {list(Delivery.objects.values())}")


def test_cloudevents_delivery_is_signed_and_describes_the_push(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET)
    source = "https://git.example/alice/app"
    digest, _ = push_image(api, "v1", config=image_config(labels={"org.opencontainers.image.source": source}))
    start_worker()

    (request,) = receiver.wait_for(1)
    assert request.headers["X-Berth-Signature-256"] == signed(request.body)
    assert request.headers["Content-Type"] == "application/cloudevents+json"
    event = request.json
    assert event["specversion"] == "1.0"
    assert event["type"] == "dev.berth.package.published"
    assert event["id"] == str(Event.objects.get().id)
    assert event["subject"] == digest
    assert event["source"] == f"/{OWNER}/app" and event["time"].endswith("Z")
    data = event["data"]
    assert data["package"]["name"] == f"{OWNER}/app"
    assert data["version"]["digest"] == digest and data["version"]["tags"] == ["v1"]
    assert data["pusher"] == OWNER
    assert data["repository"] == source
    wait_delivered(1)
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code == 200 and attempt.response_excerpt == "answered 200"


def test_github_delivery_has_githubs_headers_and_payload(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET, format="github")
    digest, _ = push_image(api, "latest")
    start_worker()

    (request,) = receiver.wait_for(1)
    assert request.headers["X-GitHub-Event"] == "registry_package"
    assert request.headers["X-Hub-Signature-256"] == signed(request.body)
    assert request.headers["X-Berth-Signature-256"] == signed(request.body)
    payload = request.json
    assert payload["action"] == "published"
    package = payload["registry_package"]
    assert package["name"] == "app" and package["package_type"] == "CONTAINER"
    assert package["package_version"]["version"] == digest
    assert package["package_version"]["metadata"]["container"]["tags"] == ["latest"]
    assert payload["sender"]["login"] == OWNER


def test_event_made_while_the_receiver_is_down_arrives_once_it_is_back(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET)
    receiver.stop()
    start_worker()
    push_image(api, "v1")
    deadline = time.monotonic() + 20
    while DeliveryAttempt.objects.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    failed = list(DeliveryAttempt.objects.all())
    assert len(failed) >= 2 and all(a.status_code is None and a.error for a in failed)

    receiver.start()
    (request,) = receiver.wait_for(1)
    assert request.json["type"] == "dev.berth.package.published"
    wait_delivered(1)
    assert Delivery.objects.get().attempts == len(failed) + 1


def test_delivery_survives_a_worker_killed_and_restarted(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET)
    receiver.status = 500
    worker = start_worker()
    push_image(api, "v1")
    deadline = time.monotonic() + 20
    while not DeliveryAttempt.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    worker.stop(signal.SIGKILL)
    assert Delivery.objects.get().state == Delivery.State.PENDING

    receiver.status = 204
    start_worker()
    requests = receiver.wait_for(2)
    wait_delivered(1)
    assert len({r.headers["ce-id"] for r in requests}) == 1
    statuses = [a.status_code for a in DeliveryAttempt.objects.order_by("created_at")]
    assert statuses[0] == 500 and statuses[-1] == 204


def test_events_made_with_no_worker_running_are_delivered_when_one_starts(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET)
    push_image(api, "v1")
    push_image(api, "v2", layers=(b"another layer",))
    assert receiver.received == []
    start_worker()
    requests = receiver.wait_for(2)
    assert sorted(r.json["data"]["version"]["tags"][0] for r in requests) == ["v1", "v2"]


@pytest.mark.postgresql(reason="several workers share the queue through FOR UPDATE SKIP LOCKED")
def test_several_workers_deliver_each_event_once(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET)
    for i in range(6):
        push_image(api, f"v{i}", layers=(f"layer {i}".encode(),))
    for _ in range(3):
        start_worker()
    wait_delivered(6)
    time.sleep(0.5)
    deliveries = [r.headers["X-Berth-Delivery"] for r in receiver.received]
    assert len(deliveries) == 6 == len(set(deliveries))


def test_redeliver_sends_the_event_again(api, receiver, start_worker):
    webhook_create(namespace=OWNER, url=receiver.url, secret=SECRET)
    push_image(api, "v1")
    start_worker()
    receiver.wait_for(1)
    wait_delivered(1)
    delivery_redeliver(delivery=Delivery.objects.get())
    first, again = receiver.wait_for(2)
    assert first.json["id"] == again.json["id"]
    assert first.headers["X-Berth-Delivery"] != again.headers["X-Berth-Delivery"]


def test_worker_folds_download_counts(api, start_worker):
    from registry.models import Manifest, PullCount

    digest, _ = push_image(api, "v1")
    assert api.get(f"/v2/{OWNER}/app/manifests/v1").status_code == 200
    assert PullCount.objects.exists()
    start_worker()
    deadline = time.monotonic() + 20
    while PullCount.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert Manifest.objects.get(digest=digest).downloads == 1
