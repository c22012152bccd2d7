"""Events are written with the change they describe, for the webhooks that want them; private targets refused."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from accounts.services import package_visibility_set
from events.delivery import delivery_attempt, retry_delay
from events.models import Delivery, DeliveryAttempt, Event, EventType, Job, Webhook
from events.services import WebhookInvalid, webhook_create
from events.targets import TargetRefused
from registry.models import Manifest, Package
from registry.services import trash
from tests.helpers import OWNER
from tests.registry.helpers import push_image


def types() -> list[str]:
    return list(Event.objects.order_by("created_at").values_list("type", flat=True))


def test_every_package_change_records_its_event(api):
    digest, _ = push_image(api, "v1")
    push_image(api, "v1", layers=(b"other",))  # a new version moves v1 from the first
    package = Package.objects.get(name=f"{OWNER}/app")
    package_visibility_set(package=package, visibility="public")
    package_visibility_set(package=package, visibility="public")  # no change, no event
    first = Manifest.objects.get(digest=digest)
    trash.version_soft_delete(manifest=first)
    trash.version_restore(manifest=first)
    trash.package_soft_delete(package=package)
    trash.package_restore(package=package)
    assert api.delete(f"/v2/{OWNER}/app/manifests/{digest}").status_code == 202
    assert types() == [EventType.PUBLISHED, EventType.PUBLISHED, EventType.VISIBILITY_CHANGED,
                       EventType.VERSION_DELETED, EventType.VERSION_RESTORED, EventType.PACKAGE_DELETED,
                       EventType.PACKAGE_RESTORED, EventType.VERSION_DELETED]
    visibility = Event.objects.get(type=EventType.VISIBILITY_CHANGED).data
    assert visibility["package"]["visibility"] == "public" and visibility["previous_visibility"] == "private"


def test_pushing_a_known_version_under_a_new_tag_is_a_tag_move(api):
    from tests.registry.helpers import put_manifest

    digest, raw = push_image(api, "v1")
    assert put_manifest(api, "stable", raw).status_code == 201
    assert put_manifest(api, "stable", raw).status_code == 201  # nothing moved
    assert types() == [EventType.PUBLISHED, EventType.TAG_MOVED]
    moved = Event.objects.get(type=EventType.TAG_MOVED)
    assert moved.subject == digest and moved.data["moved_tags"] == ["stable"]


def test_an_event_rolls_back_with_its_change(api, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    webhook_create(namespace=OWNER, url="http://127.0.0.1:9/hook", secret="x")
    push_image(api, "v1")
    package = Package.objects.get()
    before = (Event.objects.count(), Delivery.objects.count(), Job.objects.count())
    with pytest.raises(RuntimeError), transaction.atomic():
        package_visibility_set(package=package, visibility="public")
        raise RuntimeError("the change fails after the event was written")
    assert (Event.objects.count(), Delivery.objects.count(), Job.objects.count()) == before
    assert Package.objects.get().visibility == "private"


def test_webhooks_get_only_their_owner_package_and_events(api, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    push_image(api, "v1")
    push_image(api, "v1", name=f"{OWNER}/other")
    app = Package.objects.get(name=f"{OWNER}/app")
    everything = webhook_create(namespace=OWNER, url="http://127.0.0.1:9/all", secret="x")
    only_app = webhook_create(namespace=OWNER, package=app, url="http://127.0.0.1:9/app", secret="x")
    deletes = webhook_create(namespace=OWNER, url="http://127.0.0.1:9/del", secret="x",
                             events=[EventType.PACKAGE_DELETED])
    webhook_create(namespace="bob", url="http://127.0.0.1:9/bob", secret="x")
    package_visibility_set(package=app, visibility="public")
    trash.package_soft_delete(package=Package.objects.get(name=f"{OWNER}/other"))
    sent = {hook.pk: sorted(Delivery.objects.filter(webhook=hook).values_list("event__type", flat=True))
            for hook in Webhook.objects.all()}
    assert sent[everything.pk] == [EventType.PACKAGE_DELETED, EventType.VISIBILITY_CHANGED]
    assert sent[only_app.pk] == [EventType.VISIBILITY_CHANGED]
    assert sent[deletes.pk] == [EventType.PACKAGE_DELETED]
    assert Job.objects.filter(kind="webhook.deliver").count() == 4


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.1.2.3/",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]/", "http://192.168.0.1/",
                                 "http://[::ffff:127.0.0.1]/", "ftp://example.com/"])
def test_private_targets_are_refused(db, settings, url):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(TargetRefused):
        webhook_create(namespace=OWNER, url=url, secret="x")
    assert not Webhook.objects.exists()


def test_a_public_address_is_accepted(db, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = False
    webhook_create(namespace=OWNER, url="http://93.184.215.14/hook", secret="x")


def test_delivery_to_a_target_that_became_private_is_refused_and_logged(api, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    webhook_create(namespace=OWNER, url="http://127.0.0.1:9/hook", secret="x")
    push_image(api, "v1")
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = False
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk) is not None
    attempt = DeliveryAttempt.objects.get()
    assert attempt.status_code is None and attempt.error.startswith("refused:")


def test_backoff_doubles_to_an_hour_and_retries_last_a_day(api, settings):
    settings.BERTH_WEBHOOK_RETRY_BASE = 10
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_delay(30) == timedelta(hours=1)
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    webhook_create(namespace=OWNER, url="http://127.0.0.1:9/hook", secret="x")  # nothing listens on 9
    push_image(api, "v1")
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=23))
    assert delivery_attempt(delivery_id=delivery.pk) is not None
    Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(hours=26))
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert Delivery.objects.get().state == Delivery.State.FAILED
    assert DeliveryAttempt.objects.count() == 2


def test_add_webhook_command(api, settings, capsys):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    push_image(api, "v1")
    call_command("add_webhook", f"{OWNER}/app", "http://127.0.0.1:9/hook", "--secret", "s",
                 "--events", "package.published,package.deleted", "--format", "github")
    webhook = Webhook.objects.get(pk=int(capsys.readouterr().out))
    assert webhook.package.name == f"{OWNER}/app" and webhook.format == "github"
    assert webhook.events == ["package.deleted", "package.published"]
    call_command("add_webhook", OWNER, "http://127.0.0.1:9/hook", "--secret", "s")
    assert Webhook.objects.filter(package__isnull=True, namespace=OWNER, events=[]).exists()
    with pytest.raises(CommandError, match="unknown events"):
        call_command("add_webhook", OWNER, "http://127.0.0.1:9/hook", "--secret", "s", "--events", "nope")
    with pytest.raises(CommandError, match="no user or organization"):
        call_command("add_webhook", "nobody", "http://127.0.0.1:9/hook", "--secret", "s")
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(CommandError, match="BERTH_WEBHOOK_ALLOW_PRIVATE"):
        call_command("add_webhook", OWNER, "http://127.0.0.1:9/hook", "--secret", "s")


def test_a_webhook_needs_a_secret(db, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True
    with pytest.raises(WebhookInvalid):
        webhook_create(namespace=OWNER, url="http://127.0.0.1:9/hook", secret="")
