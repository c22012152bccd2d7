"""The access check only decides: requests that don't start a push create (or revive) no package."""

import uuid

import pytest
from django.test import RequestFactory

from accounts import access
from accounts.models import PackagePermission
from accounts.services import membership_set, organization_create, package_create
from registry.api.actions import required_action
from registry.models import Package
from registry.oci import media_types as mt
from registry.services.trash import package_soft_delete
from tests.accounts.helpers import errors
from tests.helpers import basic_auth
from tests.registry.helpers import index_bytes, push_image, sha256

pytestmark = pytest.mark.django_db

UPLOAD_METHODS = ["GET", "PATCH", "PUT", "DELETE"]


def upload_request(client, method: str, name: str):
    path = f"/v2/{name}/blobs/uploads/{uuid.uuid4()}"
    if method == "PUT":
        path += f"?digest={sha256(b'')}"
    return client.generic(method, path, b"", content_type="application/octet-stream")


def packages() -> list[tuple[str, bool]]:
    return sorted((p.name, p.deleted_at is None) for p in Package.all_objects.all())


@pytest.fixture
def as_alice(alice, client_for):
    return client_for(alice)


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def acme_member(alice, bob, client_for):
    """bob's client; bob is a plain member of acme, which alice owns."""
    membership_set(organization=organization_create(name="acme", owner=alice), user=bob)
    return client_for(bob)


@pytest.mark.parametrize("method", UPLOAD_METHODS)
def test_unknown_upload_under_a_new_name_creates_nothing(as_alice, method):
    response = upload_request(as_alice, method, "alice/new")
    assert response.status_code == 404
    assert errors(response)[0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert packages() == []


@pytest.mark.parametrize("method", UPLOAD_METHODS)
def test_organization_member_creates_nothing_and_gets_no_grant(acme_member, method):
    response = upload_request(acme_member, method, "acme/new")
    assert errors(response)[0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert packages() == []
    assert not PackagePermission.objects.exists()


@pytest.mark.parametrize("method", UPLOAD_METHODS)
def test_a_deleted_package_is_not_revived(as_alice, method):
    push_image(as_alice, "1", name="alice/app")
    package_soft_delete(package=Package.objects.get(name="alice/app"))
    response = upload_request(as_alice, method, "alice/app")
    assert errors(response)[0]["code"] == "BLOB_UPLOAD_UNKNOWN"
    assert packages() == [("alice/app", False)]


def test_reads_and_deletes_of_a_new_name_create_nothing(as_alice):
    for method, path in [("GET", "/v2/alice/new/tags/list"), ("GET", "/v2/alice/new/manifests/1"),
                         ("HEAD", f"/v2/alice/new/blobs/{sha256(b'x')}"),
                         ("DELETE", "/v2/alice/new/manifests/1"), ("DELETE", f"/v2/alice/new/blobs/{sha256(b'x')}")]:
        assert as_alice.generic(method, path).status_code == 404, (method, path)
    assert packages() == []


def test_the_check_itself_returns_no_package_for_a_push_to_a_new_name(alice):
    request = RequestFactory().post("/v2/alice/new/blobs/uploads/")
    request.user = alice
    assert access.check_repository(request, "alice/new", "push") is None
    assert packages() == []


def test_a_manifest_put_to_a_new_name_creates_the_package(acme_member):
    raw = index_bytes([])
    response = acme_member.put("/v2/acme/fresh/manifests/1", raw, content_type=mt.OCI_INDEX)
    assert response.status_code == 201, response.content
    package = Package.objects.get(name="acme/fresh")
    assert package.visibility == "private"
    assert PackagePermission.objects.get(package=package).role == PackagePermission.Role.ADMIN


def test_creating_a_package_someone_created_a_moment_earlier_grants_nothing(alice, bob, acme_member, client_for):
    """Two first pushes race: the one that finds the package made already gets no admin role from it."""
    push_image(client_for(alice), "1", name="acme/tool")
    package = package_create(name="acme/tool", creator=bob)
    assert package == Package.objects.get(name="acme/tool")
    assert not PackagePermission.objects.filter(user=bob).exists()


@pytest.mark.parametrize("route, method, action", [
    ("v2-upload", "GET", "push"),
    ("v2-upload", "DELETE", "push"),
    ("v2-upload-start", "POST", "push"),
    ("v2-manifest", "GET", "pull"),
    ("v2-manifest", "PUT", "push"),
    ("v2-manifest", "DELETE", "delete"),
    ("v2-blob", "HEAD", "pull"),
    ("v2-referrers", "GET", "pull"),
    ("v2-tags", "PATCH", "push"),
])
def test_one_map_gives_the_action(route, method, action):
    assert required_action(route, method) == action


def test_the_challenge_for_refused_credentials_asks_what_the_check_needs(alice, anonymous):
    """An upload's GET is part of a push: the challenge after bad credentials says so too."""
    response = anonymous.get(f"/v2/alice/app/blobs/uploads/{uuid.uuid4()}",
                             HTTP_AUTHORIZATION=basic_auth("alice", "berth_not_a_token"))
    assert response.status_code == 401
    assert 'scope="repository:alice/app:pull,push"' in response["WWW-Authenticate"]
