"""A person who administers a package connects it by pushing a version labelled with the owner's repository URL."""

import pytest
from django.test import Client

from accounts.services import package_grant, token_create, user_create
from registry.models import Package
from sources.models import Provenance
from tests.helpers import basic_auth
from tests.packages_ui.helpers import push_multiarch
from tests.registry.helpers import image_config, push_image
from tests.sources.provenance_helpers import URL, image, job_for, put, register

SOURCE = "org.opencontainers.image.source"


def app() -> Package:
    return Package.objects.get(name="alice/app")


def push_labelled(client, url: str, reference: str = "v1", layer: bytes = b"layer") -> None:
    push_image(client, reference, name="alice/app", config=image_config(labels={SOURCE: url}), layers=(layer,))


def client_of(user) -> Client:
    _, token = token_create(user=user, scopes=["read:packages", "write:packages", "delete:packages"])
    return Client(HTTP_AUTHORIZATION=basic_auth(user.username, token))


def test_the_owners_push_of_a_labelled_image_connects_the_package(api):
    repository = register()
    push_labelled(api, URL)
    assert app().source_repository == repository
    assert not Provenance.objects.exists()  # a person's push connects, but records no CI provenance


@pytest.mark.parametrize("written", [f"{URL}/", f"{URL}.git", "https://GitHub.com/Alice/App"])
def test_the_label_is_compared_as_sources_normalises_urls(api, written):
    repository = register()
    push_labelled(api, written)
    assert app().source_repository == repository


def test_a_manifest_annotation_connects_too(api):
    repository = register()
    push_image(api, "v1", name="alice/app", annotations={SOURCE: URL})
    assert app().source_repository == repository


def test_an_index_annotation_connects_a_multi_arch_package(api):
    repository = register(url="https://github.com/alice/multi")
    push_multiarch(api, name="alice/multi", annotations={SOURCE: "https://github.com/alice/multi"})
    assert Package.objects.get(name="alice/multi").source_repository == repository


def test_an_unregistered_url_connects_nothing(api):
    register()
    push_labelled(api, "https://github.com/alice/elsewhere")
    assert app().source_repository is None


def test_another_owners_repository_is_never_connected(api):
    user_create(username="carol")
    register(namespace="carol", url="https://github.com/carol/app")
    push_labelled(api, "https://github.com/carol/app")
    assert app().source_repository is None


def test_a_writer_who_does_not_administer_the_package_does_not_connect_it(api):
    register()
    push_image(api, "v0", name="alice/app")
    bob = user_create(username="bob")
    package_grant(package=app(), role="write", user=bob)
    push_labelled(client_of(bob), URL, layer=b"bob's layer")
    assert app().source_repository is None


def test_an_admin_grantee_connects_it(api):
    repository = register()
    push_image(api, "v0", name="alice/app")
    bob = user_create(username="bob")
    package_grant(package=app(), role="admin", user=bob)
    push_labelled(client_of(bob), URL, layer=b"bob's layer")
    assert app().source_repository == repository


def test_a_connected_package_stays_with_its_repository(api):
    first = register()
    register(url="https://github.com/alice/other")
    push_labelled(api, URL)
    push_labelled(api, "https://github.com/alice/other", "v2", layer=b"other layer")
    assert app().source_repository == first


def test_a_ci_jobs_push_does_not_connect_from_the_label(api):
    other = register(url="https://github.com/alice/other")
    repository = register()
    raw = image(api, labels={SOURCE: other.url})
    put(raw, job=job_for(repository))
    assert app().source_repository is None
