"""Referrers (OCI 1.1): the config mediaType stands in for a missing artifactType; no name answers 404."""

import json
from urllib.parse import quote

import pytest
from django.test import Client

from accounts.services import token_create, user_create
from registry.models import Manifest, Package
from registry.oci import media_types as mt
from registry.services.trash import package_soft_delete
from tests.helpers import basic_auth
from tests.registry.helpers import (
    descriptor,
    image_config,
    index_bytes,
    manifest_bytes,
    push_blob,
    push_image,
    put_manifest,
    sha256,
)

pytestmark = pytest.mark.django_db

SCOPES = ["read:packages", "write:packages", "delete:packages"]
EMPTY_INDEX = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": []}


def client_for(username: str) -> Client:
    _, token = token_create(user=user_create(username=username), scopes=SCOPES)
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = basic_auth(username, token)
    return client


@pytest.fixture
def alice():
    return client_for("alice")


@pytest.fixture
def bob():
    return client_for("bob")


@pytest.fixture
def subject(alice) -> dict:
    digest, raw = push_image(alice, "1", name="alice/app")
    return descriptor(raw, mt.OCI_MANIFEST)


def referrers(client, name: str, digest: str, query: str = ""):
    return client.get(f"/v2/{name}/referrers/{digest}{query}")


def push_signature_image(client, subject: dict, name: str = "alice/app") -> str:
    """Push an image manifest (OCI image config, no artifactType) whose subject is subject."""
    config = image_config(labels={"kind": "signature"})
    push_blob(client, config, name)
    push_blob(client, b"sig layer", name)
    raw = manifest_bytes(config=descriptor(config, mt.OCI_CONFIG),
                         layers=[descriptor(b"sig layer", "application/octet-stream")], subject=subject)
    assert put_manifest(client, sha256(raw), raw, name=name).status_code == 201
    return sha256(raw)


class TestArtifactType:
    def test_image_manifest_without_artifact_type_is_listed_as_its_config_media_type(self, alice, subject):
        digest = push_signature_image(alice, subject)
        manifests = referrers(alice, "alice/app", subject["digest"]).json()["manifests"]
        assert [(m["digest"], m.get("artifactType")) for m in manifests] == [(digest, mt.OCI_CONFIG)]

    def test_the_filter_matches_the_config_media_type(self, alice, subject):
        digest = push_signature_image(alice, subject)
        response = referrers(alice, "alice/app", subject["digest"], f"?artifactType={quote(mt.OCI_CONFIG)}")
        assert response["OCI-Filters-Applied"] == "artifactType"
        assert [m["digest"] for m in response.json()["manifests"]] == [digest]
        response = referrers(alice, "alice/app", subject["digest"], "?artifactType=application/vnd.other")
        assert response.json()["manifests"] == []

    def test_rows_stored_without_it_are_listed_the_same(self, alice, subject):
        digest = push_signature_image(alice, subject)
        # As an older Berth stored it: no artifact type in the row.
        Manifest.objects.filter(digest=digest).update(artifact_type="")
        response = referrers(alice, "alice/app", subject["digest"], f"?artifactType={quote(mt.OCI_CONFIG)}")
        assert [m["artifactType"] for m in response.json()["manifests"]] == [mt.OCI_CONFIG]

    def test_index_without_artifact_type_has_none(self, alice, subject):
        _, child = push_image(alice, name="alice/app", layers=(b"child",))
        raw = index_bytes([descriptor(child, mt.OCI_MANIFEST)], subject=subject)
        assert put_manifest(alice, sha256(raw), raw, mt.OCI_INDEX, name="alice/app").status_code == 201
        manifests = referrers(alice, "alice/app", subject["digest"]).json()["manifests"]
        assert manifests == [{"mediaType": mt.OCI_INDEX, "digest": sha256(raw), "size": len(raw)}]


class TestNothingToList:
    """A registry that supports referrers MUST NOT answer 404; what can't be read lists nothing, alike."""

    def same(self, first, second):
        assert first.status_code == second.status_code == 200
        assert first.content == second.content
        for header in ("Content-Type", "Content-Length", "OCI-Filters-Applied", "WWW-Authenticate"):
            assert first.get(header) == second.get(header), header
        assert first["Content-Type"] == mt.OCI_INDEX
        assert json.loads(first.content) == EMPTY_INDEX

    @pytest.mark.parametrize("query", ["", "?artifactType=application/vnd.example.sig"])
    def test_missing_and_private_names_answer_the_same_empty_index(self, alice, bob, subject, query):
        push_signature_image(alice, subject)
        digest = subject["digest"]
        private = referrers(bob, "alice/app", digest, query)
        missing = referrers(bob, "alice/missing", digest, query)
        self.same(private, missing)
        self.same(private, referrers(bob, "bob/missing", digest, query))
        self.same(private, referrers(alice, "alice/missing", digest, query))

    def test_a_deleted_package_lists_nothing(self, alice, subject):
        push_signature_image(alice, subject)
        package_soft_delete(package=Package.objects.get(name="alice/app"))
        self.same(referrers(alice, "alice/app", subject["digest"]), referrers(alice, "alice/missing", sha256(b"x")))

    def test_a_bad_digest_is_still_digest_invalid(self, alice, bob, subject):
        for client, name in ((alice, "alice/app"), (bob, "alice/app"), (bob, "alice/missing")):
            response = referrers(client, name, "sha256:nothex")
            assert response.status_code == 400
            assert response.json()["errors"][0]["code"] == "DIGEST_INVALID"

    def test_listing_creates_nothing(self, alice):
        referrers(alice, "alice/missing", sha256(b"x"))
        assert not Package.all_objects.filter(name="alice/missing").exists()
