"""@octokit/rest with a CI job's OIDC ID token as its auth, as a workflow uses GITHUB_TOKEN (tests/api/octokit/job.mjs).

The live server trusts the test issuer through the `issuer` fixture's BERTH_CI_ISSUERS (it runs in this
process), and alice has registered https://github.com/alice/app (`repository`), the job's repository.
"""

import pytest

from accounts.services import package_visibility_set
from registry.models import Package, Visibility
from sources import services as source_services
from tests.api import octokit_harness
from tests.api.octokit_harness import run_script
from tests.registry.helpers import push_image

# The fixture, bound in this module by name.
octokit_installed = octokit_harness.octokit_installed


@pytest.fixture
def results(octokit_installed, live_server, api, issuer, repository):
    """Push alice/app (connected to the job's repository), alice/other (private) and alice/web (public); run job.mjs."""
    push_image(api, "1.0", name="alice/app")
    source_services.package_connect(package=Package.objects.get(name="alice/app"), repository=repository)
    push_image(api, "1.0", name="alice/other")
    push_image(api, "1.0", name="alice/web")
    package_visibility_set(package=Package.objects.get(name="alice/web"), visibility=Visibility.PUBLIC)
    token = issuer.mint(issuer.github_claims(repository="alice/app"))
    return run_script(octokit_installed, "job.mjs", BERTH_API=f"{live_server.url}/api/v3", JOB_TOKEN=token,
                      OWNER="alice", PACKAGE="app", OTHER="other")


def test_octokit_with_a_job_token_lists_the_owners_packages_it_may_read(results):
    assert results["list"]["status"] == 200, results["list"]
    # The private package that isn't connected to the job's repository is left out.
    assert [p["name"] for p in results["list"]["data"]] == ["app", "web"]


def test_octokit_with_a_job_token_gets_its_repositorys_package(results):
    assert results["get"]["status"] == 200, results["get"]
    assert results["get"]["data"]["name"] == "app"
    assert results["get"]["data"]["owner"]["login"] == "alice"


def test_octokit_with_a_job_token_deletes_and_restores_its_repositorys_package(results):
    assert results["delete"]["status"] == 204, results["delete"]
    assert results["afterDelete"]["status"] == 404, results["afterDelete"]
    assert results["restore"]["status"] == 204, results["restore"]
    assert results["afterRestore"]["status"] == 200 and results["afterRestore"]["data"]["name"] == "app"
    assert results["versions"]["status"] == 200
    assert [v["metadata"]["container"]["tags"] for v in results["versions"]["data"]] == [["1.0"]]
    assert Package.objects.filter(name="alice/app").exists()


def test_octokit_with_a_job_token_gets_404_for_a_private_package_not_connected(results):
    for step in ("other", "deleteOther"):
        answer = results[step]
        # The job can't tell a private package it has no role on from a missing one.
        assert answer["status"] == 404, (step, answer)
        assert set(answer["data"]) == {"message", "documentation_url"}, (step, answer)
    assert Package.objects.filter(name="alice/other").exists()
