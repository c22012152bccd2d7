"""Harness for tests that need people: their tokens, clients that sign in with them, and /token helpers.

The fixtures are made available through tests/accounts/conftest.py and tests/registry/conftest.py."""

import json
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client

from accounts.services import token_create, user_create
from tests.helpers import basic_auth
from tests.registry.helpers import push_image

ALL_SCOPES = ["read:packages", "write:packages", "delete:packages"]


@pytest.fixture
def make_user(db):
    def make(username: str, password: str | None = None):
        return user_create(username=username, password=password)
    return make


@pytest.fixture
def client_for(db):
    """Return a test client sending Basic USERNAME:<a new token with scopes>."""
    def make(user, scopes=ALL_SCOPES, **token_args) -> Client:
        _, token = token_create(user=user, scopes=scopes, **token_args)
        client = Client()
        client.defaults["HTTP_AUTHORIZATION"] = basic_auth(user.username, token)
        client.token = token
        return client
    return make


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def alice_client(alice, client_for):
    """alice's client (all scopes), after pushing alice/app:1; .digest is that manifest's digest."""
    client = client_for(alice)
    client.digest, _ = push_image(client, "1", name="alice/app")
    return client


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


def get_token(client: Client, *scopes: str, auth: str | None = None, **headers):
    """Ask /token for scopes, with the client's own Authorization unless auth is given."""
    query = "&".join(["service=testserver"] + [f"scope={s}" for s in scopes])
    if auth is not None:
        headers["HTTP_AUTHORIZATION"] = auth
    return client.get(f"/token?{query}", **headers)


def post_token(client: Client, **fields):
    """POST the OAuth2 form to /token as containerd does (urlencoded; a list value repeats its field)."""
    return client.post("/token", urlencode(fields, doseq=True),
                       content_type="application/x-www-form-urlencoded; charset=utf-8")


def granted(response) -> dict[str, list[str]]:
    """Return the repository actions a /token answer grants, read from its JWT."""
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    return {entry["name"]: entry["actions"] for entry in claims["access"]}


def errors(response) -> list[dict]:
    return json.loads(response.content)["errors"]
