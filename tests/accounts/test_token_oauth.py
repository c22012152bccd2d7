"""The OAuth2 POST form of /token that containerd (ctr, nerdctl, BuildKit, kubelet pulls) sends first."""

import re
import time
from datetime import timedelta

import jwt
import pytest
from django.test import Client
from django.utils import timezone

from accounts import refresh_tokens, registry_tokens
from accounts.models import FailedLogin, PersonalAccessToken
from accounts.services import package_visibility_set, token_revoke
from registry.models import Package
from tests.accounts.helpers import errors, get_token, granted, post_token
from tests.helpers import basic_auth
from tests.registry.helpers import push_image

pytestmark = pytest.mark.django_db


def password_grant(client: Client, username: str, password: str, *scopes: str, **fields):
    """POST the fields containerd's FetchTokenWithOAuth sends for a username and secret."""
    form = {"service": "testserver", "client_id": "containerd-client", "grant_type": "password",
            "username": username, "password": password, **fields}
    if scopes:
        form["scope"] = " ".join(scopes)
    return post_token(client, **form)


def refresh_grant(client: Client, refresh_token: str, *scopes: str, **fields):
    """POST the fields containerd sends when its secret is a refresh token (and it has no username)."""
    form = {"service": "testserver", "client_id": "containerd-client", "grant_type": "refresh_token",
            "refresh_token": refresh_token, **fields}
    if scopes:
        form["scope"] = " ".join(scopes)
    return post_token(client, **form)


def bearer(response) -> str:
    return f"Bearer {response.json()['access_token']}"


@pytest.fixture
def offline(alice, alice_client, anonymous):
    """Return a refresh token for alice's client token, from a password grant with access_type=offline."""
    response = password_grant(anonymous, "alice", alice_client.token, access_type="offline")
    assert response.status_code == 200, response.content
    return response.json()["refresh_token"]


def the_pat(client) -> PersonalAccessToken:
    return PersonalAccessToken.objects.get(hint=client.token[:14])


def test_password_grant_answers_what_containerd_reads(alice_client, anonymous):
    response = password_grant(anonymous, "alice", alice_client.token,
                              "repository:alice/app:pull", "repository:alice/app:pull,push")
    assert response.status_code == 200, response.content
    document = response.json()
    assert set(document) == {"token", "access_token", "expires_in", "issued_at", "scope"}
    assert document["access_token"] == document["token"]
    assert document["expires_in"] == registry_tokens.lifetime()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", document["issued_at"])
    assert document["scope"] == "repository:alice/app:pull,push"
    assert granted(response) == {"alice/app": ["pull", "push"]}
    manifest = anonymous.get(f"/v2/alice/app/manifests/{alice_client.digest}", HTTP_AUTHORIZATION=bearer(response))
    assert manifest.status_code == 200


def test_the_post_form_needs_no_csrf_token_and_sets_no_cookie(alice, alice_client, client_for):
    # A browser-like client with a session: Django's CSRF check refused exactly this POST with 403.
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = password_grant(client, "alice", alice_client.token, "repository:alice/app:pull")
    assert response.status_code == 200, response.content
    assert "Set-Cookie" not in response.headers
    assert not response.cookies
    response = password_grant(Client(enforce_csrf_checks=True), "alice", alice_client.token)
    assert response.status_code == 200
    assert not response.cookies


def test_the_grant_follows_the_token_scopes_and_the_person(alice, alice_client, client_for, make_user, anonymous):
    reader = client_for(alice, ["read:packages"])
    response = password_grant(anonymous, "alice", reader.token, "repository:alice/app:pull,push,delete")
    assert granted(response) == {"alice/app": ["pull"]}
    push_image(client_for(make_user("bob")), "1", name="bob/tool")
    response = password_grant(anonymous, "alice", alice_client.token, "repository:bob/tool:pull")
    assert granted(response) == {}
    assert response.json()["scope"] == ""


@pytest.mark.parametrize("password", ["wrong", "berth_pat_" + "x" * 40])
def test_wrong_credentials_are_401_with_the_message_of_the_get_form(alice, anonymous, password):
    response = password_grant(anonymous, "alice", password, "repository:alice/app:pull")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"
    from_get = get_token(anonymous, "repository:alice/app:pull", auth=basic_auth("alice", password))
    # containerd falls back to GET on a 401; both say the same.
    assert from_get.status_code == 401
    assert errors(response) == errors(from_get)
    assert response.json()["error_description"] == errors(from_get)[0]["message"]
    assert FailedLogin.objects.filter(kind="token", username="alice").count() == 2


def test_a_revoked_token_is_refused_with_its_reason(alice_client, anonymous):
    token_revoke(token=the_pat(alice_client))
    response = password_grant(anonymous, "alice", alice_client.token)
    assert response.status_code == 401
    assert "revoked" in errors(response)[0]["message"]


@pytest.mark.parametrize("fields, error", [
    ({"grant_type": "client_credentials"}, "unsupported_grant_type"),
    ({"grant_type": "authorization_code", "code": "x"}, "unsupported_grant_type"),
    ({}, "invalid_request"),
    ({"grant_type": "password", "username": "alice"}, "invalid_request"),
    ({"grant_type": "refresh_token"}, "invalid_request"),
])
def test_a_missing_or_unsupported_grant_is_400(alice_client, anonymous, fields, error):
    response = post_token(anonymous, service="testserver", client_id="test", **fields)
    assert response.status_code == 400
    document = response.json()
    assert document["error"] == error
    assert document["errors"][0]["message"] == document["error_description"]
    assert "grant_type" in document["error_description"]


def test_offline_access_adds_a_refresh_token(offline, alice_client):
    claims = jwt.decode(offline, options={"verify_signature": False})
    assert claims["aud"] == refresh_tokens.AUDIENCE
    assert claims["pat"] == the_pat(alice_client).pk
    assert claims["sub"] == "alice"


def test_no_refresh_token_unless_asked(alice_client, anonymous):
    assert "refresh_token" not in password_grant(anonymous, "alice", alice_client.token).json()
    assert "refresh_token" not in get_token(alice_client).json()


def test_a_refresh_token_exchanges_for_a_working_access_token(offline, alice_client, anonymous):
    response = refresh_grant(anonymous, offline, "repository:alice/app:pull")
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "repository:alice/app:pull"
    assert "refresh_token" not in response.json()
    manifest = anonymous.get(f"/v2/alice/app/manifests/{alice_client.digest}", HTTP_AUTHORIZATION=bearer(response))
    assert manifest.status_code == 200
    # Asked again offline, the exchange answers with the same refresh token.
    assert refresh_grant(anonymous, offline, access_type="offline").json()["refresh_token"] == offline


def test_a_refresh_token_may_name_its_user_but_no_other(offline, make_user, anonymous):
    assert refresh_grant(anonymous, offline, username="alice").status_code == 200
    make_user("bob")
    response = refresh_grant(anonymous, offline, username="bob")
    assert response.status_code == 401
    assert "another user" in errors(response)[0]["message"]


def test_a_refresh_token_stops_when_its_personal_access_token_is_revoked(offline, alice_client, anonymous):
    token_revoke(token=the_pat(alice_client))
    response = refresh_grant(anonymous, offline, "repository:alice/app:pull")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_grant"
    assert "revoked" in errors(response)[0]["message"]


def test_a_refresh_token_stops_when_its_token_expires_or_its_user_is_disabled(offline, alice, alice_client,
                                                                              anonymous):
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert "expired" in errors(refresh_grant(anonymous, offline))[0]["message"]
    PersonalAccessToken.objects.update(expires_at=None)
    alice.is_active = False
    alice.save()
    assert refresh_grant(anonymous, offline).status_code == 401


def test_a_refresh_token_grants_what_the_token_and_the_person_allow_now(alice, client_for, make_user, anonymous):
    bob = make_user("bob")
    push_image(client_for(bob), "1", name="bob/tool")
    package = Package.objects.get(name="bob/tool")
    package_visibility_set(package=package, visibility="public")
    reader = client_for(alice, ["read:packages"])
    offline = password_grant(anonymous, "alice", reader.token, access_type="offline").json()["refresh_token"]
    response = refresh_grant(anonymous, offline, "repository:bob/tool:pull", "repository:alice/x:push")
    assert granted(response) == {"bob/tool": ["pull"]}
    package_visibility_set(package=package, visibility="private")
    assert granted(refresh_grant(anonymous, offline, "repository:bob/tool:pull")) == {}


def test_refresh_and_registry_tokens_never_stand_for_each_other(offline, alice_client, anonymous):
    assert anonymous.get("/v2/", HTTP_AUTHORIZATION=f"Bearer {offline}").status_code == 401
    manifest = f"/v2/alice/app/manifests/{alice_client.digest}"
    assert anonymous.get(manifest, HTTP_AUTHORIZATION=f"Bearer {offline}").status_code == 401
    access_token = password_grant(anonymous, "alice", alice_client.token).json()["access_token"]
    assert refresh_grant(anonymous, access_token).status_code == 401
    # Not even with the other's claims: the keys differ too.
    claims = jwt.decode(offline, options={"verify_signature": False})
    claims["aud"] = registry_tokens.AUDIENCE
    as_registry = jwt.encode(claims, refresh_tokens._key(), algorithm="HS256")
    assert anonymous.get("/v2/", HTTP_AUTHORIZATION=f"Bearer {as_registry}").status_code == 401
    claims = jwt.decode(access_token, options={"verify_signature": False})
    claims.update(aud=refresh_tokens.AUDIENCE, typ=refresh_tokens.TYPE)
    as_refresh = jwt.encode(claims, registry_tokens._key(), algorithm="HS256")
    assert refresh_grant(anonymous, as_refresh).status_code == 401


def test_refresh_token_lifetime_is_a_setting_and_never_outlasts_its_token(alice, client_for, anonymous, settings):
    settings.BERTH_REFRESH_TOKEN_LIFETIME = 120
    client = client_for(alice)
    claims = jwt.decode(password_grant(anonymous, "alice", client.token, access_type="offline").json()["refresh_token"],
                        options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120
    soon = client_for(alice, expires_at=timezone.now() + timedelta(seconds=30))
    claims = jwt.decode(password_grant(anonymous, "alice", soon.token, access_type="offline").json()["refresh_token"],
                        options={"verify_signature": False})
    assert claims["exp"] <= time.time() + 31


def test_an_expired_refresh_token_is_refused(offline, anonymous):
    claims = jwt.decode(offline, options={"verify_signature": False})
    claims.update(iat=claims["iat"] - 7200, exp=claims["iat"] - 3600)
    expired = jwt.encode(claims, refresh_tokens._key(), algorithm="HS256")
    response = refresh_grant(anonymous, expired)
    assert response.status_code == 401
    assert "expired" in errors(response)[0]["message"]


def test_the_post_form_is_throttled_as_the_get_form(alice_client, anonymous, settings):
    settings.BERTH_TOKEN_FAILURES_PER_ADDRESS = 3
    for _ in range(2):
        assert password_grant(anonymous, "alice", "wrong").status_code == 401
    assert refresh_grant(anonymous, "not-a-refresh-token").status_code == 401
    response = password_grant(anonymous, "alice", "wrong")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert errors(response)[0]["code"] == "TOOMANYREQUESTS"
    assert response.json()["error"] == "slow_down"
    assert refresh_grant(anonymous, "not-a-refresh-token").status_code == 429
    assert password_grant(anonymous, "alice", alice_client.token).status_code == 200
