"""Unit tests of registry/oci/: the protocol helpers, free of Django and storage."""

import ast
import hashlib
import json
from pathlib import Path

import pytest

from registry.oci import errors
from registry.oci import media_types as mt
from registry.oci.digests import digest_bytes, looks_like_digest, parse_digest
from registry.oci.manifests import parse_image_config, parse_manifest
from registry.oci.names import is_valid_tag, validate_name, validate_tag

OCI_DIR = Path(__file__).resolve().parents[2] / "registry" / "oci"
HEX = hashlib.sha256(b"x").hexdigest()


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module or "")
    return modules


def test_oci_package_imports_no_django():
    """registry/oci/ must stay testable alone: no Django, DRF, storage or models."""
    files = sorted(OCI_DIR.glob("*.py"))
    assert len(files) >= 5, files
    offenders = {
        path.name: sorted(m for m in imported_modules(path)
                          if m.split(".")[0] in {"django", "rest_framework", "registry", "accounts", "config"})
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_import_scan_notices_django(tmp_path):
    """The scan above would see a Django import, including a nested one."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from django.conf import settings\n    import django.db\n")
    assert imported_modules(sample) == {"django.conf", "django.db"}


class TestDigests:
    def test_sha256(self):
        digest = parse_digest(f"sha256:{HEX}")
        assert (digest.algorithm, digest.encoded, str(digest)) == ("sha256", HEX, f"sha256:{HEX}")

    def test_sha512(self):
        encoded = hashlib.sha512(b"x").hexdigest()
        assert parse_digest(f"sha512:{encoded}").algorithm == "sha512"

    @pytest.mark.parametrize("value", [
        "", "sha256", f"sha256{HEX}", "sha256:", f"sha256:{HEX[:-1]}", f"sha256:{HEX}0",
        f"sha256:{HEX.upper()}", f"SHA256:{HEX}", f"sha256:{HEX[:-1]}g", "sha256:totallywrong",
    ])
    def test_invalid(self, value):
        with pytest.raises(errors.DigestInvalid) as caught:
            parse_digest(value)
        assert caught.value.status == 400
        assert caught.value.detail == {"digest": value}

    def test_unknown_algorithm_is_named(self):
        with pytest.raises(errors.DigestInvalid) as caught:
            parse_digest("md5:" + "0" * 32)
        assert "'md5' is not supported" in caught.value.message

    def test_digest_bytes(self):
        assert digest_bytes(b"x") == f"sha256:{HEX}"
        assert digest_bytes(b"x", "sha512") == "sha512:" + hashlib.sha512(b"x").hexdigest()

    def test_looks_like_digest(self):
        assert looks_like_digest(f"sha256:{HEX}")
        assert looks_like_digest("sha256:short")
        assert not looks_like_digest("latest")


class TestNames:
    @pytest.mark.parametrize("name", ["alice/app", "alice/a/b/c", "a0/b.c", "alice/a_b", "alice/a__b",
                                      "alice/a---b", "alice/" + "a" * 249])
    def test_valid(self, name):
        assert validate_name(name) == name

    @pytest.mark.parametrize("name", ["alice/App", "alice/", "/alice/app", "alice//app", "alice/app/",
                                      "alice/a___b", "alice/.app", "alice/app.", "alice/a b", "alice/" + "a" * 250])
    def test_invalid(self, name):
        with pytest.raises(errors.NameInvalid) as caught:
            validate_name(name)
        assert caught.value.status == 400

    def test_owner_is_required(self):
        with pytest.raises(errors.NameInvalid, match="OWNER/app"):
            validate_name("app")

    @pytest.mark.parametrize("tag", ["latest", "v1.0", "_x", "A-b.c_d", "a" * 128, "0"])
    def test_valid_tags(self, tag):
        assert is_valid_tag(tag)
        assert validate_tag(tag) == tag

    @pytest.mark.parametrize("tag", ["", ".x", "-x", "a" * 129, "a/b", "a:b", "a+b", "ä"])
    def test_invalid_tags(self, tag):
        assert not is_valid_tag(tag)
        with pytest.raises(errors.ManifestInvalid):
            validate_tag(tag)


def descriptor(data=b"x", media_type="application/octet-stream", **extra):
    return {"mediaType": media_type, "digest": digest_bytes(data), "size": len(data), **extra}


def manifest(**fields):
    document = {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST,
                "config": descriptor(b"{}", mt.OCI_CONFIG), "layers": [descriptor()]}
    document.update(fields)
    return json.dumps({k: v for k, v in document.items() if v is not None}).encode()


class TestParseManifest:
    def test_oci_image(self):
        parsed = parse_manifest(manifest(annotations={"a": "b"}))
        assert parsed.media_type == mt.OCI_MANIFEST
        assert parsed.is_image and not parsed.is_index
        assert parsed.config.digest == digest_bytes(b"{}")
        assert [d.digest for d in parsed.blob_descriptors()] == [digest_bytes(b"{}"), digest_bytes(b"x")]
        assert parsed.annotations == {"a": "b"}
        assert parsed.effective_artifact_type == ""

    def test_content_type_decides_when_media_type_is_absent(self):
        raw = manifest(mediaType=None)
        assert parse_manifest(raw, f"{mt.OCI_MANIFEST}; charset=utf-8").media_type == mt.OCI_MANIFEST
        assert parse_manifest(raw).media_type == mt.OCI_MANIFEST  # by shape

    def test_index_by_shape(self):
        raw = json.dumps({"schemaVersion": 2, "manifests": [descriptor(b"m", mt.OCI_MANIFEST,
                                                                        platform={"os": "linux",
                                                                                  "architecture": "arm64",
                                                                                  "variant": "v8"})]})
        parsed = parse_manifest(raw.encode())
        assert parsed.is_index
        assert parsed.manifests[0].platform.as_dict() == {"os": "linux", "architecture": "arm64", "variant": "v8"}
        assert parsed.blob_descriptors() == ()

    def test_artifact_types(self):
        assert parse_manifest(manifest(artifactType="application/x.sig")).effective_artifact_type == "application/x.sig"
        custom = manifest(config=descriptor(b"{}", "application/vnd.example.config"))
        assert parse_manifest(custom).effective_artifact_type == "application/vnd.example.config"
        assert not parse_manifest(custom).is_image

    def test_subject(self):
        parsed = parse_manifest(manifest(subject=descriptor(b"s", mt.OCI_MANIFEST)))
        assert parsed.subject.digest == digest_bytes(b"s")

    def test_foreign_layers(self):
        foreign = descriptor(b"base", mt.DOCKER_FOREIGN_LAYER, urls=["https://example.com/base"])
        parsed = parse_manifest(manifest(layers=[foreign]))
        assert parsed.layers[0].is_foreign
        assert parsed.layers[0].urls == ("https://example.com/base",)
        assert mt.is_foreign_layer("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")
        assert not mt.is_foreign_layer("application/vnd.oci.image.layer.v1.tar+gzip")

    @pytest.mark.parametrize(("raw", "content_type", "words"), [
        (b"{", "", "not valid JSON"),
        (b"\xff\xfe", "", "not valid JSON"),
        (b'"text"', "", "JSON object"),
        (manifest(schemaVersion=3), "", "schemaVersion must be 2"),
        (manifest(schemaVersion="2"), "", "schemaVersion must be 2"),
        (manifest(mediaType="application/vnd.example"), "", "unsupported manifest mediaType"),
        (manifest(mediaType=7), "", "mediaType must be a string"),
        (manifest(), mt.OCI_INDEX, "does not match"),
        (json.dumps({"schemaVersion": 2}).encode(), "", "cannot tell the manifest type"),
        (manifest(layers=None), "", "'layers' list"),
        (manifest(layers=[{"mediaType": "a", "digest": "sha256:x", "size": 1}]), "", "layers[0].digest"),
        (manifest(layers=[descriptor() | {"size": -1}]), "", "layers[0].size"),
        (manifest(layers=[descriptor() | {"size": True}]), "", "layers[0].size"),
        (manifest(layers=[descriptor() | {"mediaType": ""}]), "", "layers[0].mediaType"),
        (manifest(layers=[descriptor() | {"urls": "http://x"}]), "", "layers[0].urls"),
        (manifest(layers=[descriptor() | {"urls": ["ftp://x"]}]), "", "layers[0].urls"),
        (manifest(annotations={"a": 1}), "", "annotations"),
        (manifest(artifactType=["x"]), "", "artifactType"),
        (manifest(subject="sha256:abc"), "", "subject"),
        (manifest(config=descriptor() | {"platform": {"os": "linux"}}), "", "config.platform"),
        (manifest(mediaType=mt.DOCKER_MANIFEST), mt.DOCKER_MANIFEST, "config.mediaType"),
        (json.dumps({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": {}}).encode(), "", "manifests"),
    ])
    def test_invalid(self, raw, content_type, words):
        with pytest.raises(errors.ManifestInvalid) as caught:
            parse_manifest(raw, content_type)
        assert words in caught.value.message
        assert caught.value.code == "MANIFEST_INVALID" and caught.value.status == 400

    def test_schema1_is_unsupported(self):
        for raw, content_type in ((manifest(schemaVersion=1), ""), (manifest(), mt.DOCKER_SCHEMA1_SIGNED)):
            with pytest.raises(errors.Unsupported, match="schema 1"):
                parse_manifest(raw, content_type)


class TestImageConfig:
    def test_labels_and_platform(self):
        raw = json.dumps({"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.1",
                          "config": {"Labels": {"a": "b", "n": 1}}}).encode()
        config = parse_image_config(raw)
        assert config.labels == {"a": "b"}
        assert config.platform.as_dict() == {"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.1"}

    @pytest.mark.parametrize("raw", [b"", b"[]", b'{"config": null}', b'{"config": {"Labels": []}}', b"\xff"])
    def test_odd_configs_are_tolerated(self, raw):
        config = parse_image_config(raw)
        assert config.labels == {} and config.platform is None


class TestErrors:
    @pytest.mark.parametrize(("cls", "code", "status"), [
        (errors.BlobUnknown, "BLOB_UNKNOWN", 404),
        (errors.BlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400),
        (errors.BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404),
        (errors.DigestInvalid, "DIGEST_INVALID", 400),
        (errors.ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400),
        (errors.ManifestInvalid, "MANIFEST_INVALID", 400),
        (errors.ManifestUnknown, "MANIFEST_UNKNOWN", 404),
        (errors.NameInvalid, "NAME_INVALID", 400),
        (errors.NameUnknown, "NAME_UNKNOWN", 404),
        (errors.SizeInvalid, "SIZE_INVALID", 400),
        (errors.Unauthorized, "UNAUTHORIZED", 401),
        (errors.Denied, "DENIED", 403),
        (errors.Unsupported, "UNSUPPORTED", 405),
        (errors.TooManyRequests, "TOOMANYREQUESTS", 429),
        (errors.RangeInvalid, "BLOB_UPLOAD_INVALID", 416),
    ])
    def test_codes_and_statuses(self, cls, code, status):
        error = cls()
        assert (error.code, error.status) == (code, status)
        assert error.as_dict() == {"code": code, "message": cls.message}

    def test_message_detail_status_and_headers(self):
        error = errors.SizeInvalid("too big", detail={"limit": 1}, status=413, headers={"Retry-After": "1"})
        assert error.as_dict() == {"code": "SIZE_INVALID", "message": "too big", "detail": {"limit": 1}}
        assert error.status == 413 and error.headers == {"Retry-After": "1"}
        assert errors.SizeInvalid.status == 400  # the class default is untouched
