"""Manifests: every supported type pushed, pulled, negotiated, validated and deleted."""

import json

import pytest

from registry.models import Manifest, Package
from registry.oci import media_types as mt
from tests.registry.helpers import (
    DOCKER_LAYER,
    EMPTY_JSON,
    OCI_LAYER,
    REPO,
    body,
    descriptor,
    error,
    image_config,
    index_bytes,
    manifest_bytes,
    push_artifact,
    push_blob,
    push_image,
    put_manifest,
    sha256,
    tags,
)

pytestmark = pytest.mark.django_db


def child(raw: bytes, media_type: str = mt.OCI_MANIFEST, arch: str = "amd64") -> dict:
    return descriptor(raw, media_type, platform={"os": "linux", "architecture": arch})


class TestOCIImage:
    def test_put_answers_201_with_location_and_digest(self, api):
        push_blob(api, image_config())
        push_blob(api, b"layer")
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG),
                             layers=[descriptor(b"layer", OCI_LAYER)])
        response = put_manifest(api, "v1", raw)
        assert response.status_code == 201, body(response)
        assert response["Location"] == f"/v2/{REPO}/manifests/{sha256(raw)}"
        assert response["Docker-Content-Digest"] == sha256(raw)
        assert "OCI-Subject" not in response

    @pytest.mark.parametrize("by", ["tag", "digest"])
    def test_get_returns_the_exact_bytes(self, api, by):
        digest, raw = push_image(api, "v1")
        reference = "v1" if by == "tag" else digest
        response = api.get(f"/v2/{REPO}/manifests/{reference}", headers={"Accept": mt.OCI_MANIFEST})
        assert response.status_code == 200
        assert body(response) == raw
        assert response["Content-Type"] == mt.OCI_MANIFEST
        assert response["Content-Length"] == str(len(raw))
        assert response["Docker-Content-Digest"] == digest

    @pytest.mark.parametrize("by", ["tag", "digest"])
    def test_head(self, api, by):
        digest, raw = push_image(api, "v1")
        reference = "v1" if by == "tag" else digest
        response = api.head(f"/v2/{REPO}/manifests/{reference}", headers={"Accept": mt.OCI_MANIFEST})
        assert response.status_code == 200
        assert response["Content-Length"] == str(len(raw))
        assert response["Docker-Content-Digest"] == digest
        assert response["Content-Type"] == mt.OCI_MANIFEST
        assert body(response) == b""

    def test_manifest_with_no_layers(self, api):
        """The conformance suite pushes an image whose layers list is empty."""
        push_image(api, "empty", layers=())
        assert tags(api) == ["empty"]

    def test_mediatype_may_be_omitted(self, api):
        push_blob(api, image_config())
        document = {"schemaVersion": 2, "config": descriptor(image_config(), mt.OCI_CONFIG), "layers": []}
        raw = json.dumps(document).encode()
        assert put_manifest(api, "v1", raw).status_code == 201
        response = api.get(f"/v2/{REPO}/manifests/v1")
        assert response["Content-Type"] == mt.OCI_MANIFEST

    def test_page_data_is_kept(self, api):
        config = image_config("arm64", {"org.opencontainers.image.source": "https://example.com/app"})
        digest, raw = push_image(api, "v1", config=config, layers=(b"a", b"bb"),
                                 annotations={"org.opencontainers.image.created": "2026-01-01"})
        manifest = Manifest.objects.get(digest=digest)
        assert manifest.media_type == mt.OCI_MANIFEST
        assert bytes(manifest.raw) == raw
        assert manifest.size == len(raw)
        assert manifest.labels == {"org.opencontainers.image.source": "https://example.com/app"}
        assert manifest.platforms == [{"os": "linux", "architecture": "arm64"}]
        assert manifest.annotations == {"org.opencontainers.image.created": "2026-01-01"}
        assert manifest.layers_size == len(config) + 3
        assert manifest.pushed_at is not None

    def test_tag_moves_to_the_new_manifest(self, api):
        push_image(api, "latest", layers=(b"one",))
        second, raw = push_image(api, "latest", layers=(b"two",))
        assert body(api.get(f"/v2/{REPO}/manifests/latest")) == raw
        assert tags(api) == ["latest"]
        assert Manifest.objects.count() == 2

    def test_same_manifest_pushed_twice(self, api):
        digest, _ = push_image(api, "a")
        assert push_image(api, "b")[0] == digest
        assert Manifest.objects.count() == 1
        assert tags(api) == ["a", "b"]


class TestDocker:
    def test_schema2_round_trip_and_content_type(self, api):
        digest, raw = push_image(api, "v1", media_type=mt.DOCKER_MANIFEST)
        response = api.get(f"/v2/{REPO}/manifests/v1", headers={"Accept": mt.DOCKER_MANIFEST})
        assert response.status_code == 200
        assert response["Content-Type"] == mt.DOCKER_MANIFEST
        assert body(response) == raw

    def test_schema2_needs_the_docker_config_type(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[],
                             media_type=mt.DOCKER_MANIFEST)
        error(put_manifest(api, "v1", raw, mt.DOCKER_MANIFEST), 400, "MANIFEST_INVALID")

    def test_manifest_list(self, api):
        amd, amd_raw = push_image(api, media_type=mt.DOCKER_MANIFEST, layers=(b"amd",))
        arm, arm_raw = push_image(api, media_type=mt.DOCKER_MANIFEST, layers=(b"arm",),
                                  config=image_config("arm64"))
        raw = index_bytes([child(amd_raw, mt.DOCKER_MANIFEST), child(arm_raw, mt.DOCKER_MANIFEST, "arm64")],
                          mt.DOCKER_MANIFEST_LIST)
        response = put_manifest(api, "multi", raw, mt.DOCKER_MANIFEST_LIST)
        assert response.status_code == 201, body(response)
        response = api.get(f"/v2/{REPO}/manifests/multi",
                           headers={"Accept": f"{mt.DOCKER_MANIFEST}, {mt.DOCKER_MANIFEST_LIST}"})
        assert response["Content-Type"] == mt.DOCKER_MANIFEST_LIST
        assert body(response) == raw
        platforms = Manifest.objects.get(digest=sha256(raw)).platforms
        assert [p["architecture"] for p in platforms] == ["amd64", "arm64"]

    def test_schema1_is_refused_with_advice(self, api):
        raw = json.dumps({"schemaVersion": 1, "name": REPO, "tag": "v1", "fsLayers": []}).encode()
        first = error(put_manifest(api, "v1", raw, mt.DOCKER_SCHEMA1_SIGNED), 400, "UNSUPPORTED")
        assert "schema 1" in first["message"]

    def test_windows_foreign_layers_need_not_be_pushed(self, api):
        push_blob(api, image_config())
        push_blob(api, b"app layer")
        foreign = {"mediaType": mt.DOCKER_FOREIGN_LAYER, "digest": sha256(b"windows base"), "size": 123456789,
                   "urls": ["https://mcr.microsoft.com/v2/windows/servercore/blobs/" + sha256(b"windows base")]}
        raw = manifest_bytes(config=descriptor(image_config(), mt.DOCKER_CONFIG),
                             layers=[foreign, descriptor(b"app layer", DOCKER_LAYER)],
                             media_type=mt.DOCKER_MANIFEST)
        response = put_manifest(api, "ltsc2022", raw, mt.DOCKER_MANIFEST)
        assert response.status_code == 201, body(response)
        assert body(api.get(f"/v2/{REPO}/manifests/ltsc2022")) == raw
        assert api.head(f"/v2/{REPO}/blobs/{sha256(b'windows base')}").status_code == 404

    def test_foreign_layer_urls_must_be_http(self, api):
        push_blob(api, image_config())
        foreign = {"mediaType": mt.DOCKER_FOREIGN_LAYER, "digest": sha256(b"base"), "size": 4,
                   "urls": ["file:///etc/passwd"]}
        raw = manifest_bytes(config=descriptor(image_config(), mt.DOCKER_CONFIG), layers=[foreign],
                             media_type=mt.DOCKER_MANIFEST)
        first = error(put_manifest(api, "v1", raw, mt.DOCKER_MANIFEST), 400, "MANIFEST_INVALID")
        assert "urls" in first["message"]


class TestIndex:
    def test_oci_index_with_annotations(self, api):
        amd, amd_raw = push_image(api, layers=(b"amd",))
        arm, arm_raw = push_image(api, layers=(b"arm",), config=image_config("arm64"))
        raw = index_bytes([child(amd_raw), child(arm_raw, arch="arm64")],
                          annotations={"org.opencontainers.image.version": "2.5"})
        response = put_manifest(api, "2.5", raw, mt.OCI_INDEX)
        assert response.status_code == 201, body(response)
        response = api.get(f"/v2/{REPO}/manifests/2.5", headers={"Accept": mt.OCI_INDEX})
        assert response["Content-Type"] == mt.OCI_INDEX
        assert body(response) == raw
        assert Manifest.objects.get(digest=sha256(raw)).annotations == {"org.opencontainers.image.version": "2.5"}
        # Children stay pullable by digest.
        assert body(api.get(f"/v2/{REPO}/manifests/{arm}")) == arm_raw

    def test_nested_index(self, api):
        _, image_raw = push_image(api)
        inner = index_bytes([child(image_raw)])
        assert put_manifest(api, sha256(inner), inner, mt.OCI_INDEX).status_code == 201
        outer = index_bytes([descriptor(inner, mt.OCI_INDEX)], artifactType="application/vnd.example.index")
        assert put_manifest(api, sha256(outer), outer, mt.OCI_INDEX).status_code == 201

    def test_index_with_a_missing_child(self, api):
        _, present = push_image(api)
        missing = manifest_bytes(config=descriptor(b"{}", mt.OCI_CONFIG), layers=[])
        raw = index_bytes([child(present), child(missing, arch="arm64")])
        first = error(put_manifest(api, "multi", raw, mt.OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")
        assert first["detail"] == {"digest": sha256(missing)}
        assert "manifests[1]" in first["message"]
        error(api.get(f"/v2/{REPO}/manifests/multi"), 404, "MANIFEST_UNKNOWN")

    def test_index_child_of_another_repository_is_missing(self, api):
        _, raw = push_image(api, name="alice/other")
        push_image(api, layers=(b"something else",))  # the package exists, without that manifest
        error(put_manifest(api, "multi", index_bytes([child(raw)]), mt.OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")


class TestArtifacts:
    def test_artifact_with_artifact_type_and_empty_config(self, api):
        digest, raw = push_artifact(api, None, "application/vnd.example.sbom")
        response = api.get(f"/v2/{REPO}/manifests/{digest}")
        assert body(response) == raw
        assert Manifest.objects.get(digest=digest).artifact_type == "application/vnd.example.sbom"

    def test_artifact_with_a_custom_config_media_type(self, api):
        config = b'{"chart": "demo"}'
        push_blob(api, config)
        push_blob(api, b"chart tarball")
        chart = descriptor(b"chart tarball", "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
        raw = manifest_bytes(config=descriptor(config, "application/vnd.cncf.helm.config.v1+json"), layers=[chart])
        response = put_manifest(api, "0.1.0", raw)
        assert response.status_code == 201, body(response)
        manifest = Manifest.objects.get(digest=sha256(raw))
        assert manifest.artifact_type == "application/vnd.cncf.helm.config.v1+json"
        assert manifest.labels == {} and manifest.platforms == []

    def test_the_same_blob_as_config_and_layer(self, api):
        """oras pushes the empty JSON blob as config and as the only layer of some artifacts."""
        push_blob(api, EMPTY_JSON)
        raw = manifest_bytes(config=descriptor(EMPTY_JSON, mt.OCI_EMPTY), layers=[descriptor(EMPTY_JSON, mt.OCI_EMPTY)],
                             artifactType="application/vnd.example.empty")
        response = put_manifest(api, "empty", raw)
        assert response.status_code == 201, body(response)
        assert body(api.get(f"/v2/{REPO}/manifests/empty")) == raw

    def test_empty_config_blob_has_the_well_known_digest(self, api):
        assert sha256(EMPTY_JSON) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

    def test_subject_is_answered_with_oci_subject(self, api):
        subject_digest, subject_raw = push_image(api, "v1")
        push_blob(api, EMPTY_JSON)
        push_blob(api, b"sig")
        raw = manifest_bytes(config=descriptor(EMPTY_JSON, mt.OCI_EMPTY),
                             layers=[descriptor(b"sig", "application/octet-stream")],
                             artifactType="application/vnd.example.signature",
                             subject=descriptor(subject_raw, mt.OCI_MANIFEST))
        response = put_manifest(api, sha256(raw), raw)
        assert response.status_code == 201
        assert response["OCI-Subject"] == subject_digest

    def test_dangling_subject_is_accepted(self, api):
        """The suite pushes referrers before (or without) their subject."""
        ghost = manifest_bytes(config=descriptor(b"{}", mt.OCI_CONFIG), layers=[])
        push_blob(api, EMPTY_JSON)
        raw = manifest_bytes(config=descriptor(EMPTY_JSON, mt.OCI_EMPTY), layers=[],
                             artifactType="application/vnd.example", subject=descriptor(ghost, mt.OCI_MANIFEST))
        response = put_manifest(api, sha256(raw), raw)
        assert response.status_code == 201, body(response)
        assert response["OCI-Subject"] == sha256(ghost)


class TestPushByDigestWithTags:
    def test_tag_query_parameters_tag_the_manifest(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        digest = sha256(raw)
        response = put_manifest(api, digest, raw, query="?tag=v1&tag=latest")
        assert response.status_code == 201, body(response)
        assert response["Location"] == f"/v2/{REPO}/manifests/{digest}"
        assert set(response["OCI-Tag"].replace(" ", "").split(",")) == {"v1", "latest"}
        assert tags(api) == ["latest", "v1"]
        assert body(api.get(f"/v2/{REPO}/manifests/latest")) == raw

    def test_without_tags_there_is_no_oci_tag_header(self, api):
        digest, _ = push_image(api)
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        response = put_manifest(api, sha256(raw), raw)
        assert "OCI-Tag" not in response
        assert tags(api) == []

    def test_a_manifest_refused_at_a_new_name_leaves_no_package(self, api):
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        error(put_manifest(api, "v1", raw, name="alice/brand-new"), 400, "MANIFEST_BLOB_UNKNOWN")
        assert not Package.all_objects.filter(name="alice/brand-new").exists()
        error(api.get("/v2/alice/brand-new/tags/list"), 404, "NAME_UNKNOWN")

    def test_an_invalid_tag_parameter_stores_nothing(self, api):
        push_blob(api, image_config())
        raw = manifest_bytes(config=descriptor(image_config(), mt.OCI_CONFIG), layers=[])
        error(put_manifest(api, sha256(raw), raw, query="?tag=ok&tag=-bad"), 400, "MANIFEST_INVALID")
        assert not Manifest.objects.exists()


class TestAcceptNegotiation:
    @pytest.mark.parametrize("accept", [
        None,
        mt.OCI_MANIFEST,
        f"{mt.DOCKER_MANIFEST}, {mt.OCI_MANIFEST};q=0.9",
        "*/*",
        "application/json",
    ])
    def test_acceptable(self, api, accept):
        _, raw = push_image(api, "v1")
        headers = {"Accept": accept} if accept else {}
        response = api.get(f"/v2/{REPO}/manifests/v1", headers=headers)
        assert response.status_code == 200
        assert body(response) == raw

    def test_repeated_accept_headers(self, api):
        """Clients may send several Accept lines; WSGI folds them with commas."""
        _, raw = push_image(api, "v1", media_type=mt.DOCKER_MANIFEST)
        response = api.get(f"/v2/{REPO}/manifests/v1",
                           headers={"Accept": f"{mt.OCI_MANIFEST},{mt.OCI_INDEX},{mt.DOCKER_MANIFEST}"})
        assert response.status_code == 200

    def test_tag_in_a_type_the_client_does_not_read(self, api):
        digest, raw = push_image(api, "v1", media_type=mt.DOCKER_MANIFEST)
        first = error(api.get(f"/v2/{REPO}/manifests/v1", headers={"Accept": mt.OCI_MANIFEST}),
                      404, "MANIFEST_UNKNOWN")
        assert mt.DOCKER_MANIFEST in first["message"]
        # A digest names exact bytes: it is served whatever the Accept header says.
        response = api.get(f"/v2/{REPO}/manifests/{digest}", headers={"Accept": mt.OCI_MANIFEST})
        assert response.status_code == 200
        assert response["Content-Type"] == mt.DOCKER_MANIFEST


class TestDelete:
    def test_deleting_a_tag_keeps_the_manifest(self, api):
        digest, raw = push_image(api, "v1")
        push_image(api, "v2", layers=(b"v2",))
        response = api.delete(f"/v2/{REPO}/manifests/v1")
        assert response.status_code == 202
        assert tags(api) == ["v2"]
        error(api.get(f"/v2/{REPO}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
        assert body(api.get(f"/v2/{REPO}/manifests/{digest}")) == raw

    def test_deleting_by_digest_removes_its_tags(self, api):
        digest, _ = push_image(api, "v1")
        push_image(api, "v2", layers=(b"v2",))
        assert api.delete(f"/v2/{REPO}/manifests/{digest}").status_code == 202
        error(api.get(f"/v2/{REPO}/manifests/{digest}"), 404, "MANIFEST_UNKNOWN")
        assert api.head(f"/v2/{REPO}/manifests/{digest}").status_code == 404
        error(api.get(f"/v2/{REPO}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
        assert tags(api) == ["v2"]

    def test_push_again_after_delete(self, api):
        digest, raw = push_image(api, "v1")
        assert api.delete(f"/v2/{REPO}/manifests/{digest}").status_code == 202
        assert put_manifest(api, "v1", raw).status_code == 201
        assert body(api.get(f"/v2/{REPO}/manifests/v1")) == raw
        assert tags(api) == ["v1"]

    def test_deleting_twice_is_manifest_unknown(self, api):
        digest, _ = push_image(api, "v1")
        api.delete(f"/v2/{REPO}/manifests/{digest}")
        error(api.delete(f"/v2/{REPO}/manifests/{digest}"), 404, "MANIFEST_UNKNOWN")
        error(api.delete(f"/v2/{REPO}/manifests/v1"), 404, "MANIFEST_UNKNOWN")
