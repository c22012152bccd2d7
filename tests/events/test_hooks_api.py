"""The REST API's hooks routes: create, list, change, delete, deliveries and redelivery; only for who runs the owner."""

import pytest
from django.test import Client

from accounts.services import membership_set, organization_create, token_create, user_create
from events.models import Delivery, Job, Webhook
from tests.helpers import OWNER
from tests.registry.helpers import push_image

BASE = "/api/v3"


@pytest.fixture(autouse=True)
def _private(settings):
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = True


def bearer(user, scopes=("read:packages", "write:packages")) -> Client:
    _, token = token_create(user=user, scopes=list(scopes))
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def test_create_list_change_and_delete_a_users_hook(api):
    from django.contrib.auth import get_user_model

    push_image(api, "v1")
    client = bearer(get_user_model().objects.get(username=OWNER))
    created = client.post(f"{BASE}/users/{OWNER}/hooks", {
        "config": {"url": "http://127.0.0.1:9/hook", "secret": "s", "content_type": "json"},
        "events": ["package.published"], "format": "github", "package": "app"}, content_type="application/json")
    assert created.status_code == 201, created.content
    hook = created.json()
    assert hook["config"]["url"] == "http://127.0.0.1:9/hook" and hook["config"]["secret"] == "********"
    assert hook["events"] == ["package.published"] and hook["package"] == "app" and hook["format"] == "github"
    assert Webhook.objects.get().package.name == f"{OWNER}/app"

    listed = client.get(f"{BASE}/users/{OWNER}/hooks").json()
    assert [h["id"] for h in listed] == [hook["id"]]
    changed = client.patch(f"{BASE}/users/{OWNER}/hooks/{hook['id']}", {"active": False, "events": ["*"]},
                           content_type="application/json")
    assert changed.status_code == 200 and changed.json()["active"] is False and changed.json()["events"] == ["*"]
    assert client.delete(f"{BASE}/users/{OWNER}/hooks/{hook['id']}").status_code == 204
    assert not Webhook.objects.exists()


def test_bad_hooks_are_422(api, settings):
    from django.contrib.auth import get_user_model

    client = bearer(get_user_model().objects.get(username=OWNER))
    url = f"{BASE}/users/{OWNER}/hooks"
    assert client.post(url, {"config": {"secret": "s"}}, content_type="application/json").status_code == 422
    assert client.post(url, {"config": {"url": "http://127.0.0.1:9/", "secret": "s"}, "events": ["nope"]},
                       content_type="application/json").status_code == 422
    settings.BERTH_WEBHOOK_ALLOW_PRIVATE = False
    refused = client.post(url, {"config": {"url": "http://127.0.0.1:9/", "secret": "s"}},
                          content_type="application/json")
    assert refused.status_code == 422 and "private" in refused.json()["message"]


def test_deliveries_and_redelivery(api):
    from django.contrib.auth import get_user_model

    client = bearer(get_user_model().objects.get(username=OWNER))
    hook = client.post(f"{BASE}/users/{OWNER}/hooks", {"config": {"url": "http://127.0.0.1:9/", "secret": "s"}},
                       content_type="application/json").json()
    push_image(api, "v1")
    deliveries = client.get(f"{BASE}/users/{OWNER}/hooks/{hook['id']}/deliveries").json()
    assert len(deliveries) == 1 and deliveries[0]["event"] == "package.published"
    assert deliveries[0]["status"] == "pending" and deliveries[0]["attempts"] == []
    again = client.post(f"{BASE}/users/{OWNER}/hooks/{hook['id']}/deliveries/{deliveries[0]['id']}/attempts")
    assert again.status_code == 202
    assert Delivery.objects.count() == 2 and Job.objects.filter(kind="webhook.deliver").count() == 2


def test_only_an_organizations_owners_manage_its_hooks(db):
    carol, dave = user_create(username="carol"), user_create(username="dave")
    org = organization_create(name="acme", owner=carol)
    membership_set(organization=org, user=dave)
    body = {"config": {"url": "http://127.0.0.1:9/", "secret": "s"}}
    assert bearer(dave).post(f"{BASE}/orgs/acme/hooks", body, content_type="application/json").status_code == 404
    assert bearer(carol, ["read:packages"]).post(f"{BASE}/orgs/acme/hooks", body,
                                                 content_type="application/json").status_code == 403
    created = bearer(carol).post(f"{BASE}/orgs/acme/hooks", body, content_type="application/json")
    assert created.status_code == 201 and created.json()["type"] == "Organization"
    assert bearer(dave).get(f"{BASE}/orgs/acme/hooks").status_code == 404
    assert bearer(carol).get(f"{BASE}/users/dave/hooks").status_code == 404
    assert Client().get(f"{BASE}/orgs/acme/hooks").status_code == 401
