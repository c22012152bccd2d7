"""Cross-repository mount with registry tokens: the 401 challenge asks for pull on the source too."""

import re

import pytest
from django.test import Client

from accounts.services import token_create, user_create
from registry.models import PackageBlob
from tests.helpers import basic_auth
from tests.registry.helpers import push_blob, sha256

pytestmark = pytest.mark.django_db

LAYER = b"a layer both repositories share"
SCOPE = re.compile(r'scope="([^"]*)"')


@pytest.fixture
def alice_basic() -> str:
    _, token = token_create(user=user_create(username="alice"),
                            scopes=["read:packages", "write:packages", "delete:packages"])
    return basic_auth("alice", token)


@pytest.fixture
def layer(alice_basic) -> str:
    client = Client(HTTP_AUTHORIZATION=alice_basic)
    return push_blob(client, LAYER, name="alice/a")


def mount(client: Client, target: str, source: str, digest: str, **headers):
    return client.post(f"/v2/{target}/blobs/uploads/?mount={digest}&from={source}", **headers)


def challenge_scope(response) -> str:
    assert response.status_code == 401, response.content
    return SCOPE.search(response["WWW-Authenticate"]).group(1)


def token_for(basic: str, scope: str) -> str:
    """Ask /token for scope exactly as the challenge put it (one parameter, space-separated)."""
    response = Client().get("/token", {"service": "testserver", "scope": scope}, HTTP_AUTHORIZATION=basic)
    assert response.status_code == 200, response.content
    return "Bearer " + response.json()["token"]


def test_challenge_asks_for_pull_on_the_source(layer):
    scope = challenge_scope(mount(Client(), "alice/b", "alice/a", layer))
    assert scope == "repository:alice/b:pull,push repository:alice/a:pull"


def test_a_token_for_the_challenge_mounts(alice_basic, layer):
    scope = challenge_scope(mount(Client(), "alice/b", "alice/a", layer))
    response = mount(Client(), "alice/b", "alice/a", layer, HTTP_AUTHORIZATION=token_for(alice_basic, scope))
    assert response.status_code == 201, response.content
    assert response["Location"] == f"/v2/alice/b/blobs/{layer}"
    assert PackageBlob.objects.filter(package__name="alice/b", blob__digest=layer).exists()


def test_a_token_without_pull_on_the_source_uploads_instead(alice_basic, layer):
    bearer = token_for(alice_basic, "repository:alice/b:pull,push")
    response = mount(Client(), "alice/b", "alice/a", layer, HTTP_AUTHORIZATION=bearer)
    assert response.status_code == 202, response.content
    assert not PackageBlob.objects.filter(package__name="alice/b", blob__digest=layer).exists()


def test_a_token_for_the_challenge_of_an_unreadable_source_still_uploads(alice_basic, layer):
    _, token = token_create(user=user_create(username="bob"), scopes=["read:packages", "write:packages"])
    bob_basic = basic_auth("bob", token)
    scope = challenge_scope(mount(Client(), "bob/b", "alice/a", layer))
    assert scope == "repository:bob/b:pull,push repository:alice/a:pull"
    response = mount(Client(), "bob/b", "alice/a", layer, HTTP_AUTHORIZATION=token_for(bob_basic, scope))
    assert response.status_code == 202, response.content


@pytest.mark.parametrize("source", ["alice/b", "alice/a%0A", "nobody", "alice/a%22"])
def test_challenge_names_only_a_valid_other_source(layer, source):
    assert challenge_scope(mount(Client(), "alice/b", source, layer)) == "repository:alice/b:pull,push"


def test_a_plain_upload_start_asks_for_the_target_only(layer):
    response = Client().post("/v2/alice/b/blobs/uploads/?from=alice/a")
    assert challenge_scope(response) == "repository:alice/b:pull,push"
    assert challenge_scope(Client().post(f"/v2/alice/b/blobs/uploads/?digest={sha256(b'x')}")) == \
        "repository:alice/b:pull,push"
