"""Fixtures for the source repository tests: trusted issuers, people, an organization, repositories, CI jobs."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory

from accounts import access
from accounts.services import membership_set, organization_create, team_create, team_member_add, user_create
from registry.services.packages import package_get_or_create
from sources import services
from sources.identity import JobIdentity

GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.example.com"
ISSUERS = [
    {"issuer": GITHUB, "audience": "berth", "repository_url": "https://github.com/{repository}",
     "jwks_file": "/nonexistent/jwks.json"},
    {"issuer": GITLAB, "audience": "berth", "repository_claim": "project_path",
     "repository_url": "https://gitlab.example.com/{repository}", "jwks_file": "/nonexistent/jwks.json"},
]


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


def package(name: str, visibility: str = "private"):
    created, _ = package_get_or_create(name=name)
    if visibility != "private":
        created.visibility = visibility
        created.save(update_fields=["visibility"])
    return created


def job_for(repository, ref: str = "refs/heads/main") -> JobIdentity:
    return JobIdentity(repository_id=repository.pk, repository_url=repository.url,
                       namespace=repository.namespace.name, issuer=repository.issuer, ref=ref, sha="1a2b3c4",
                       workflow="ci", run_id="4242", push_refs=tuple(repository.push_refs))


def job_caller(job: JobIdentity) -> access.Caller:
    return access.Caller(AnonymousUser(), access.ALL_ACTIONS, None, True, job=job)


def user_caller(user) -> access.Caller:
    return access.Caller(user, access.ALL_ACTIONS, None, True)


def v2_request():
    return RequestFactory().get("/v2/", HTTP_HOST="testserver")


def browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
