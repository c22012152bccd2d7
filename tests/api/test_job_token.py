"""The REST API with a CI job's OIDC ID token as the Bearer token, as GitHub's API takes GITHUB_TOKEN."""

import time

import pytest
from django.test import Client

from accounts.models import FailedLogin
from registry.models import Package
from sources import services as source_services
from tests.api.helpers import BASE, assert_error
from tests.helpers import basic_auth
from tests.oidc_issuer import OIDCIssuer
from tests.registry.helpers import push_image

pytestmark = pytest.mark.django_db

PACKAGE = f"{BASE}/users/alice/packages/container/app"


@pytest.fixture
def app(api, repository):
    """alice/app, pushed by alice and connected to https://github.com/alice/app."""
    digest, _ = push_image(api, "1.0", name="alice/app")
    source_services.package_connect(package=Package.objects.get(name="alice/app"), repository=repository)
    return digest


def job_api(issuer, scheme: str = "Bearer", **claims) -> Client:
    token = issuer.mint(issuer.github_claims(repository="alice/app", **claims))
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = basic_auth("ci", token) if scheme == "Basic" else f"{scheme} {token}"
    return client


@pytest.mark.parametrize("scheme", ["Bearer", "token", "Basic"])
def test_a_job_lists_and_gets_its_repositorys_packages(issuer, app, scheme):
    client = job_api(issuer, scheme)
    listed = client.get(f"{BASE}/users/alice/packages", {"package_type": "container"})
    assert listed.status_code == 200, listed.content
    assert [p["name"] for p in listed.json()] == ["app"]
    got = client.get(PACKAGE)
    assert got.status_code == 200, got.content
    assert got.json()["name"] == "app"


def test_a_job_deletes_and_restores_a_package_it_administers(issuer, app, api):
    client = job_api(issuer)
    assert client.delete(PACKAGE).status_code == 204
    assert Package.objects.filter(name="alice/app").first() is None
    assert client.post(f"{PACKAGE}/restore").status_code == 204
    assert Package.objects.filter(name="alice/app").exists()
    versions = client.get(f"{PACKAGE}/versions")
    assert versions.status_code == 200 and len(versions.json()) == 1
    assert client.delete(f"{PACKAGE}/versions/{versions.json()[0]['id']}").status_code == 204


def test_a_job_is_refused_on_a_package_not_connected_to_its_repository(issuer, repository, api):
    push_image(api, "1.0", name="alice/other")
    client = job_api(issuer)
    # Private and not connected: the job can't tell it from a missing package.
    assert_error(client.get(f"{BASE}/users/alice/packages/container/other"), 404)
    assert_error(client.delete(f"{BASE}/users/alice/packages/container/other"), 404)
    assert Package.objects.filter(name="alice/other").exists()
    listed = client.get(f"{BASE}/users/alice/packages", {"package_type": "container"})
    assert listed.status_code == 200 and listed.json() == []


def test_a_job_on_a_ref_that_may_not_push_may_read_but_not_delete(issuer, app, repository):
    source_services.push_refs_set(repository=repository, push_refs=["refs/heads/main"])
    client = job_api(issuer, ref="refs/heads/feature")
    assert client.get(PACKAGE).status_code == 200
    assert_error(client.delete(PACKAGE), 403)
    assert Package.objects.filter(name="alice/app").exists()


def test_bad_job_tokens_are_bad_credentials_with_the_reason(issuer, app):
    client = Client()
    token = issuer.mint(issuer.github_claims(repository="alice/app"), exp=int(time.time()) - 3600,
                        iat=int(time.time()) - 4000, nbf=int(time.time()) - 4000)
    document = assert_error(client.get(PACKAGE, HTTP_AUTHORIZATION=f"Bearer {token}"), 401, "Bad credentials: ")
    assert "expired" in document["message"]
    other = issuer.mint(issuer.github_claims(repository="alice/unregistered"))
    document = assert_error(client.get(PACKAGE, HTTP_AUTHORIZATION=f"token {other}"), 401, "Bad credentials: ")
    assert "not registered" in document["message"]
    assert FailedLogin.objects.filter(kind=FailedLogin.Kind.TOKEN).count() == 2


def test_an_issuer_whose_keys_cant_be_fetched_is_503(settings, app):
    with OIDCIssuer() as gone:
        settings.BERTH_CI_ISSUERS = [*settings.BERTH_CI_ISSUERS, gone.config(repository_url="https://gone.test/{repository}")]
        token = gone.mint(gone.github_claims(repository="alice/app"))
    document = assert_error(Client().get(PACKAGE, HTTP_AUTHORIZATION=f"Bearer {token}"), 503, "try again")
    assert document["message"]
    assert not FailedLogin.objects.exists()


def test_a_job_has_no_user_routes(issuer, app):
    document = assert_error(job_api(issuer).get(f"{BASE}/user/packages", {"package_type": "container"}), 403)
    assert "/users/alice/" in document["message"]


def test_a_pat_still_works_beside_job_tokens(issuer, app, owner_client):
    assert owner_client.get(PACKAGE).status_code == 200
