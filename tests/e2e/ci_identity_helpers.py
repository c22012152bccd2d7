"""What the CI identity e2e tests share: the test issuer, a Berth that trusts it, and database look-ups.

The test modules import the fixtures (issuer, ci_berth) by name, so each module gets its own server.
"""

import json

import pytest
import requests

from tests.helpers import start_berth
from tests.oidc_issuer import OIDCIssuer

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
