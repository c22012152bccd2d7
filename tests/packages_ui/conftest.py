"""Fixtures for the package pages: people, signed-in browsers (test clients) and pushed images."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.services import user_create
from registry.oci import media_types as mt
from tests.registry.helpers import OWNER, image_config, index_bytes, push_image, put_manifest, sha256

DESCRIPTION = "org.opencontainers.image.description"
LICENSES = "org.opencontainers.image.licenses"
SOURCE = "org.opencontainers.image.source"
HOST = "registry.example.test"


@pytest.fixture
def alice(api):
    """OWNER, who owns alice/...; `api` pushes as her."""
    return get_user_model().objects.get(username=OWNER)


@pytest.fixture
def make_user(db):
    def make(username: str):
        return user_create(username=username, password="correct horse battery staple")
    return make


@pytest.fixture
def browser_for(db):
    """Return a test client signed in as user (None: signed out), sending HOST as its Host."""
    def make(user=None) -> Client:
        client = Client(HTTP_HOST=HOST)
        if user is not None:
            client.force_login(user)
        return client
    return make


@pytest.fixture
def owner_browser(alice, browser_for) -> Client:
    return browser_for(alice)


@pytest.fixture
def anonymous(browser_for) -> Client:
    return browser_for()


def push_labelled(api, reference: str = "latest", *, name: str = f"{OWNER}/app", labels=None,
                  architecture: str = "amd64", layer: bytes = b"layer", **extra) -> str:
    """Push an image whose config carries labels; return its digest."""
    digest, _ = push_image(api, reference, name=name, config=image_config(architecture, labels or {}),
                           layers=(layer,), **extra)
    return digest


def push_multiarch(api, reference: str = "latest", *, name: str = f"{OWNER}/multi", annotations=None,
                   child_labels=None) -> tuple[str, list[str]]:
    """Push an amd64 and an arm64/v8 image by digest, then an index over them; return the digests."""
    children = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        digest, raw = push_image(api, None, name=name, config=image_config(arch, child_labels or {}),
                                 layers=(f"layer for {arch}".encode(),))
        platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        children.append({"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": len(raw), "platform": platform})
    extra = {"annotations": annotations} if annotations else {}
    raw = index_bytes(children, **extra)
    response = put_manifest(api, reference, raw, mt.OCI_INDEX, name)
    assert response.status_code == 201, response.content
    return sha256(raw), [c["digest"] for c in children]
