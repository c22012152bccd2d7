"""Fixtures for the REST API tests (conftest.py and other test packages import them): people and clients."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import token_create, user_create
from tests.api.helpers import ALL_SCOPES
from tests.helpers import OWNER, basic_auth


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


