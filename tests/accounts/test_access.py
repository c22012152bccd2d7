"""Who may pull, push and delete: visibility, roles, organizations, teams, scopes, no existence leak."""

import pytest

from accounts import access
from accounts.models import PackagePermission
from accounts.services import (
    membership_set,
    organization_create,
    package_grant,
    package_visibility_set,
    team_create,
    team_member_add,
)
from registry.models import Package
from tests.accounts.helpers import errors
from tests.registry.helpers import push_image, sha256

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def as_alice(alice, client_for):
    return client_for(alice)


@pytest.fixture
def as_bob(bob, client_for):
    return client_for(bob)


@pytest.fixture
def app(as_alice):
    """alice/app, private, with tag 1."""
    digest, _ = push_image(as_alice, "1", name="alice/app", layers=(b"app layer",))
    return Package.objects.get(name="alice/app"), digest


def set_visibility(name: str, visibility: str) -> None:
    package_visibility_set(package=Package.objects.get(name=name), visibility=visibility)


def pull_status(client, name: str, reference: str = "1") -> int:
    return client.get(f"/v2/{name}/manifests/{reference}").status_code


def push_status(client, name: str) -> int:
    return client.post(f"/v2/{name}/blobs/uploads/").status_code


def test_first_push_creates_a_private_package(app):
    package, _ = app
    assert package.visibility == "private"


@pytest.mark.parametrize("visibility, anonymous_status, other_user_status", [
    ("private", 401, 404),
    ("internal", 401, 200),
    ("public", 200, 200),
])
def test_visibility_decides_who_pulls(app, anonymous, as_bob, visibility, anonymous_status, other_user_status):
    set_visibility("alice/app", visibility)
    assert pull_status(anonymous, "alice/app") == anonymous_status
    assert pull_status(as_bob, "alice/app") == other_user_status


@pytest.mark.parametrize("visibility", ["private", "internal", "public"])
def test_only_writers_push_whatever_the_visibility(app, anonymous, as_bob, as_alice, visibility):
    set_visibility("alice/app", visibility)
    assert push_status(anonymous, "alice/app") == 401
    assert push_status(as_bob, "alice/app") == 403
    assert push_status(as_alice, "alice/app") == 202


def test_readable_package_denial_says_what_is_missing(app, as_bob):
    set_visibility("alice/app", "public")
    response = as_bob.post("/v2/alice/app/blobs/uploads/")
    assert errors(response)[0]["code"] == "DENIED"
    assert "write" in errors(response)[0]["message"]


def test_nobody_creates_packages_in_someone_elses_namespace(alice, as_bob):
    response = as_bob.post("/v2/alice/new/blobs/uploads/")
    assert response.status_code == 403
    assert errors(response)[0]["code"] == "DENIED"
    assert not Package.objects.filter(name="alice/new").exists()


def test_user_grants(app, bob, as_bob):
    package, _ = app
    package_grant(package=package, user=bob, role="read")
    assert pull_status(as_bob, "alice/app") == 200
    assert push_status(as_bob, "alice/app") == 403
    package_grant(package=package, user=bob, role="write")
    assert push_status(as_bob, "alice/app") == 202
    assert as_bob.delete("/v2/alice/app/manifests/1").status_code == 403
    package_grant(package=package, user=bob, role="admin")
    assert as_bob.delete("/v2/alice/app/manifests/1").status_code == 202


def test_delete_needs_admin_and_the_delete_scope(app, alice, client_for):
    _, digest = app
    writer = client_for(alice, ["write:packages"])
    response = writer.delete(f"/v2/alice/app/manifests/{digest}")
    assert response.status_code == 403
    assert "delete:packages" in errors(response)[0]["message"]
    deleter = client_for(alice, ["read:packages", "delete:packages"])
    assert deleter.delete(f"/v2/alice/app/manifests/{digest}").status_code == 202


def test_read_token_cannot_push_even_to_its_own_namespace(alice, client_for):
    reader = client_for(alice, ["read:packages"])
    response = reader.post("/v2/alice/app/blobs/uploads/")
    assert response.status_code == 403
    assert "write:packages" in errors(response)[0]["message"]


def test_delete_scope_alone_does_not_read(app, alice, client_for):
    deleter = client_for(alice, ["delete:packages"])
    assert pull_status(deleter, "alice/app") == 403


class TestOrganizations:
    @pytest.fixture
    def acme(self, alice, bob):
        organization = organization_create(name="acme", owner=alice)
        membership_set(organization=organization, user=bob)
        return organization

    def test_members_push_new_packages_and_administer_them(self, acme, as_bob, as_alice):
        push_image(as_bob, "1", name="acme/tool")
        package = Package.objects.get(name="acme/tool")
        assert package.visibility == "private"
        assert PackagePermission.objects.get(package=package).user.username == "bob"
        assert as_bob.delete("/v2/acme/tool/manifests/1").status_code == 202
        # Organization owners administer every package of it.
        push_image(as_bob, "2", name="acme/tool")
        assert pull_status(as_alice, "acme/tool", "2") == 200
        assert as_alice.delete("/v2/acme/tool/manifests/2").status_code == 202

    def test_non_members_cannot_push(self, acme, make_user, client_for):
        outsider = client_for(make_user("carol"))
        assert push_status(outsider, "acme/tool") == 403
        assert not Package.objects.filter(name="acme/tool").exists()

    def test_members_need_a_grant_for_packages_they_did_not_create(self, acme, as_alice, as_bob):
        push_image(as_alice, "1", name="acme/secret")
        assert pull_status(as_bob, "acme/secret") == 404
        assert push_status(as_bob, "acme/secret") == 403

    def test_team_with_read_pulls_but_does_not_push(self, acme, alice, bob, as_alice, as_bob):
        push_image(as_alice, "1", name="acme/secret")
        readers = team_create(organization=acme, name="readers")
        team_member_add(team=readers, user=bob)
        package_grant(package=Package.objects.get(name="acme/secret"), team=readers, role="read")
        assert pull_status(as_bob, "acme/secret") == 200
        assert push_status(as_bob, "acme/secret") == 403

    def test_team_with_write_pushes(self, acme, bob, as_alice, as_bob):
        push_image(as_alice, "1", name="acme/secret")
        writers = team_create(organization=acme, name="writers")
        team_member_add(team=writers, user=bob)
        package_grant(package=Package.objects.get(name="acme/secret"), team=writers, role="write")
        push_image(as_bob, "2", name="acme/secret")

    def test_only_organization_members_join_its_teams(self, acme, make_user):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            team_member_add(team=team_create(organization=acme, name="t"), user=make_user("carol"))


class TestNoExistenceLeak:
    """A private package looks exactly like a missing one to whoever can't read it."""

    def same(self, first, second):
        assert first.status_code == second.status_code
        assert first.content.replace(b"secret", b"NAME") == second.content.replace(b"missing", b"NAME")
        assert first.get("WWW-Authenticate", "").replace("secret", "NAME") == \
            second.get("WWW-Authenticate", "").replace("missing", "NAME")

    @pytest.fixture
    def secret(self, as_alice):
        digest, _ = push_image(as_alice, "1", name="alice/secret", layers=(b"secret layer",))
        return digest

    @pytest.mark.parametrize("path", [
        "/v2/alice/{}/manifests/1",
        "/v2/alice/{}/tags/list",
        "/v2/alice/{}/blobs/" + sha256(b"secret layer"),
        "/v2/alice/{}/referrers/" + sha256(b"x"),
    ])
    @pytest.mark.parametrize("who", ["anonymous", "as_bob"])
    def test_reads(self, secret, request, who, path):
        client = request.getfixturevalue(who)
        self.same(client.get(path.format("secret")), client.get(path.format("missing")))
        self.same(client.head(path.format("secret")), client.head(path.format("missing")))

    @pytest.mark.parametrize("who", ["anonymous", "as_bob"])
    def test_writes(self, secret, request, who):
        client = request.getfixturevalue(who)
        self.same(client.post("/v2/alice/secret/blobs/uploads/"), client.post("/v2/alice/missing/blobs/uploads/"))
        self.same(client.delete("/v2/alice/secret/manifests/1"), client.delete("/v2/alice/missing/manifests/1"))
        self.same(client.put("/v2/alice/secret/manifests/2", b"{}", content_type="application/json"),
                  client.put("/v2/alice/missing/manifests/2", b"{}", content_type="application/json"))

    def test_missing_and_private_are_name_unknown_to_signed_in_readers(self, secret, as_bob):
        response = as_bob.get("/v2/alice/secret/manifests/1")
        assert errors(response)[0]["code"] == "NAME_UNKNOWN"

    def test_catalog_lists_only_readable_packages(self, secret, as_alice, as_bob, bob, anonymous):
        push_image(as_alice, "1", name="alice/open")
        push_image(as_alice, "1", name="alice/inside")
        set_visibility("alice/open", "public")
        set_visibility("alice/inside", "internal")
        push_image(as_bob, "1", name="bob/own")
        assert as_alice.get("/v2/_catalog").json()["repositories"] == [
            "alice/inside", "alice/open", "alice/secret"]
        assert as_bob.get("/v2/_catalog").json()["repositories"] == ["alice/inside", "alice/open", "bob/own"]
        from tests.accounts.helpers import get_token

        token = get_token(anonymous, "registry:catalog:*").json()["token"]
        assert anonymous.get("/v2/_catalog", HTTP_AUTHORIZATION=f"Bearer {token}").json()["repositories"] == [
            "alice/open"]

    def test_mount_from_an_unreadable_package_does_not_mount(self, secret, as_bob):
        layer = sha256(b"secret layer")
        response = as_bob.post(f"/v2/bob/mine/blobs/uploads/?mount={layer}&from=alice/secret")
        assert response.status_code == 202  # a plain upload session instead of a mount


def test_can_functions_agree_with_the_api(app, rf, alice, bob):
    request = rf.get("/")
    request.user = alice
    assert access.can_read(request, "alice/app") and access.allows(request, "alice/app", "push")
    assert access.allows(request, "alice/app", "delete") and access.can_admin(request, "alice/app")
    request.user = bob
    assert not access.can_read(request, "alice/app") and not access.allows(request, "alice/app", "push")
    assert not access.can_admin(request, "alice/app")
    assert access.allows(request, "bob/anything", "push")
