"""Package versions over /api/v3: one version per image (multi-arch ones too), referrers inside, soft deletes."""

import pytest
from django.test import Client

from accounts.models import PackagePermission
from accounts.services import package_grant, package_visibility_set
from registry.models import Manifest, Package, Visibility
from registry.oci import media_types as mt
from tests.api.helpers import BASE, assert_error
from tests.packages_ui.helpers import push_multiarch
from tests.registry.helpers import descriptor, image_config, push_artifact, push_image

APP = f"{BASE}/user/packages/container/app"
MULTI = f"{BASE}/user/packages/container/multi"


def version_id(digest: str) -> int:
    return Manifest.objects.get(digest=digest).pk


@pytest.fixture
def app(api):
    """alice/app with 1.0 then 2.0 (the newest); returns their digests."""
    old, _ = push_image(api, "1.0", name="alice/app", layers=(b"old layer",))
    new, _ = push_image(api, "2.0", name="alice/app", layers=(b"new layer",))
    return old, new


@pytest.fixture
def multi(api):
    """alice/multi: an index over amd64 and arm64/v8, tagged latest, with a signature on the index."""
    index, children = push_multiarch(api, "latest")
    raw = api.get(f"/v2/alice/multi/manifests/{index}").content
    signature, _ = push_artifact(api, descriptor(raw, mt.OCI_INDEX), "application/vnd.dev.cosign.artifact.sig.v1+json",
                                 name="alice/multi")
    return index, children, signature


class TestList:
    def test_versions_newest_first_in_githubs_shape(self, app, owner_client):
        old, new = app
        response = owner_client.get(f"{APP}/versions")
        assert response.status_code == 200, response.content
        versions = response.json()
        assert [v["name"] for v in versions] == [new, old]
        version = versions[0]
        assert version["id"] == version_id(new)
        assert version["metadata"] == {"package_type": "container", "container": {"tags": ["2.0"]}}
        assert version["url"] == f"http://testserver/api/v3/users/alice/packages/container/app/versions/{version['id']}"
        assert version["package_html_url"] == "http://testserver/alice/packages/container/app"
        assert version["html_url"] == f"http://testserver/alice/packages/container/app/-/versions/{new}"
        assert "deleted_at" not in version
        assert version["platforms"] == ["linux/amd64"]
        assert version["referrers"] == [] and version["platform_manifests"] == []
        assert version["created_at"].endswith("Z")

    def test_a_multi_arch_image_is_one_version_with_its_platforms_and_referrers(self, multi, api, owner_client):
        index, children, signature = multi
        versions = owner_client.get(f"{MULTI}/versions").json()
        assert [v["name"] for v in versions] == [index]
        version = versions[0]
        assert version["platforms"] == ["linux/amd64", "linux/arm64/v8"]
        assert [p["name"] for p in version["platform_manifests"]] == children
        assert [r["name"] for r in version["referrers"]] == [signature]
        assert version["referrers"][0]["artifact_type"] == "application/vnd.dev.cosign.artifact.sig.v1+json"
        assert owner_client.get(MULTI).json()["version_count"] == 1

    def test_a_multi_arch_size_counts_its_platforms(self, multi, api, owner_client):
        index, children, _ = multi
        version = owner_client.get(f"{MULTI}/versions").json()[0]
        expected = len(api.get(f"/v2/alice/multi/manifests/{index}").content)
        for child, arch in zip(children, ("amd64", "arm64"), strict=True):
            expected += len(api.get(f"/v2/alice/multi/manifests/{child}").content)
            expected += len(image_config(arch)) + len(f"layer for {arch}".encode())
        assert version["size_in_bytes"] == expected

    def test_download_counts_fold_before_showing(self, app, api, owner_client):
        old, _ = app
        for _ in range(3):
            assert api.get(f"/v2/alice/app/manifests/{old}").status_code == 200
        versions = {v["name"]: v for v in owner_client.get(f"{APP}/versions").json()}
        assert versions[old]["download_count"] == 3
        assert owner_client.get(APP).json()["download_count"] == 3

    def test_pagination(self, app, owner_client):
        old, new = app
        first = owner_client.get(f"{APP}/versions?per_page=1")
        assert [v["name"] for v in first.json()] == [new]
        assert 'rel="next"' in first["Link"] and "page=2" in first["Link"]
        second = owner_client.get(f"{APP}/versions?per_page=1&page=2")
        assert [v["name"] for v in second.json()] == [old]
        assert 'rel="next"' not in second["Link"] and 'rel="prev"' in second["Link"]

    def test_state_is_checked(self, app, owner_client):
        assert_error(owner_client.get(f"{APP}/versions?state=gone"), 422, "state")

    def test_anonymous_on_public_and_private(self, app, anonymous):
        assert_error(anonymous.get(f"{BASE}/users/alice/packages/container/app/versions"), 404)
        package_visibility_set(package=Package.objects.get(name="alice/app"), visibility=Visibility.PUBLIC)
        assert len(anonymous.get(f"{BASE}/users/alice/packages/container/app/versions").json()) == 2


class TestOneVersion:
    def test_get_one(self, app, owner_client):
        old, _ = app
        response = owner_client.get(f"{APP}/versions/{version_id(old)}")
        assert response.status_code == 200
        assert response.json()["name"] == old and response.json()["metadata"]["container"]["tags"] == ["1.0"]

    def test_missing_and_other_packages_versions_are_404(self, app, api, owner_client):
        other, _ = push_image(api, "1", name="alice/other", layers=(b"other",))
        assert_error(owner_client.get(f"{APP}/versions/999999"), 404)
        assert_error(owner_client.get(f"{APP}/versions/{version_id(other)}"), 404)
        assert_error(owner_client.delete(f"{APP}/versions/{version_id(other)}"), 404)
        assert_error(owner_client.get(f"{APP}/versions/not-a-number"), 404)

    def test_a_private_version_is_404_to_others(self, app, make_user, client_for, anonymous):
        old, _ = app
        for client in (anonymous, client_for(make_user("bob"))):
            assert_error(client.get(f"{BASE}/users/alice/packages/container/app/versions/{version_id(old)}"), 404)


class TestDeleteAndRestore:
    def test_delete_lists_as_deleted_and_restores_with_its_tag(self, app, owner_client, api):
        old, new = app
        old_id = version_id(old)
        assert owner_client.delete(f"{APP}/versions/{old_id}").status_code == 204
        assert [v["name"] for v in owner_client.get(f"{APP}/versions").json()] == [new]
        assert api.get("/v2/alice/app/manifests/1.0").status_code == 404
        deleted = owner_client.get(f"{APP}/versions?state=deleted").json()
        assert [v["name"] for v in deleted] == [old]
        assert deleted[0]["deleted_at"].endswith("Z")
        assert deleted[0]["metadata"]["container"]["tags"] == ["1.0"]
        assert owner_client.get(f"{APP}/versions/{old_id}").json()["deleted_at"] == deleted[0]["deleted_at"]
        assert owner_client.post(f"{APP}/versions/{old_id}/restore").status_code == 204
        assert api.get("/v2/alice/app/manifests/1.0").status_code == 200
        assert owner_client.get(f"{APP}/versions?state=deleted").json() == []

    def test_deleting_a_multi_arch_version_takes_its_platforms_and_referrers(self, multi, owner_client, api):
        index, children, signature = multi
        assert owner_client.delete(f"{MULTI}/versions/{version_id(index)}").status_code == 204
        assert owner_client.get(f"{MULTI}/versions").json() == []
        for digest in (*children, signature):
            assert Manifest.objects.get(digest=digest).deleted_at is not None
        deleted = owner_client.get(f"{MULTI}/versions?state=deleted").json()
        assert [v["name"] for v in deleted] == [index]
        assert [r["name"] for r in deleted[0]["referrers"]] == [signature]
        assert owner_client.post(f"{MULTI}/versions/{version_id(index)}/restore").status_code == 204
        assert api.get(f"/v2/alice/multi/manifests/{children[0]}").status_code == 200

    def test_a_platform_alone_cant_be_deleted(self, multi, owner_client):
        _, children, _ = multi
        assert_error(owner_client.delete(f"{MULTI}/versions/{version_id(children[0])}"), 422, "multi-arch")

    def test_the_last_version_may_be_deleted_unlike_on_github(self, api, owner_client):
        digest, _ = push_image(api, "1", name="alice/app")
        assert owner_client.delete(f"{APP}/versions/{version_id(digest)}").status_code == 204
        assert owner_client.get(APP).json()["version_count"] == 0

    def test_deleting_a_deleted_version_is_404(self, app, owner_client):
        old, _ = app
        owner_client.delete(f"{APP}/versions/{version_id(old)}")
        assert_error(owner_client.delete(f"{APP}/versions/{version_id(old)}"), 404)

    def test_deleted_here_restored_on_the_settings_page(self, app, alice, owner_client):
        old, _ = app
        owner_client.delete(f"{APP}/versions/{version_id(old)}")
        browser = Client()
        browser.force_login(alice)
        assert old in browser.get("/alice/packages/container/app/-/settings").content.decode()
        browser.post(f"/alice/packages/container/app/-/versions/{old}/restore")
        assert old in [v["name"] for v in owner_client.get(f"{APP}/versions").json()]

    def test_read_only_token_and_writer_are_403_another_user_404_anonymous_401(
            self, app, alice, make_user, client_for, anonymous):
        old, _ = app
        path = f"{BASE}/users/alice/packages/container/app/versions/{version_id(old)}"
        assert_error(client_for(alice, ["read:packages"]).delete(path), 403, "delete:packages")
        writer = make_user("wanda")
        package_grant(package=Package.objects.get(name="alice/app"), role=PackagePermission.Role.WRITE, user=writer)
        writer_client = client_for(writer)
        assert_error(writer_client.delete(path), 403, "admin")
        assert_error(writer_client.post(f"{path}/restore"), 403, "admin")
        assert_error(writer_client.get(f"{BASE}/users/alice/packages/container/app/versions?state=deleted"), 403)
        assert_error(client_for(make_user("bob")).delete(path), 404)
        assert_error(anonymous.delete(path), 401)
        assert Manifest.objects.get(digest=old).deleted_at is None

    def test_a_deleted_version_is_hidden_from_readers(self, app, owner_client, make_user, client_for):
        old, _ = app
        reader = make_user("rita")
        package_grant(package=Package.objects.get(name="alice/app"), role=PackagePermission.Role.READ, user=reader)
        owner_client.delete(f"{APP}/versions/{version_id(old)}")
        path = f"{BASE}/users/alice/packages/container/app/versions/{version_id(old)}"
        assert_error(client_for(reader).get(path), 404)
