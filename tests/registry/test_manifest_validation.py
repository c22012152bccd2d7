"""Manifests refused: missing blobs, malformed or oversized documents, invalid names and tags."""

import pytest

from registry.models import Manifest
from registry.oci import media_types as mt
from tests.registry.helpers import (
    OCI_LAYER,
    REPO,
    body,
    descriptor,
    error,
    image_config,
    manifest_bytes,
    push_blob,
    push_image,
    put_manifest,
    sha256,
    tags,
)

pytestmark = pytest.mark.django_db


class TestInvalid:
    def test_missing_blob(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG),
                             layers=[descriptor(b"never pushed", OCI_LAYER)])
        first = error(put_manifest(api, "v1", raw), 400, "MANIFEST_BLOB_UNKNOWN")
        assert first["detail"] == {"digest": sha256(b"never pushed")}
        assert "layers[0]" in first["message"]
        error(api.get(f"/v2/{REPO}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
        assert not Manifest.objects.exists()

    def test_missing_config(self, api):
        push_blob(api, b"layer")
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[descriptor(b"layer", OCI_LAYER)])
        first = error(put_manifest(api, "v1", raw), 400, "MANIFEST_BLOB_UNKNOWN")
        assert "config" in first["message"]

    def test_blob_in_another_repository_does_not_count(self, api):
        push_image(api, name="alice/other")
        push_blob(api, b"x")
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        error(put_manifest(api, "v1", raw), 400, "MANIFEST_BLOB_UNKNOWN")

    def test_descriptor_size_must_match_the_blob(self, api):
        push_blob(api, image_config())
        config = descriptor(image_config(), mt.OCI_CONFIG)
        config["size"] += 1
        first = error(put_manifest(api, "v1", manifest_bytes(config=config, layers=[])), 400, "MANIFEST_INVALID")
        assert "bytes" in first["message"]

    @pytest.mark.parametrize(("raw", "words"), [
        (b"blablabla", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"schemaVersion": 3, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {}, '
         b'"layers": []}', "schemaVersion"),
        (b'{"mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {}, "layers": []}',
         "schemaVersion"),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}',
         "config"),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": '
         b'{"mediaType": "a/b", "digest": "sha256:00", "size": 2}, "layers": []}', "config.digest"),
        (b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}', "manifests"),
    ])
    def test_malformed_manifest_is_manifest_invalid(self, api, raw, words):
        content_type = mt.OCI_INDEX if b"index" in raw else mt.OCI_MANIFEST
        first = error(put_manifest(api, "v1", raw, content_type), 400, "MANIFEST_INVALID")
        assert words in first["message"]
        assert not Manifest.objects.exists()

    def test_content_type_must_match_media_type(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        error(put_manifest(api, "v1", raw, mt.DOCKER_MANIFEST), 400, "MANIFEST_INVALID")

    def test_digest_in_url_must_match_the_body(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        first = error(put_manifest(api, sha256(b"other"), raw), 400, "DIGEST_INVALID")
        assert first["detail"] == {"expected": sha256(b"other"), "actual": sha256(raw)}

    def test_conformance_error_body_for_a_garbage_reference(self, api):
        """Pull suite "400 response body should contain OCI-conforming JSON message"."""
        push_image(api)
        response = put_manifest(api, "sha256:totallywrong", b"blablabla")
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] in {"DIGEST_INVALID", "MANIFEST_INVALID"}

    def test_oversized_manifest_is_413_size_invalid(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[],
                             annotations={"padding": "x" * (4 * 1024 * 1024)})
        first = error(put_manifest(api, "big", raw), 413, "SIZE_INVALID")
        assert "4 MiB" in first["message"]
        assert not Manifest.objects.exists()

    def test_manifest_just_under_the_limit_is_accepted(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[],
                             annotations={"padding": ""})
        raw = raw.replace(b'"padding": ""', b'"padding": "' + b"x" * (4 * 1024 * 1024 - len(raw)) + b'"')
        assert len(raw) == 4 * 1024 * 1024
        assert put_manifest(api, "big", raw).status_code == 201


class TestNamesAndTags:
    @pytest.mark.parametrize("name", ["alice/a/b/c", "alice/image-name/release", "alice/a.b_c__d--e"])
    def test_nested_and_separated_names(self, api, name):
        digest, raw = push_image(api, "1.14.1", name=name)
        assert body(api.get(f"/v2/{name}/manifests/1.14.1")) == raw
        assert tags(api, name) == ["1.14.1"]

    @pytest.mark.parametrize("name", [
        "alice/App",  # uppercase
        "alice//app",  # empty component
        "alice/app-",  # separator at the end
        "alice/-app",
        "alice/a..b",
        "alice/" + "a" * 250,  # longer than 255
    ])
    def test_invalid_names(self, api, name):
        first = error(api.get(f"/v2/{name}/tags/list"), 400, "NAME_INVALID")
        assert first["detail"] == {"name": name}
        error(api.post(f"/v2/{name}/blobs/uploads/"), 400, "NAME_INVALID")

    def test_name_without_owner(self, api):
        first = error(api.post("/v2/app/blobs/uploads/"), 400, "NAME_INVALID")
        assert "OWNER/app" in first["message"]

    @pytest.mark.parametrize("tag", ["-dash", ".dot", "a" * 129, "t+plus", "t%40at"])
    def test_invalid_tag_on_put(self, api, tag):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        first = error(put_manifest(api, tag, raw), 400, "MANIFEST_INVALID")
        assert "tag" in first["message"]
        assert not Manifest.objects.exists()

    @pytest.mark.parametrize("tag", ["_under", "a" * 128, "v1.0-RC_2"])
    def test_valid_tags(self, api, tag):
        push_image(api, tag)
        assert tags(api) == [tag]

    @pytest.mark.parametrize("method", ["get", "head"])
    def test_reading_an_invalid_tag_is_manifest_unknown(self, api, method):
        """The conformance suite reads the tag ".INVALID_MANIFEST_NAME" and expects 404."""
        push_image(api, "v1")
        response = getattr(api, method)(f"/v2/{REPO}/manifests/.INVALID_MANIFEST_NAME")
        assert response.status_code == 404
        if method == "get":
            error(response, 404, "MANIFEST_UNKNOWN")

    def test_unknown_repository(self, api):
        error(api.get("/v2/alice/nothing/manifests/latest"), 404, "NAME_UNKNOWN")
