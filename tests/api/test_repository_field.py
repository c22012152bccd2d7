"""The REST API names a package's connected repository (GitHub's minimal repository) and a version's provenance."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry.models import Package
from tests.api.helpers import BASE
from tests.sources.provenance_helpers import SHA, URL, image, job_for, put, register

APP = f"{BASE}/user/packages/container/app"


def connect(repository, name: str = "alice/app") -> None:
    assert Package.objects.filter(name=name).update(source_repository=repository) == 1


def test_repository_is_githubs_minimal_repository_when_connected(api, owner_client):
    repository = register()
    put(image(api), job=job_for(repository))
    connect(repository)

    response = owner_client.get(APP)
    assert response.status_code == 200, response.content
    assert response.json()["repository"] == {
        "id": repository.pk, "name": "app", "full_name": "alice/app", "html_url": URL,
        "owner": {"login": "alice", "html_url": "https://github.com/alice"},
    }


def test_repository_is_null_until_connected(api, owner_client):
    register()
    put(image(api), by=None)
    assert owner_client.get(APP).json()["repository"] is None


def test_a_gitlab_group_path_keeps_its_groups_in_the_owner(api, owner_client):
    repository = register(url="https://gitlab.example/group/sub/app", issuer="https://gitlab.example")
    put(image(api), job=job_for(repository))
    connect(repository)
    shown = owner_client.get(APP).json()["repository"]
    assert (shown["full_name"], shown["name"], shown["owner"]["login"]) == ("group/sub/app", "app", "group/sub")


def test_the_package_list_names_each_packages_repository_in_one_query(api, owner_client):
    repository = register()
    put(image(api), job=job_for(repository))
    put(image(api, name="alice/other"), name="alice/other")
    connect(repository)

    response = owner_client.get(f"{BASE}/user/packages?package_type=container")
    repositories = {p["name"]: p["repository"] for p in response.json()}
    assert repositories["app"]["html_url"] == URL and repositories["other"] is None
    # The connected repository comes with the package's row, not one query per package.
    with CaptureQueriesContext(connection) as queries:
        owner_client.get(f"{BASE}/user/packages?package_type=container")
    assert not [q for q in queries.captured_queries if '"sources_sourcerepository"."id" =' in q["sql"]]


def test_a_version_a_job_pushed_has_its_provenance(api, owner_client):
    repository = register()
    put(image(api), job=job_for(repository))

    (version,) = owner_client.get(f"{APP}/versions").json()
    assert version["provenance"] == {
        "repository": "alice/app", "repository_url": URL, "issuer": repository.issuer,
        "ref": "refs/heads/main", "sha": SHA, "workflow": "release.yml", "run_id": "4242",
        "commit_url": f"{URL}/commit/{SHA}",
        "summary": "published by alice/app at 1a2b3c4 on refs/heads/main, run 4242",
    }
    assert owner_client.get(f"{APP}/versions/{version['id']}").json()["provenance"]["run_id"] == "4242"


def test_a_version_a_person_pushed_has_none(api, owner_client, alice):
    put(image(api), by=alice)
    (version,) = owner_client.get(f"{APP}/versions").json()
    assert version["provenance"] is None
