"""Failed sign-ins on the page and failed token logins at /token and /v2/ are audited on the user's log."""

import pytest
from django.test import Client

from accounts.services import organization_create, token_create, user_create
from audit.models import Action, AuditEntry
from tests.helpers import basic_auth


def failures() -> list[tuple[str, str, str]]:
    return list(AuditEntry.objects.filter(action=Action.LOGIN_FAILED).order_by("id")
                .values_list("namespace", "actor_name", "data__via"))


@pytest.mark.parametrize("path", ["/v2/", "/token?service=testserver&scope=repository:carol/app:pull"])
def test_a_wrong_token_is_audited_on_the_users_log(db, path):
    carol = user_create(username="carol")
    token_create(user=carol, scopes=["read:packages"])
    client = Client(REMOTE_ADDR="192.0.2.9", HTTP_USER_AGENT="docker/27")
    response = client.get(path, HTTP_AUTHORIZATION=basic_auth("Carol", "berth_pat_not-a-real-token"))
    assert response.status_code == 401
    (entry,) = AuditEntry.objects.filter(action=Action.LOGIN_FAILED)
    assert (entry.namespace, entry.actor, entry.actor_name) == ("carol", None, "Carol")
    assert entry.data == {"via": "token"}
    assert (entry.address, entry.user_agent) == ("192.0.2.9", "docker/27")


def test_a_right_token_is_not_a_failure(db):
    carol = user_create(username="carol")
    _, secret = token_create(user=carol, scopes=["read:packages"])
    assert Client().get("/v2/", HTTP_AUTHORIZATION=basic_auth("carol", secret)).status_code == 200
    assert failures() == []


def test_names_that_are_no_users_are_audited_under_no_owner(db):
    carol = user_create(username="carol")
    organization_create(name="acme", owner=carol)
    for name in ("acme", "nobody"):
        assert Client().get("/v2/", HTTP_AUTHORIZATION=basic_auth(name, "wrong")).status_code == 401
    assert Client().post("/login", {"username": "nobody", "password": "wrong"}).status_code == 200
    assert failures() == [("", "acme", "token"), ("", "nobody", "token"), ("", "nobody", "password")]
    assert not AuditEntry.objects.filter(namespace="acme").exclude(action=Action.TOKEN_CREATE).exists()


def test_a_wrong_page_password_is_audited_as_a_password_failure(db):
    user_create(username="carol", password="a long enough password 1")
    assert Client().post("/login", {"username": "carol", "password": "wrong"}).status_code == 200
    assert failures() == [("carol", "carol", "password")]


def test_a_signed_in_browser_sending_a_wrong_token_is_not_the_actor(db):
    carol = user_create(username="carol", password="a long enough password 1")
    browser = Client()
    browser.force_login(carol)
    assert browser.get("/v2/", HTTP_AUTHORIZATION=basic_auth("carol", "wrong")).status_code == 401
    assert AuditEntry.objects.get(action=Action.LOGIN_FAILED).actor is None


def test_behind_a_trusted_proxy_the_address_is_the_client_the_proxy_saw(db, settings):
    # The first X-Forwarded-For hop is whatever the client wrote; the last is the one the proxy appended.
    settings.BERTH_TRUST_PROXY_HEADERS = True
    user_create(username="carol")
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.1, 192.0.2.44")
    assert client.get("/v2/", HTTP_AUTHORIZATION=basic_auth("carol", "wrong")).status_code == 401
    assert AuditEntry.objects.get(action=Action.LOGIN_FAILED).address == "192.0.2.44"
