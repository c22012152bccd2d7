"""Fixtures for the REST API tests: people, clients sending their tokens as GitHub's clients do, and images."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import token_create, user_create
from tests.conftest import OWNER, basic_auth

ALL_SCOPES = ["read:packages", "write:packages", "delete:packages"]
BASE = "/api/v3"


@pytest.fixture
def alice(api):
    """OWNER, who owns alice/...; `api` pushes as her over /v2/."""
    return get_user_model().objects.get(username=OWNER)


@pytest.fixture
def make_user(db):
    def make(username: str):
        return user_create(username=username)
    return make


@pytest.fixture
def client_for(db):
    """Return a client sending `Authorization: SCHEME <a new token of user's with scopes>` (Bearer by default)."""
    def make(user, scopes=ALL_SCOPES, scheme: str = "Bearer") -> Client:
        _, token = token_create(user=user, scopes=scopes)
        client = Client()
        value = basic_auth(user.username, token) if scheme == "Basic" else f"{scheme} {token}"
        client.defaults["HTTP_AUTHORIZATION"] = value
        client.token = token
        return client
    return make


@pytest.fixture
def owner_client(alice, client_for) -> Client:
    """alice with read:packages and delete:packages, as a cleanup workflow's PAT has."""
    return client_for(alice)


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


def assert_error(response, status: int, message: str | None = None) -> dict:
    """Assert GitHub's error shape: {"message", "documentation_url"} and the status."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    document = response.json()
    assert set(document) == {"message", "documentation_url"}, document
    assert document["documentation_url"].startswith("https://docs.github.com/"), document
    if message is not None:
        assert message in document["message"], document
    return document
