"""GitHub's own REST client, @octokit/rest, pointed at Berth by its base URL alone (tests/api/octokit/run.mjs)."""

import pytest
from django.contrib.auth import get_user_model

from accounts.services import organization_create, package_visibility_set, token_create
from registry.models import Package, Visibility
from tests.api import octokit_harness
from tests.api.octokit_harness import run_script
from tests.registry.helpers import push_image

# The fixture, bound in this module by name.
octokit_installed = octokit_harness.octokit_installed


@pytest.fixture
def results(octokit_installed, live_server, api):
    """Push alice's packages and acme's, run the Octokit script against the live server, return its answers."""
    alice = get_user_model().objects.get(username="alice")
    push_image(api, "1.0", name="alice/app", layers=(b"first",))
    push_image(api, "2.0", name="alice/app", layers=(b"second",))
    push_image(api, "latest", name="alice/tools/release")
    push_image(api, "1", name="alice/web")
    package_visibility_set(package=Package.objects.get(name="alice/web"), visibility=Visibility.PUBLIC)
    organization_create(name="acme", owner=alice)
    push_image(api, "1", name="acme/app")
    _, token = token_create(user=alice, scopes=["read:packages", "delete:packages"])
    _, read_token = token_create(user=alice, scopes=["read:packages"])
    return run_script(octokit_installed, "run.mjs", BERTH_API=f"{live_server.url}/api/v3", TOKEN=token,
                      READ_TOKEN=read_token)


def names(answer) -> list[str]:
    return [item["name"] for item in answer["data"]]


def test_octokit_lists_and_gets_packages(results):
    assert results["list"]["status"] == 200
    assert names(results["list"]) == ["app", "tools/release", "web"]
    # octokit.paginate follows the Link header one package at a time.
    assert names(results["paginate"]) == ["app", "tools/release", "web"]
    assert results["nested"]["status"] == 200 and results["nested"]["data"]["name"] == "tools/release"
    assert results["user"]["status"] == 200 and results["user"]["data"]["visibility"] == "public"
    assert results["org"]["status"] == 200
    assert results["org"]["data"]["owner"]["type"] == "Organization"
    assert len(results["orgVersions"]["data"]) == 1


def test_octokit_reads_deletes_and_restores_a_version(results):
    versions = results["versions"]["data"]
    assert [v["metadata"]["container"]["tags"] for v in versions] == [["2.0"], ["1.0"]]
    old = versions[-1]
    assert results["version"]["status"] == 200 and results["version"]["data"]["name"] == old["name"]
    assert results["deleteVersion"]["status"] == 204
    assert [v["id"] for v in results["afterDelete"]["data"]] == [versions[0]["id"]]
    deleted = results["deleted"]["data"]
    assert [v["id"] for v in deleted] == [old["id"]] and deleted[0]["deleted_at"]
    assert results["restoreVersion"]["status"] == 204
    assert [v["id"] for v in results["afterRestore"]["data"]] == [v["id"] for v in versions]


def test_octokit_deletes_and_restores_a_package(results):
    assert results["deletePackage"]["status"] == 204
    assert results["deletedPackage"]["status"] == 404
    assert results["restorePackage"]["status"] == 204
    assert Package.objects.filter(name="alice/app").exists()


def test_octokit_sees_githubs_errors(results):
    for step, status in (("missing", 404), ("readerDelete", 403), ("anonymousOwn", 401), ("anonymousPrivate", 404),
                         ("badType", 422)):
        answer = results[step]
        assert answer["status"] == status, (step, answer)
        assert set(answer["data"]) == {"message", "documentation_url"}, (step, answer)
    assert results["missing"]["data"] == results["anonymousPrivate"]["data"]
