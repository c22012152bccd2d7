"""The settings page and the other writes: visibility, access, deleting and restoring."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from accounts.models import PackagePermission
from accounts.services import organization_create, package_grant, team_create
from registry.models import Manifest, Package
from tests.packages_ui.helpers import push_labelled, push_multiarch
from tests.registry.helpers import push_artifact, request, sha256, start_upload, tags

pytestmark = pytest.mark.django_db

APP = "/alice/packages/container/app"
SETTINGS = f"{APP}/-/settings"


def messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def app(api):
    push_labelled(api)
    return Package.objects.get(name="alice/app")


class TestWhoMayManage:
    def test_admin_sees_settings(self, app, owner_browser):
        page = owner_browser.get(SETTINGS).content.decode()
        assert "Type <code>alice/app</code> to confirm" in page
        assert "Delete alice/app" in page

    def test_anonymous_is_sent_to_log_in_for_a_public_package_and_gets_404_for_a_private_one(
            self, app, anonymous):
        assert anonymous.get(SETTINGS).status_code == 404
        assert anonymous.post(f"{SETTINGS}/visibility", {"visibility": "public", "confirm": "alice/app"}
                              ).status_code == 404
        app.visibility = "public"
        app.save()
        response = anonymous.get(SETTINGS)
        assert response.status_code == 302 and response["Location"].startswith("/login?next=")

    @pytest.mark.parametrize("role", ["read", "write"])
    def test_readers_and_writers_are_refused(self, app, make_user, browser_for, role):
        bob = make_user("bob")
        package_grant(package=app, role=role, user=bob)
        client = browser_for(bob)
        assert client.get(SETTINGS).status_code == 403
        assert client.post(f"{SETTINGS}/visibility", {"visibility": "public", "confirm": "alice/app"}
                           ).status_code == 403
        assert client.post(f"{SETTINGS}/delete", {"confirm": "alice/app"}).status_code == 403
        digest = app.manifests.get().digest
        assert client.post(f"{APP}/-/versions/{digest}/delete").status_code == 403
        app.refresh_from_db()
        assert app.visibility == "private" and app.deleted_at is None
        assert "Delete" not in client.get(f"{APP}/-/versions").content.decode()

    def test_a_stranger_gets_404(self, app, make_user, browser_for):
        client = browser_for(make_user("mallory"))
        assert client.get(SETTINGS).status_code == 404
        assert client.post(f"{SETTINGS}/delete", {"confirm": "alice/app"}).status_code == 404

    def test_admin_grantee_may_manage(self, app, make_user, browser_for):
        bob = make_user("bob")
        package_grant(package=app, role="admin", user=bob)
        response = browser_for(bob).post(f"{SETTINGS}/visibility", {"visibility": "internal",
                                                                     "confirm": "alice/app"})
        assert response.status_code == 302
        app.refresh_from_db()
        assert app.visibility == "internal"

    def test_settings_need_post(self, app, owner_browser):
        assert owner_browser.get(f"{SETTINGS}/delete").status_code == 405


class TestVisibility:
    def test_change_needs_the_package_name(self, app, owner_browser):
        response = owner_browser.post(f"{SETTINGS}/visibility", {"visibility": "public", "confirm": "app"},
                                      follow=True)
        assert "type the package's full name, alice/app, to confirm" in " ".join(messages(response))
        app.refresh_from_db()
        assert app.visibility == "private"
        response = owner_browser.post(f"{SETTINGS}/visibility", {"visibility": "public", "confirm": "alice/app"},
                                      follow=True)
        assert "alice/app is now public." in messages(response)
        app.refresh_from_db()
        assert app.visibility == "public"

    def test_unknown_visibility_is_refused(self, app, owner_browser):
        owner_browser.post(f"{SETTINGS}/visibility", {"visibility": "secret", "confirm": "alice/app"})
        app.refresh_from_db()
        assert app.visibility == "private"


class TestAccess:
    def test_add_change_and_remove_a_user(self, app, make_user, owner_browser):
        bob = make_user("bob")
        response = owner_browser.post(f"{SETTINGS}/grant", {"grantee": "bob", "role": "read"}, follow=True)
        assert "bob now has read access to alice/app." in messages(response)
        assert PackagePermission.objects.get(package=app, user=bob).role == "read"
        owner_browser.post(f"{SETTINGS}/grant", {"grantee": "bob", "role": "write"})
        permission = PackagePermission.objects.get(package=app, user=bob)
        assert permission.role == "write"
        page = owner_browser.get(SETTINGS).content.decode()
        assert '<option value="write" selected>' in page
        owner_browser.post(f"{SETTINGS}/revoke", {"permission": permission.pk})
        assert not PackagePermission.objects.filter(package=app).exists()

    def test_unknown_user_and_role_are_explained(self, app, owner_browser, make_user):
        response = owner_browser.post(f"{SETTINGS}/grant", {"grantee": "nobody", "role": "read"}, follow=True)
        assert "There is no user called nobody." in messages(response)
        make_user("bob")
        response = owner_browser.post(f"{SETTINGS}/grant", {"grantee": "bob", "role": "owner"}, follow=True)
        assert "Choose read, write or admin." in messages(response)
        assert not PackagePermission.objects.exists()

    def test_teams_of_the_owning_organization(self, api, make_user, browser_for):
        bob = make_user("bob")
        org = organization_create(name="acme", owner=bob)
        team_create(organization=org, name="devs")
        other = organization_create(name="other", owner=bob)
        team_create(organization=other, name="devs")
        package = Package.objects.create(name="acme/app", namespace="acme")
        client = browser_for(bob)
        client.post("/acme/packages/container/app/-/settings/grant", {"grantee": "acme/devs", "role": "admin"})
        assert PackagePermission.objects.get(package=package).team.organization == org
        response = client.post("/acme/packages/container/app/-/settings/grant",
                               {"grantee": "other/devs", "role": "read"}, follow=True)
        assert "Only teams of acme can be given access to acme/app." in messages(response)
        assert "acme/devs" in client.get("/acme/packages/container/app/-/settings").content.decode()


class TestDeleteVersions:
    def test_deleted_version_vanishes_and_can_be_restored_with_its_tags(self, api, owner_browser):
        old = push_labelled(api, "v1", layer=b"one")
        push_labelled(api, "latest", layer=b"two")
        response = owner_browser.post(f"{APP}/-/versions/{old}/delete", follow=True)
        assert "Deleted 1 version of alice/app." in " ".join(messages(response))
        assert api.get(f"/v2/alice/app/manifests/{old}").status_code == 404
        assert api.get("/v2/alice/app/manifests/v1").status_code == 404
        assert tags(api, "alice/app") == ["latest"]
        assert old[:19] not in owner_browser.get(f"{APP}/-/versions").content.decode()
        assert owner_browser.get(f"{APP}/-/versions/{old}").status_code == 404
        page = owner_browser.get(SETTINGS).content.decode()
        assert "Deleted versions" in page and old[:19] in page
        owner_browser.post(f"{APP}/-/versions/{old}/restore")
        assert api.get("/v2/alice/app/manifests/v1").status_code == 200
        assert tags(api, "alice/app") == ["latest", "v1"]

    def test_api_delete_of_a_deleted_version_is_404_and_keeps_it_restorable(self, api, owner_browser):
        digest = push_labelled(api)
        owner_browser.post(f"{APP}/-/versions/{digest}/delete")
        assert api.delete(f"/v2/alice/app/manifests/{digest}").status_code == 404
        owner_browser.post(f"{APP}/-/versions/{digest}/restore")
        assert api.get("/v2/alice/app/manifests/latest").status_code == 200

    def test_restore_leaves_a_tag_that_moved_on(self, api, owner_browser):
        old = push_labelled(api, "latest", layer=b"one")
        owner_browser.post(f"{APP}/-/versions/{old}/delete")
        new = push_labelled(api, "latest", layer=b"two")
        owner_browser.post(f"{APP}/-/versions/{old}/restore")
        assert api.get(f"/v2/alice/app/manifests/{old}").status_code == 200
        assert Manifest.objects.get(tags__name="latest").digest == new

    def test_pushing_a_deleted_version_again_brings_it_back(self, api, owner_browser):
        digest = push_labelled(api, "v1")
        owner_browser.post(f"{APP}/-/versions/{digest}/delete")
        assert api.get(f"/v2/alice/app/manifests/{digest}").status_code == 404
        assert push_labelled(api, "v2") == digest
        assert api.get(f"/v2/alice/app/manifests/{digest}").status_code == 200
        assert tags(api, "alice/app") == ["v2"]
        assert Manifest.objects.get(digest=digest).deleted_at is None

    def test_deleting_an_index_takes_its_platforms_and_referrers(self, api, owner_browser):
        index, children = push_multiarch(api)
        raw = bytes(Manifest.objects.get(digest=index).raw)
        signature, _ = push_artifact(api, {"mediaType": "application/vnd.oci.image.index.v1+json",
                                           "digest": index, "size": len(raw)}, "application/example",
                                     name="alice/multi")
        base = "/alice/packages/container/multi/-/versions"
        assert owner_browser.post(f"{base}/{children[0]}/delete", follow=True).status_code == 200
        assert Manifest.objects.get(digest=children[0]).deleted_at is None
        owner_browser.post(f"{base}/{index}/delete")
        for digest in [index, *children, signature]:
            assert api.get(f"/v2/alice/multi/manifests/{digest}").status_code == 404
        assert api.get(f"/v2/alice/multi/referrers/{index}").json()["manifests"] == []
        owner_browser.post(f"{base}/{index}/restore")
        for digest in [index, *children, signature]:
            assert api.get(f"/v2/alice/multi/manifests/{digest}").status_code == 200

    def test_restore_is_refused_after_30_days(self, api, owner_browser):
        digest = push_labelled(api)
        owner_browser.post(f"{APP}/-/versions/{digest}/delete")
        Manifest.objects.filter(digest=digest).update(deleted_at=timezone.now() - timedelta(days=31))
        response = owner_browser.post(f"{APP}/-/versions/{digest}/restore", follow=True)
        assert "more than 30 days ago" in " ".join(messages(response))
        assert Manifest.objects.get(digest=digest).deleted_at is not None


class TestDeletePackages:
    def test_delete_needs_the_name_then_hides_the_package_everywhere(self, app, api, owner_browser, anonymous):
        owner_browser.post(f"{SETTINGS}/delete", {"confirm": "wrong"})
        app.refresh_from_db()
        assert app.deleted_at is None
        app.visibility = "public"
        app.save()
        response = owner_browser.post(f"{SETTINGS}/delete", {"confirm": "alice/app"}, follow=True)
        assert response.request["PATH_INFO"] == "/alice/packages"
        page = response.content.decode()
        assert "Recently deleted" in page and "Restore alice/app" in page
        assert 'href="/alice/packages/container/app"' not in page
        assert api.get("/v2/alice/app/manifests/latest").status_code == 404
        assert api.get("/v2/alice/app/tags/list").status_code == 404
        assert "alice/app" not in api.get("/v2/_catalog").json()["repositories"]
        # Signed out, the deleted public package answers exactly like one that never existed.
        gone, missing = (anonymous.get(f"/v2/alice/{n}/manifests/latest") for n in ("app", "never-pushed"))
        assert (gone.status_code, gone.json()) == (missing.status_code, missing.json())
        token = anonymous.get("/token?service=x&scope=repository:alice/app:pull").json()["token"]
        assert jwt.decode(token, options={"verify_signature": False})["access"] == []
        assert owner_browser.get(APP).status_code == 404
        assert "alice/app" not in anonymous.get("/packages").content.decode()
        assert "Recently deleted" not in anonymous.get("/alice/packages").content.decode()

    def test_restore_brings_back_every_version(self, app, api, owner_browser):
        owner_browser.post(f"{SETTINGS}/delete", {"confirm": "alice/app"})
        response = owner_browser.post(f"{APP}/-/restore", follow=True)
        assert "alice/app was restored." in messages(response)
        assert api.get("/v2/alice/app/manifests/latest").status_code == 200

    def test_only_admins_restore(self, app, owner_browser, make_user, browser_for):
        owner_browser.post(f"{SETTINGS}/delete", {"confirm": "alice/app"})
        bob = make_user("bob")
        package_grant(package=app, role="write", user=bob)
        assert browser_for(bob).post(f"{APP}/-/restore").status_code == 404
        app.refresh_from_db()
        assert app.deleted_at is not None

    def test_pushing_to_a_deleted_package_starts_it_afresh(self, app, api, owner_browser):
        old = app.manifests.get().digest
        owner_browser.post(f"{SETTINGS}/delete", {"confirm": "alice/app"})
        new = push_labelled(api, "v2", layer=b"fresh")
        assert api.get(f"/v2/alice/app/manifests/{old}").status_code == 404
        assert tags(api, "alice/app") == ["v2"]
        page = owner_browser.get(SETTINGS).content.decode()
        assert old[:19] in page  # restorable on its own
        owner_browser.post(f"{APP}/-/versions/{old}/restore")
        assert tags(api, "alice/app") == ["latest", "v2"]
        assert new != old

    def test_a_chunked_upload_to_a_deleted_package_goes_through(self, app, api, owner_browser):
        owner_browser.post(f"{SETTINGS}/delete", {"confirm": "alice/app"})
        assert api.head(f"/v2/alice/app/blobs/{sha256(b'layer')}").status_code == 404
        location = start_upload(api, "alice/app")
        data = b"a chunk pushed after the package was deleted"
        response = request(api, "PATCH", location, data, headers={"Content-Range": f"0-{len(data) - 1}"})
        assert response.status_code == 202, response.content
        response = request(api, "PUT", f"{response['Location']}&digest={sha256(data)}"
                           if "?" in response["Location"] else f"{response['Location']}?digest={sha256(data)}")
        assert response.status_code == 201, response.content
        assert api.get("/v2/alice/app/manifests/latest").status_code == 404
