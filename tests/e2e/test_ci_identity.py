"""CI jobs log docker in with their OIDC ID token, through the real docker CLI and Berth under gunicorn.

A test OIDC issuer (tests/oidc_issuer.py) serves discovery and JWKS over HTTP and signs the job
tokens; Berth runs on a server of its own that trusts it (BERTH_CI_ISSUERS), with the owner
ci-owner's repositories registered by `manage.py add_repository`. Each job gets a docker client
config of its own, so its login never touches another's.
"""

import json
import time

import pytest
import requests

from tests.e2e import images
from tests.e2e.test_login import DockerClient, pull, push
from tests.helpers import start_berth
from tests.oidc_issuer import OIDCIssuer

pytestmark = pytest.mark.e2e

AUDIENCE = "berth-e2e"
OWNER = "ci-owner"
APP, RELEASES = "https://github.com/ci-owner/app", "https://github.com/ci-owner/releases"


@pytest.fixture(scope="module")
def issuer():
    with OIDCIssuer(audience=AUDIENCE) as github:
        yield github


@pytest.fixture(scope="module")
def ci_berth(issuer, tmp_path_factory):
    """Berth trusting issuer, with ci-owner's app (any ref pushes) and releases (main and tags push)."""
    config = issuer.config(audience=AUDIENCE, repository_url="https://github.com/{repository}")
    # Refetches on an unknown kid every second at most, so the rotation case never waits out the limit.
    server = start_berth(tmp_path_factory, BERTH_CI_ISSUERS=json.dumps([config]), BERTH_CI_JWKS_REFETCH_SECONDS="1")
    try:
        server.owner_token = server.manage("create_token", OWNER, "--scopes", "write:packages,delete:packages",
                                           "--create-user").strip()
        server.manage("add_repository", OWNER, APP)
        server.manage("add_repository", OWNER, RELEASES, "--push-refs", "refs/heads/main,refs/tags/*")
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def image(dockerd) -> str:
    rootfs = images.tar_bytes({"etc/ci-identity-test": b"pushed by tests/e2e/test_ci_identity.py\n"})
    DockerClient(dockerd, dockerd.root / "ci-image")("import", "-", "berth-e2e/ci:1", input=rootfs)
    return "berth-e2e/ci:1"


@pytest.fixture
def job(issuer, ci_berth, dockerd, tmp_path):
    """Return make(repository, **claims): a docker client logged in with a job token of that repository's CI."""
    count = iter(range(100))

    def make(repository: str = "ci-owner/app", login: bool = True, **claims) -> DockerClient:
        client = DockerClient(dockerd, tmp_path / f"job-{next(count)}")
        client.token = issuer.mint(issuer.github_claims(repository=repository, **claims))
        if login:
            assert "Login Succeeded" in client.login(ci_berth.host, "ci", client.token).output
        return client
    return make


def api(ci_berth, method: str, path: str, token: str) -> requests.Response:
    return requests.request(method, f"{ci_berth.url}/api/v3{path}", headers={"Authorization": f"Bearer {token}"},
                            timeout=60)


def package_row(ci_berth, name: str) -> dict:
    """Return how the database connects package name: its repository URL and inherit_access."""
    code = ("import json; from registry.models import Package; "
            f"p = Package.objects.filter(name={name!r}).select_related('source_repository').first(); "
            "print(json.dumps(p and {'repository': p.source_repository and p.source_repository.url, "
            "'inherit_access': p.inherit_access}))")
    return json.loads(ci_berth.manage("shell", "-c", code).strip().splitlines()[-1])


def test_a_job_publishes_a_new_package_connected_to_its_repository_and_pulls_it(ci_berth, job, image):
    client = job()
    ref = f"{ci_berth.host}/{OWNER}/fresh:1"
    assert "1: digest: sha256:" in push(client, image, ref).output
    assert package_row(ci_berth, f"{OWNER}/fresh") == {"repository": APP, "inherit_access": True}
    assert api(ci_berth, "GET", f"/users/{OWNER}/packages/container/fresh", client.token).status_code == 200
    assert "Status: " in pull(client, ref).output


def test_a_job_may_not_push_to_a_package_not_connected_to_its_repository(ci_berth, dockerd, tmp_path, job, image):
    owner = DockerClient(dockerd, tmp_path / "owner")
    owner.login(ci_berth.host, OWNER, ci_berth.owner_token)
    push(owner, image, f"{ci_berth.host}/{OWNER}/legacy:1")
    refused = push(job(), image, f"{ci_berth.host}/{OWNER}/legacy:2", check=False)
    assert refused.returncode != 0
    assert "is not connected to https://github.com/ci-owner/app" in refused.output, refused.output


def refused_login(ci_berth, client, token: str, *phrases: str) -> None:
    result = client.login(ci_berth.host, "ci", token, check=False)
    assert result.returncode != 0, result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


def test_each_refused_token_fails_docker_login_with_its_reason(ci_berth, issuer, job):
    client = job(login=False)
    now = int(time.time())
    with OIDCIssuer() as stranger:
        untrusted = stranger.mint(stranger.github_claims(repository="ci-owner/app"))
    refused_login(ci_berth, client, untrusted, "not trusted")
    claims = issuer.github_claims(repository="ci-owner/app")
    refused_login(ci_berth, client, issuer.mint(claims, aud="someone-else"), "audience", AUDIENCE)
    refused_login(ci_berth, client, issuer.mint(claims, exp=now - 3600, iat=now - 4000, nbf=now - 4000), "expired")
    header, payload, signature = issuer.mint(claims).split(".")
    forged = f"{header}.{payload}.{signature[:-6]}{'AAAAAA' if signature[-6:] != 'AAAAAA' else 'BBBBBB'}"
    refused_login(ci_berth, client, forged, "signature")
    unregistered = issuer.mint(issuer.github_claims(repository="ci-owner/unknown"))
    refused_login(ci_berth, client, unregistered, "https://github.com/ci-owner/unknown", "not registered")


@pytest.mark.slow
def test_a_job_on_a_branch_outside_push_refs_pulls_but_does_not_push(ci_berth, job, image):
    main = job("ci-owner/releases", ref="refs/heads/main")
    ref = f"{ci_berth.host}/{OWNER}/release:1"
    push(main, image, ref)
    feature = job("ci-owner/releases", ref="refs/heads/feature")
    assert "Status: " in pull(feature, ref).output
    refused = push(feature, image, f"{ci_berth.host}/{OWNER}/release:2", check=False)
    assert refused.returncode != 0
    assert "refs/heads/feature" in refused.output, refused.output


def test_a_job_deletes_and_restores_its_package_through_the_rest_api(ci_berth, job, image):
    client = job()
    push(client, image, f"{ci_berth.host}/{OWNER}/doomed:1")
    path = f"/users/{OWNER}/packages/container/doomed"
    assert api(ci_berth, "DELETE", path, client.token).status_code == 204
    assert api(ci_berth, "GET", path, client.token).status_code == 404
    assert api(ci_berth, "POST", f"{path}/restore", client.token).status_code == 204
    assert api(ci_berth, "GET", path, client.token).json()["name"] == "doomed"


def test_a_rotated_signing_key_is_picked_up(ci_berth, issuer, job):
    job()  # Berth has fetched and cached the current keys
    issuer.rotate()
    rotated = job()  # signed with the new key, whose kid Berth fetches the keys again for
    assert rotated.token
