"""How the REST API recognises callers: a PAT as Bearer, token or Basic password; bad ones throttled."""

import pytest
from django.test import Client

from accounts.models import PersonalAccessToken
from accounts.services import token_create, token_revoke
from tests.api.helpers import BASE, assert_error
from tests.helpers import basic_auth
from tests.registry.helpers import push_image

LIST = f"{BASE}/user/packages?package_type=container"


@pytest.fixture
def app(api):
    push_image(api, "1", name="alice/app")


@pytest.mark.parametrize("scheme", ["Bearer", "token", "Basic"])
def test_a_token_is_accepted_as_githubs_clients_send_it(app, alice, client_for, scheme):
    response = client_for(alice, ["read:packages"], scheme=scheme).get(LIST)
    assert response.status_code == 200, response.content
    assert [p["name"] for p in response.json()] == ["app"]


def test_bad_revoked_and_malformed_credentials_are_401(app, alice):
    for header in ("Bearer berth_pat_" + "x" * 40, "token nonsense", "Bearer", "Digest abc",
                   basic_auth("alice", "not a token")):
        assert_error(Client(HTTP_AUTHORIZATION=header).get(LIST), 401, "Bad credentials")
    pat, token = token_create(user=alice, scopes=["read:packages"])
    token_revoke(token=pat)
    assert_error(Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(LIST), 401, "revoked")


def test_basic_needs_the_tokens_own_username(app, alice, client_for, make_user):
    _, token = token_create(user=alice, scopes=["read:packages"])
    make_user("bob")
    assert_error(Client(HTTP_AUTHORIZATION=basic_auth("bob", token)).get(LIST), 401)


def test_a_registry_token_is_not_an_api_token(app, api):
    response = api.get("/token?service=testserver&scope=repository:alice/app:pull")
    registry_token = response.json()["token"]
    assert_error(Client(HTTP_AUTHORIZATION=f"Bearer {registry_token}").get(LIST), 401, "Bad credentials")


def test_invalid_tokens_are_throttled_per_address_but_a_valid_one_still_works(app, alice, settings):
    settings.BERTH_TOKEN_FAILURES_PER_ADDRESS = 2
    bad = Client(HTTP_AUTHORIZATION="Bearer berth_pat_" + "y" * 40)
    assert_error(bad.get(LIST), 401)
    assert_error(bad.get(LIST), 401)
    throttled = bad.get(LIST)
    assert_error(throttled, 429)
    assert int(throttled["Retry-After"]) > 0
    _, token = token_create(user=alice, scopes=["read:packages"])
    assert Client(HTTP_AUTHORIZATION=f"token {token}").get(LIST).status_code == 200


def test_using_a_token_records_it(app, alice, client_for):
    client = client_for(alice, ["read:packages"])
    client.get(LIST)
    assert PersonalAccessToken.objects.get(user=alice, scopes=["read:packages"]).last_used_at is not None


def test_any_accept_header_gets_json(app, owner_client):
    for accept in ("application/vnd.github+json", "application/vnd.github.v3+json", "text/html"):
        response = owner_client.get(LIST, HTTP_ACCEPT=accept)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"


def test_a_signed_in_browser_session_is_not_an_api_credential(app, alice):
    browser = Client()
    browser.force_login(alice)
    assert_error(browser.get(LIST), 401, "Requires authentication")
