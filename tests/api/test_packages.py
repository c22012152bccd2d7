"""Packages over /api/v3: list, get, delete and restore, with GitHub's JSON, statuses and permissions."""

import pytest
from django.test import Client

from accounts.models import PackagePermission
from accounts.services import membership_set, organization_create, package_grant, package_visibility_set
from registry.models import Package, Visibility
from tests.api.helpers import BASE, assert_error
from tests.registry.helpers import image_config, push_image

CONFIG = image_config()


@pytest.fixture
def app(api):
    """alice/app (private) with one tagged image; returns its digest."""
    digest, _ = push_image(api, "1.0", name="alice/app", config=CONFIG, layers=(b"layer one", b"layer two"))
    return digest


def public(name: str) -> Package:
    package = Package.objects.get(name=name)
    package_visibility_set(package=package, visibility=Visibility.PUBLIC)
    return package


class TestList:
    def test_lists_the_callers_packages_in_githubs_shape(self, app, api, owner_client, alice):
        push_image(api, "latest", name="alice/tools/release")
        response = owner_client.get(f"{BASE}/user/packages?package_type=container")
        assert response.status_code == 200, response.content
        packages = response.json()
        assert [p["name"] for p in packages] == ["app", "tools/release"]
        first = packages[0]
        package = Package.objects.get(name="alice/app")
        assert first["id"] == package.pk
        assert first["package_type"] == "container"
        assert first["visibility"] == "private"
        assert first["version_count"] == 1
        assert first["repository"] is None
        assert first["url"] == "http://testserver/api/v3/users/alice/packages/container/app"
        assert first["html_url"] == "http://testserver/alice/packages/container/app"
        assert packages[1]["url"].endswith("/users/alice/packages/container/tools%2Frelease")
        assert first["owner"]["login"] == "alice" and first["owner"]["type"] == "User"
        assert first["owner"]["url"] == "http://testserver/api/v3/users/alice"
        assert first["created_at"].endswith("Z") and "." not in first["created_at"]
        assert {"download_count", "size_in_bytes", "updated_at"} <= set(first)

    def test_package_type_is_required_and_checked(self, app, owner_client):
        assert_error(owner_client.get(f"{BASE}/user/packages"), 422, "package_type")
        assert_error(owner_client.get(f"{BASE}/user/packages?package_type=pypi"), 422, "package_type")
        assert_error(owner_client.get(f"{BASE}/user/packages?package_type=container&visibility=secret"), 422)

    def test_other_package_types_list_nothing(self, app, owner_client):
        response = owner_client.get(f"{BASE}/user/packages?package_type=npm")
        assert response.status_code == 200 and response.json() == []

    def test_visibility_filters(self, app, api, owner_client):
        push_image(api, "1", name="alice/web")
        public("alice/web")
        names = lambda v: [p["name"] for p in owner_client.get(  # noqa: E731
            f"{BASE}/user/packages?package_type=container&visibility={v}").json()]
        assert names("public") == ["web"]
        assert names("private") == ["app"]

    def test_the_own_list_needs_credentials(self, app, anonymous):
        assert_error(anonymous.get(f"{BASE}/user/packages?package_type=container"), 401, "Requires authentication")

    def test_anonymous_sees_only_public_packages_of_a_user(self, app, api, anonymous):
        push_image(api, "1", name="alice/web")
        public("alice/web")
        response = anonymous.get(f"{BASE}/users/alice/packages?package_type=container")
        assert response.status_code == 200
        assert [p["name"] for p in response.json()] == ["web"]

    def test_another_user_sees_what_they_were_granted(self, app, make_user, client_for):
        bob = make_user("bob")
        bob_client = client_for(bob, ["read:packages"])
        assert bob_client.get(f"{BASE}/users/alice/packages?package_type=container").json() == []
        package_grant(package=Package.objects.get(name="alice/app"), role=PackagePermission.Role.READ, user=bob)
        assert [p["name"] for p in bob_client.get(
            f"{BASE}/users/alice/packages?package_type=container").json()] == ["app"]

    def test_unknown_owners_and_the_wrong_kind_are_404(self, app, owner_client, alice):
        assert_error(owner_client.get(f"{BASE}/users/nobody/packages?package_type=container"), 404, "Not Found")
        assert_error(owner_client.get(f"{BASE}/orgs/alice/packages?package_type=container"), 404)
        organization_create(name="acme", owner=alice)
        assert_error(owner_client.get(f"{BASE}/users/acme/packages?package_type=container"), 404)


class TestPagination:
    @pytest.fixture
    def five(self, api):
        for name in ("a", "b", "c", "d", "e"):
            push_image(api, "1", name=f"alice/{name}", layers=(name.encode(),))

    def links(self, response) -> dict[str, str]:
        found = {}
        for part in response.get("Link", "").split(", "):
            if part:
                url, rel = part.split("; ")
                found[rel[5:-1]] = url[1:-1]
        return found

    def test_first_middle_last_and_beyond(self, five, owner_client):
        url = f"{BASE}/user/packages?package_type=container&per_page=2"
        first = owner_client.get(url)
        assert [p["name"] for p in first.json()] == ["a", "b"]
        links = self.links(first)
        assert set(links) == {"next", "last"}
        assert "page=2" in links["next"] and "page=3" in links["last"] and "package_type=container" in links["next"]
        middle = owner_client.get(url + "&page=2")
        assert [p["name"] for p in middle.json()] == ["c", "d"]
        assert set(self.links(middle)) == {"first", "prev", "next", "last"}
        last = owner_client.get(url + "&page=3")
        assert [p["name"] for p in last.json()] == ["e"]
        assert set(self.links(last)) == {"first", "prev"}
        beyond = owner_client.get(url + "&page=9")
        assert beyond.status_code == 200 and beyond.json() == []
        assert "page=3" in self.links(beyond)["prev"]

    def test_one_page_has_no_link(self, five, owner_client):
        response = owner_client.get(f"{BASE}/user/packages?package_type=container")
        assert len(response.json()) == 5 and "Link" not in response

    def test_per_page_is_capped_at_100_and_must_be_positive(self, five, owner_client):
        response = owner_client.get(f"{BASE}/user/packages?package_type=container&per_page=1000")
        assert len(response.json()) == 5
        assert_error(owner_client.get(f"{BASE}/user/packages?package_type=container&per_page=0"), 422, "per_page")
        assert_error(owner_client.get(f"{BASE}/user/packages?package_type=container&page=x"), 422, "page")


class TestGet:
    def test_owner_gets_a_package_with_its_size_and_downloads(self, app, api, owner_client):
        assert api.get(f"/v2/alice/app/manifests/{app}").status_code == 200
        response = owner_client.get(f"{BASE}/user/packages/container/app")
        assert response.status_code == 200, response.content
        package = response.json()
        assert package["name"] == "app" and package["version_count"] == 1
        assert package["download_count"] == 1
        manifest_size = api.get(f"/v2/alice/app/manifests/{app}")["Content-Length"]
        assert package["size_in_bytes"] == int(manifest_size) + len(CONFIG) + len(b"layer one") + len(b"layer two")

    def test_a_shared_layer_counts_once_in_the_package(self, app, api, owner_client):
        before = owner_client.get(f"{BASE}/user/packages/container/app").json()["size_in_bytes"]
        digest, raw = push_image(api, "2.0", name="alice/app", config=image_config("arm64"),
                                 layers=(b"layer one", b"layer two"))
        after = owner_client.get(f"{BASE}/user/packages/container/app").json()["size_in_bytes"]
        assert after == before + len(raw) + len(image_config("arm64"))

    def test_the_same_package_under_users_and_user(self, app, owner_client):
        mine = owner_client.get(f"{BASE}/user/packages/container/app").json()
        theirs = owner_client.get(f"{BASE}/users/alice/packages/container/app").json()
        assert mine == theirs

    def test_nested_names_encoded_or_not(self, api, owner_client):
        push_image(api, "1", name="alice/tools/release")
        encoded = owner_client.get(f"{BASE}/user/packages/container/tools%2Frelease")
        literal = owner_client.get(f"{BASE}/user/packages/container/tools/release")
        assert encoded.status_code == literal.status_code == 200
        assert encoded.json()["name"] == "tools/release" and encoded.json() == literal.json()

    def test_private_package_is_404_like_a_missing_one(self, app, anonymous, make_user, client_for):
        bob = client_for(make_user("bob"))
        for client in (anonymous, bob):
            hidden = client.get(f"{BASE}/users/alice/packages/container/app")
            missing = client.get(f"{BASE}/users/alice/packages/container/nothing")
            assert_error(hidden, 404)
            assert hidden.json() == missing.json()

    def test_anonymous_reads_a_public_package(self, app, anonymous):
        public("alice/app")
        response = anonymous.get(f"{BASE}/users/alice/packages/container/app")
        assert response.status_code == 200 and response.json()["visibility"] == "public"

    def test_a_token_without_read_packages_is_refused_with_403(self, app, alice, client_for):
        client = client_for(alice, ["delete:packages"])
        assert_error(client.get(f"{BASE}/user/packages/container/app"), 403, "read:packages")

    def test_only_container_packages(self, app, owner_client):
        assert_error(owner_client.get(f"{BASE}/user/packages/npm/app"), 404)

    def test_unknown_routes_answer_in_githubs_shape(self, owner_client):
        assert_error(owner_client.get(f"{BASE}/repos/alice/app"), 404, "Not Found")
        assert_error(owner_client.put(f"{BASE}/user/packages/container/app"), 404)


class TestDeleteAndRestore:
    def test_admin_deletes_and_restores(self, app, api, owner_client, anonymous):
        public("alice/app")
        assert owner_client.delete(f"{BASE}/user/packages/container/app").status_code == 204
        assert_error(owner_client.get(f"{BASE}/user/packages/container/app"), 404)
        assert anonymous.get("/alice/packages/container/app").status_code == 404
        assert api.get(f"/v2/alice/app/manifests/{app}").status_code == 404
        assert owner_client.post(f"{BASE}/user/packages/container/app/restore").status_code == 204
        assert owner_client.get(f"{BASE}/user/packages/container/app").json()["version_count"] == 1

    def test_a_delete_here_is_the_pages_delete_and_restores_there(self, app, alice, owner_client):
        assert owner_client.delete(f"{BASE}/users/alice/packages/container/app").status_code == 204
        assert Package.all_objects.get(name="alice/app").deleted_at is not None
        browser = Client()
        browser.force_login(alice)
        assert "alice/app" in browser.get("/alice/packages").content.decode()
        browser.post("/alice/packages/container/app/-/restore")
        assert owner_client.get(f"{BASE}/user/packages/container/app").status_code == 200

    def test_read_only_token_is_403(self, app, alice, client_for):
        client = client_for(alice, ["read:packages"])
        assert_error(client.delete(f"{BASE}/user/packages/container/app"), 403, "delete:packages")
        assert_error(client.post(f"{BASE}/user/packages/container/app/restore"), 403, "delete:packages")

    def test_a_writer_who_isnt_admin_is_403(self, app, make_user, client_for):
        bob = make_user("bob")
        package_grant(package=Package.objects.get(name="alice/app"), role=PackagePermission.Role.WRITE, user=bob)
        assert_error(client_for(bob).delete(f"{BASE}/users/alice/packages/container/app"), 403, "admin")
        assert Package.objects.filter(name="alice/app").exists()

    def test_an_admin_grantee_may_delete(self, app, make_user, client_for):
        bob = make_user("bob")
        package_grant(package=Package.objects.get(name="alice/app"), role=PackagePermission.Role.ADMIN, user=bob)
        assert client_for(bob).delete(f"{BASE}/users/alice/packages/container/app").status_code == 204

    def test_another_user_gets_404_and_anonymous_401(self, app, make_user, client_for, anonymous):
        assert_error(client_for(make_user("bob")).delete(f"{BASE}/users/alice/packages/container/app"), 404)
        assert_error(anonymous.delete(f"{BASE}/users/alice/packages/container/app"), 401)
        assert_error(anonymous.post(f"{BASE}/users/alice/packages/container/app/restore"), 401)
        assert Package.objects.filter(name="alice/app").exists()

    def test_a_deleted_package_is_404_to_everyone_but_its_admins(self, app, owner_client, make_user, client_for):
        public("alice/app")
        owner_client.delete(f"{BASE}/user/packages/container/app")
        bob = client_for(make_user("bob"))
        assert_error(bob.post(f"{BASE}/users/alice/packages/container/app/restore"), 404)
        assert_error(owner_client.post(f"{BASE}/user/packages/container/nothing/restore"), 404)

    def test_restore_after_the_window_is_404(self, app, owner_client):
        from datetime import timedelta

        from django.utils import timezone

        owner_client.delete(f"{BASE}/user/packages/container/app")
        Package.all_objects.filter(name="alice/app").update(deleted_at=timezone.now() - timedelta(days=31))
        # Past the window the deleted package is gone from the API's view, as gc is about to purge it.
        assert_error(owner_client.post(f"{BASE}/user/packages/container/app/restore"), 404)


class TestOrganizations:
    @pytest.fixture
    def acme(self, api, alice, make_user):
        organization = organization_create(name="acme", owner=alice)
        push_image(api, "1", name="acme/app")
        bob = make_user("bob")
        membership_set(organization=organization, user=bob)
        return bob

    def test_org_packages_list_get_delete_restore(self, acme, owner_client):
        listed = owner_client.get(f"{BASE}/orgs/acme/packages?package_type=container").json()
        assert [p["name"] for p in listed] == ["app"]
        assert listed[0]["owner"]["type"] == "Organization" and listed[0]["owner"]["login"] == "acme"
        assert listed[0]["url"] == "http://testserver/api/v3/orgs/acme/packages/container/app"
        assert owner_client.get(f"{BASE}/orgs/acme/packages/container/app").status_code == 200
        assert owner_client.delete(f"{BASE}/orgs/acme/packages/container/app").status_code == 204
        assert owner_client.post(f"{BASE}/orgs/acme/packages/container/app/restore").status_code == 204

    def test_a_member_without_a_grant_neither_reads_nor_deletes_a_private_package(self, acme, client_for):
        bob = client_for(acme)
        assert bob.get(f"{BASE}/orgs/acme/packages?package_type=container").json() == []
        assert_error(bob.get(f"{BASE}/orgs/acme/packages/container/app"), 404)
        assert_error(bob.delete(f"{BASE}/orgs/acme/packages/container/app"), 404)

    def test_a_member_reading_a_public_package_cannot_delete_it(self, acme, client_for):
        public("acme/app")
        bob = client_for(acme)
        assert bob.get(f"{BASE}/orgs/acme/packages/container/app").status_code == 200
        assert_error(bob.delete(f"{BASE}/orgs/acme/packages/container/app"), 403)
