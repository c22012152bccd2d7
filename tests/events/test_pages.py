"""The webhook and audit log settings pages: add, see deliveries, redeliver, delete; only for who runs the owner."""

import pytest
from django.test import Client

from accounts.services import membership_set, organization_create, user_create
from audit.models import Action
from events.models import Delivery, DeliveryAttempt, Webhook
from events.services import webhook_create
from tests.helpers import OWNER
from tests.registry.helpers import push_image


@pytest.fixture(autouse=True)
def _private(settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_add_a_webhook_see_its_deliveries_redeliver_and_delete(api):
    from django.contrib.auth import get_user_model

    push_image(api, "v1")
    page = browser(get_user_model().objects.get(username=OWNER))
    assert page.get("/settings/hooks").status_code == 200
    added = page.post("/settings/hooks", {"url": "http://127.0.0.1:9/hook", "secret": "s", "package": f"{OWNER}/app",
                                          "events": ["package.published"], "format": "github"})
    assert added.status_code == 302, added.content.decode()[:2000]
    hook = Webhook.objects.get()
    assert hook.package.name == f"{OWNER}/app" and hook.events == ["package.published"] and hook.format == "github"

    push_image(api, "v2", layers=(b"second",))
    delivery = Delivery.objects.get()
    DeliveryAttempt.objects.create(delivery=delivery, status_code=500, response_excerpt="receiver exploded")
    detail = page.get(f"/settings/hooks/{hook.pk}").content.decode()
    assert "package.published" in detail and "receiver exploded" in detail and "Redeliver" in detail
    assert page.post(f"/settings/hooks/{hook.pk}/deliveries/{delivery.pk}/redeliver").status_code == 302
    assert Delivery.objects.count() == 2

    assert page.post(f"/settings/hooks/{hook.pk}/delete").status_code == 302
    assert not Webhook.objects.exists()


def test_a_private_target_is_explained_on_the_form(db, settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = False
    page = browser(user_create(username="carol"))
    refused = page.post("/settings/hooks", {"url": "http://127.0.0.1:9/hook", "secret": "s", "format": "cloudevents"})
    assert refused.status_code == 400 and "BERTH_WEBHOOK_ALLOW_PRIVATE" in refused.content.decode()
    assert not Webhook.objects.exists()


def test_organization_pages_are_for_its_owners(db):
    carol, dave = user_create(username="carol"), user_create(username="dave")
    org = organization_create(name="acme", owner=carol)
    membership_set(organization=org, user=dave)
    hook = webhook_create(namespace="acme", url="http://127.0.0.1:9/hook", secret="s")
    assert browser(carol).get("/orgs/acme/hooks").status_code == 200
    assert browser(carol).get(f"/orgs/acme/hooks/{hook.pk}").status_code == 200
    assert browser(dave).get("/orgs/acme/hooks").status_code == 404
    assert browser(dave).post(f"/orgs/acme/hooks/{hook.pk}/delete").status_code == 404
    assert browser(carol).get("/orgs/acme/audit-log").status_code == 200
    assert browser(dave).get("/orgs/acme/audit-log").status_code == 404
    assert Client().get("/settings/hooks").status_code == 302  # to the sign-in page


def test_the_audit_log_page_lists_and_filters(api):
    from django.contrib.auth import get_user_model

    push_image(api, "v1")
    page = browser(get_user_model().objects.get(username=OWNER))
    text = page.get("/settings/audit-log").content.decode()
    assert Action.PACKAGE_PUBLISH.value in text and f"{OWNER}/app" in text
    filtered = page.get("/settings/audit-log", {"action": Action.TOKEN_CREATE.value}).content.decode()
    assert "<code>package.publish</code>" not in filtered and "<code>personal_access_token.create</code>" in filtered


def test_the_navigation_links_to_your_webhooks_and_audit_log(db):
    carol = user_create(username="carol")
    page = browser(carol).get("/packages").content.decode()
    assert 'href="/settings/hooks"' in page and 'href="/settings/audit-log"' in page
    anonymous = Client().get("/packages").content.decode()
    assert "/settings/hooks" not in anonymous and "/settings/audit-log" not in anonymous


def test_an_organizations_page_links_its_owners_to_its_webhooks_and_audit_log(db):
    carol, dave = user_create(username="carol"), user_create(username="dave")
    membership_set(organization=organization_create(name="acme", owner=carol), user=dave)
    owner_page = browser(carol).get("/orgs/acme").content.decode()
    assert 'href="/orgs/acme/hooks"' in owner_page and 'href="/orgs/acme/audit-log"' in owner_page
    member_page = browser(dave).get("/orgs/acme")
    assert member_page.status_code == 200
    assert "/orgs/acme/hooks" not in member_page.content.decode()
    assert "/orgs/acme/audit-log" not in member_page.content.decode()
