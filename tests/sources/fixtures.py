"""Fixtures for the source repository tests (conftest.py makes them available): issuers, people, repositories."""

import pytest

from accounts.services import membership_set, organization_create, team_create, team_member_add, user_create
from sources import services
from tests.sources.helpers import ISSUERS


@pytest.fixture(autouse=True)
def _issuers(settings):
    settings.BERTH_CI_ISSUERS = ISSUERS


@pytest.fixture
def people(db):
    """alice (a user), acme (an organization: olga owns it, mike is a member in team devs), and bob, an outsider."""
    users = {name: user_create(username=name, password="correct horse battery staple")
             for name in ("alice", "bob", "olga", "mike")}
    acme = organization_create(name="acme", owner=users["olga"])
    membership_set(organization=acme, user=users["mike"])
    devs = team_create(organization=acme, name="devs")
    team_member_add(team=devs, user=users["mike"])
    return {**users, "acme": acme, "devs": devs}


@pytest.fixture
def app_repo(people):
    """https://github.com/alice/app, alice's, pushing from main and tags."""
    return services.repository_add(namespace="alice", url="https://github.com/alice/app",
                                   push_refs=["refs/heads/main", "refs/tags/*"], by=people["alice"])


@pytest.fixture
def acme_repo(people):
    return services.repository_add(namespace="acme", url="https://github.com/acme/web", by=people["olga"])
