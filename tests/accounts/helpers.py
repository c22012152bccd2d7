"""Harness for tests that need people: their tokens, clients that sign in with them, and /token helpers.

The fixtures are made available through tests/accounts/conftest.py and tests/registry/conftest.py; the
modules of CI job sign-in (test_job_login.py, tests/api/test_job_token.py) import issuer and repository."""

import json
from urllib.parse import urlencode

import jwt
import pytest
from django.test import Client

from accounts.services import token_create, user_create
from sources import services as source_services
from tests.helpers import basic_auth
from tests.oidc_issuer import OIDCIssuer
from tests.registry.helpers import push_image

ALL_SCOPES = ["read:packages", "write:packages", "delete:packages"]
AUDIENCE = "berth.test"
GITHUB_URL = "https://github.com/{repository}"
APP_URL = "https://github.com/alice/app"


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


@pytest.fixture
def issuer(settings):
    """A GitHub-shaped issuer Berth trusts (repository URLs https://github.com/OWNER/REPO)."""
    with OIDCIssuer() as github:
        settings.BERTH_CI_ISSUERS = [github.config(audience=AUDIENCE, repository_url=GITHUB_URL)]
        yield github


@pytest.fixture
def repository(alice, issuer):
    """https://github.com/alice/app, registered by alice."""
    return source_services.repository_add(namespace="alice", url=APP_URL, by=alice)


def job_client(token: str, username: str = "ci") -> Client:
    """Return a client sending Basic username:token, as `docker login -u ci --password-stdin` does."""
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = basic_auth(username, token)
    return client


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
    return {entry["name"]: entry["actions"] for entry in claims_of(response)["access"]}


def claims_of(response) -> dict:
    """Return the claims of the registry token a /token answer gives."""
    assert response.status_code == 200, response.content
    return jwt.decode(response.json()["token"], options={"verify_signature": False})


def errors(response) -> list[dict]:
    return json.loads(response.content)["errors"]
