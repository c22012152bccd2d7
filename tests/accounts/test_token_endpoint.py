"""The token service docker login talks to, and how /v2/ challenges and accepts its tokens."""

import re
from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from accounts.models import FailedLogin, PersonalAccessToken
from accounts.services import package_visibility_set, token_revoke
from registry.models import Package
from tests.accounts.helpers import errors, get_token, granted
from tests.helpers import basic_auth
from tests.registry.helpers import push_image

pytestmark = pytest.mark.django_db

CHALLENGE = re.compile(r'^Bearer realm="([^"]+)",service="([^"]+)"(?:,scope="([^"]+)")?')


def bearer(response) -> str:
    return f"Bearer {response.json()['token']}"


def test_unauthenticated_v2_gets_a_bearer_challenge(anonymous):
    response = anonymous.get("/v2/")
    assert response.status_code == 401
    assert errors(response)[0]["code"] == "UNAUTHORIZED"
    realm, service, scope = CHALLENGE.match(response["WWW-Authenticate"]).groups()
    assert realm == "http://testserver/token"
    assert service == "testserver"
    assert scope is None


def test_challenge_names_the_repository_and_actions(anonymous):
    response = anonymous.get("/v2/alice/app/manifests/latest")
    assert response.status_code == 401
    assert CHALLENGE.match(response["WWW-Authenticate"]).group(3) == "repository:alice/app:pull"
    response = anonymous.post("/v2/alice/app/blobs/uploads/")
    assert CHALLENGE.match(response["WWW-Authenticate"]).group(3) == "repository:alice/app:pull,push"


def test_token_answer_has_the_fields_docker_reads(alice_client):
    response = get_token(alice_client, "repository:alice/app:pull,push")
    document = response.json()
    assert set(document) == {"token", "access_token", "expires_in", "issued_at"}
    assert document["token"] == document["access_token"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", document["issued_at"])
    assert granted(response) == {"alice/app": ["pull", "push"]}


def test_token_lifetime_covers_a_long_upload(alice_client, settings):
    settings.BERTH_UPLOAD_TIMEOUT = 7200
    settings.BERTH_REGISTRY_TOKEN_LIFETIME = 300
    document = get_token(alice_client, "repository:alice/app:push").json()
    assert document["expires_in"] >= 7200
    claims = jwt.decode(document["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == document["expires_in"]


def test_several_scope_parameters_are_granted_separately(alice_client, make_user, client_for):
    bob = make_user("bob")
    push_image(client_for(bob), "1", name="bob/tool")
    response = get_token(alice_client, "repository:alice/app:pull,push", "repository:bob/tool:pull",
                         "repository:alice/new:push", "registry:catalog:*")
    # bob/tool is private: left out of the grant, not an error.
    assert granted(response) == {"alice/app": ["pull", "push"], "alice/new": ["push"]}


def test_space_separated_scopes_in_one_parameter(alice_client):
    response = alice_client.get("/token", {"service": "testserver",
                                           "scope": "repository:alice/app:pull repository:alice/b:push"})
    assert granted(response) == {"alice/app": ["pull"], "alice/b": ["push"]}


def test_grant_is_limited_by_the_token_scopes(alice, alice_client, client_for):
    reader = client_for(alice, ["read:packages"])
    assert granted(get_token(reader, "repository:alice/app:pull,push,delete")) == {"alice/app": ["pull"]}
    writer = client_for(alice, ["write:packages"])
    assert granted(get_token(writer, "repository:alice/app:pull,push,delete")) == {"alice/app": ["pull", "push"]}
    deleter = client_for(alice, ["read:packages", "delete:packages"])
    assert granted(get_token(deleter, "repository:alice/app:*")) == {"alice/app": ["delete", "pull"]}


def test_anonymous_token_grants_only_public_pulls(alice_client, anonymous):
    assert granted(get_token(anonymous, "repository:alice/app:pull")) == {}
    package_visibility_set(package=Package.objects.get(name="alice/app"), visibility="public")
    assert granted(get_token(anonymous, "repository:alice/app:pull,push")) == {"alice/app": ["pull"]}


@pytest.mark.parametrize("password", ["wrong", "berth_pat_" + "x" * 40])
def test_wrong_credentials_are_401(alice, anonymous, password):
    response = get_token(anonymous, "repository:alice/app:pull", auth=basic_auth("alice", password))
    assert response.status_code == 401
    assert errors(response)[0]["code"] == "UNAUTHORIZED"
    assert FailedLogin.objects.filter(username="alice").count() == 1


def test_a_password_instead_of_a_token_says_what_to_use(make_user, anonymous):
    make_user("carol", password="a-long-password-1")
    response = get_token(anonymous, auth=basic_auth("carol", "a-long-password-1"))
    assert response.status_code == 401
    assert "personal access token" in errors(response)[0]["message"]
    assert "/settings/tokens/new" in errors(response)[0]["message"]


def test_token_of_another_user_is_refused(alice, client_for, make_user, anonymous):
    bob_token = client_for(make_user("bob")).token
    assert get_token(anonymous, auth=basic_auth("alice", bob_token)).status_code == 401


def test_bearer_token_works_on_v2(alice_client, anonymous):
    token = get_token(alice_client, "repository:alice/app:pull")
    assert anonymous.get("/v2/", HTTP_AUTHORIZATION=bearer(token)).status_code == 200
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=bearer(token))
    assert response.status_code == 200


def test_bearer_token_without_the_action_asks_for_a_new_token(alice_client, anonymous):
    token = get_token(alice_client, "repository:alice/app:pull")
    response = anonymous.post("/v2/alice/app/blobs/uploads/", HTTP_AUTHORIZATION=bearer(token))
    assert response.status_code == 401
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]
    assert 'scope="repository:alice/app:pull,push"' in response["WWW-Authenticate"]


def test_forged_or_garbled_bearer_token_is_401(alice_client, anonymous):
    token = get_token(alice_client, "repository:alice/app:pull").json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-key-" * 4, algorithm="HS256")
    for value in (forged, "garbage", token[:-2]):
        response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=f"Bearer {value}")
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer realm=")


def test_expired_bearer_token_is_401(alice_client, anonymous, settings):
    token = get_token(alice_client, "repository:alice/app:pull").json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["exp"] = claims["iat"] - 3600
    from accounts import registry_tokens

    expired = jwt.encode(claims, registry_tokens._key(), algorithm="HS256")
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=f"Bearer {expired}")
    assert response.status_code == 401
    assert "expired" in errors(response)[0]["message"]


def test_revoking_the_pat_stops_its_registry_tokens_at_once(alice_client, anonymous):
    token = get_token(alice_client, "repository:alice/app:pull")
    token_revoke(token=PersonalAccessToken.objects.get(note="", hint=alice_client.token[:14]))
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=bearer(token))
    assert response.status_code == 401
    assert "revoked" in errors(response)[0]["message"]
    assert alice_client.get("/v2/alice/app/manifests/1").status_code == 401
    assert get_token(alice_client, "repository:alice/app:pull").status_code == 401


def test_expiry_of_the_pat_stops_its_registry_tokens_at_once(alice_client, anonymous):
    token = get_token(alice_client, "repository:alice/app:pull")
    PersonalAccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = anonymous.get("/v2/alice/app/manifests/1", HTTP_AUTHORIZATION=bearer(token))
    assert response.status_code == 401
    assert "expired" in errors(response)[0]["message"]
    assert alice_client.get("/v2/alice/app/manifests/1").status_code == 401


def test_disabled_user_is_refused(alice, alice_client):
    alice.is_active = False
    alice.save()
    assert alice_client.get("/v2/alice/app/manifests/1").status_code == 401
    assert get_token(alice_client).status_code == 401


def test_basic_pat_works_directly_on_v2(alice_client):
    assert alice_client.get("/v2/").status_code == 200
    assert alice_client.get("/v2/alice/app/tags/list").json() == {"name": "alice/app", "tags": ["1"]}


def test_use_is_recorded_at_most_once_a_minute(alice_client):
    alice_client.get("/v2/")
    first = PersonalAccessToken.objects.get(hint=alice_client.token[:14]).last_used_at
    assert first is not None
    alice_client.get("/v2/")
    assert PersonalAccessToken.objects.get(hint=alice_client.token[:14]).last_used_at == first


def test_realm_follows_a_tls_proxy(anonymous, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.USE_X_FORWARDED_HOST = True
    response = anonymous.get("/v2/", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="cr.example.com")
    realm, service, _ = CHALLENGE.match(response["WWW-Authenticate"]).groups()
    assert (realm, service) == ("https://cr.example.com/token", "cr.example.com")
