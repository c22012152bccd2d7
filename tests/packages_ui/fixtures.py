"""Fixtures for the package pages (conftest.py and other test packages import them): people and browsers."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import user_create
from tests.packages_ui.helpers import HOST
from tests.registry.helpers import OWNER


@pytest.fixture
def alice(api):
    """OWNER, who owns alice/...; `api` pushes as her."""
    return get_user_model().objects.get(username=OWNER)


@pytest.fixture
def make_user(db):
    def make(username: str):
        return user_create(username=username, password="correct horse battery staple")
    return make


@pytest.fixture
def browser_for(db):
    """Return a test client signed in as user (None: signed out), sending HOST as its Host."""
    def make(user=None) -> Client:
        client = Client(HTTP_HOST=HOST)
        if user is not None:
            client.force_login(user)
        return client
    return make


@pytest.fixture
def owner_browser(alice, browser_for) -> Client:
    return browser_for(alice)


@pytest.fixture
def anonymous(browser_for) -> Client:
    return browser_for()


