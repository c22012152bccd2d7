"""oras-py (the `oras` package) pushes artifacts with a subject to a live Berth and lists their referrers.

oras-py 0.2 pushes files with a config media type and an optional subject, and pulls them back; it
has no artifactType argument and no referrers call. So one referrer carries its type in the config
media type (which the referrers API reports when artifactType is absent), another is a manifest with
artifactType built from oras-py's own helpers and uploaded with its upload_blob and upload_manifest,
and the referrers are listed through oras-py's authenticated request method.
"""

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import oras.defaults
import oras.oci
import oras.provider
import pytest

from tests.e2e import images

pytestmark = pytest.mark.e2e

README_TYPE = "application/vnd.berth.test.readme.v1"
SBOM_TYPE = "application/vnd.berth.test.sbom.v1+json"
SIGNATURE_TYPE = "application/vnd.berth.test.signature.v1"
EMPTY = "application/vnd.oci.empty.v1+json"


def client(berth, credentials) -> oras.provider.Registry:
    """Return an oras-py client for berth that answers each challenge with Basic credentials.

    oras-py's default token backend keeps the first token it gets (pull, from the HEAD it starts a
    push with) and sends it again when Berth answers 401 insufficient_scope to the upload; it asks for a
    new one only after a 403. Berth takes a personal access token as a Basic password on /v2/.
    """
    registry = oras.provider.Registry(hostname=berth.host, insecure=True, auth_backend="basic")
    registry.auth.set_basic_auth(credentials.username, credentials.password)
    return registry


@pytest.fixture(scope="module")
def registry(berth, owner) -> oras.provider.Registry:
    """An oras-py client for the session's Berth, with the owner's token as its password."""
    registry = client(berth, owner)
    yield registry
    registry.session.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("oras-files")
    (folder / "README.md").write_text("# Berth\nAn artifact pushed by oras-py in tests/e2e/test_oras.py.\n")
    (folder / "sbom.json").write_text(json.dumps({"spdxVersion": "SPDX-2.3", "name": "berth-e2e"}))
    (folder / "sbom-config.json").write_text(json.dumps({"generator": "tests/e2e/test_oras.py"}))
    (folder / "signature.bin").write_bytes(hashlib.sha512(b"berth").digest())
    (folder / "empty.json").write_text("{}")
    return folder


def push_file(registry, target: str, path: Path, media_type: str, **options) -> dict:
    """Push one file with oras-py's push and return the manifest the registry now serves for target."""
    response = registry.push(target=target, files=[f"{path}:{media_type}"], disable_path_validation=True,
                             quiet=True, **options)
    assert response.status_code == 201, response.text
    manifest = registry.get_manifest(target)
    # oras-py works out a subject from a manifest's JSON; it must match what Berth reports.
    assert oras.oci.Subject.from_manifest(manifest).digest == response.headers["Docker-Content-Digest"]
    return manifest


@pytest.fixture(scope="module")
def artifact(registry, berth, owner, files) -> oras.oci.Subject:
    """A README artifact at OWNER/artifacts:readme (its type in the config media type): the subject."""
    target = f"{berth.host}/{owner.username}/artifacts:readme"
    manifest = push_file(registry, target, files / "README.md", "text/markdown",
                         manifest_config=f"{files / 'empty.json'}:{README_TYPE}")
    return oras.oci.Subject.from_manifest(manifest)


@pytest.fixture(scope="module")
def sbom(registry, berth, owner, files, artifact) -> dict:
    """An SBOM pushed with oras-py's push and subject=, typed by its config's media type."""
    return push_file(registry, f"{berth.host}/{owner.username}/artifacts:sbom", files / "sbom.json",
                     "application/spdx+json", subject=artifact,
                     manifest_config=f"{files / 'sbom-config.json'}:{SBOM_TYPE}",
                     manifest_annotations={"org.opencontainers.image.created": "2026-12-01T00:00:00Z"})


@pytest.fixture(scope="module")
def signature(registry, berth, owner, files, artifact) -> str:
    """A signature manifest with artifactType and an empty config, pushed by digest; return its digest."""
    container = registry.get_container(f"{berth.host}/{owner.username}/artifacts")
    layer = oras.oci.NewLayer(str(files / "signature.bin"), media_type="application/octet-stream")
    config, _ = oras.oci.ManifestConfig(str(files / "empty.json"), EMPTY)
    for path, descriptor in ((files / "signature.bin", layer), (files / "empty.json", config)):
        assert registry.upload_blob(str(path), container, descriptor).status_code in (200, 201)
    manifest = oras.oci.NewManifest()
    manifest.update(artifactType=SIGNATURE_TYPE, config=config, layers=[layer], subject=asdict(artifact),
                    annotations={"com.example.signed-by": "berth-e2e"})
    # upload_manifest sends json=manifest, which requests serialises as json.dumps does.
    digest = images.sha256(json.dumps(manifest).encode())
    response = registry.upload_manifest(manifest, registry.get_container(f"{container.uri}@{digest}"))
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == digest
    assert response.headers["OCI-Subject"] == artifact.digest
    return digest


def referrers(registry, berth, owner, digest: str, **params):
    url = f"{registry.prefix}://{berth.host}/v2/{owner.username}/artifacts/referrers/{digest}"
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return registry.do_request(url, "GET", headers={"Accept": images.OCI_INDEX})


def test_referrers_lists_both_with_their_artifact_types(registry, berth, owner, artifact, sbom, signature):
    response = referrers(registry, berth, owner, artifact.digest)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == images.OCI_INDEX
    index = response.json()
    assert index["mediaType"] == images.OCI_INDEX
    found = {d["digest"]: d for d in index["manifests"]}
    sbom_digest = oras.oci.Subject.from_manifest(sbom).digest
    assert set(found) == {sbom_digest, signature}
    assert found[sbom_digest]["artifactType"] == SBOM_TYPE  # from the config media type
    assert found[sbom_digest]["annotations"] == {"org.opencontainers.image.created": "2026-12-01T00:00:00Z"}
    assert found[signature]["artifactType"] == SIGNATURE_TYPE
    assert found[signature]["annotations"] == {"com.example.signed-by": "berth-e2e"}
    assert all(d["mediaType"] == images.OCI_MANIFEST for d in found.values())


def test_referrers_filtered_by_artifact_type(registry, berth, owner, artifact, sbom, signature):
    response = referrers(registry, berth, owner, artifact.digest, artifactType=SIGNATURE_TYPE)
    assert response.status_code == 200, response.text
    assert response.headers["OCI-Filters-Applied"] == "artifactType"
    assert [(d["digest"], d["artifactType"]) for d in response.json()["manifests"]] == [(signature, SIGNATURE_TYPE)]


def test_referrer_keeps_its_subject_and_pulls_back(registry, berth, owner, artifact, sbom, files, tmp_path):
    assert sbom["subject"] == asdict(artifact)
    target = f"{berth.host}/{owner.username}/artifacts:sbom"
    (pulled,) = registry.pull(target=target, outdir=str(tmp_path))
    assert Path(pulled).name == "sbom.json"
    assert Path(pulled).read_bytes() == (files / "sbom.json").read_bytes()


def test_an_artifact_without_referrers_lists_none(registry, berth, owner, sbom):
    response = referrers(registry, berth, owner, oras.oci.Subject.from_manifest(sbom).digest)
    assert response.status_code == 200, response.text
    assert response.json()["manifests"] == []


def test_push_with_a_wrong_password_is_refused(berth, owner, files):
    stranger = client(berth, type(owner)(owner.username, "not-the-token"))
    target = f"{berth.host}/{owner.username}/artifacts-wrong:1"
    with pytest.raises(ValueError, match="UNAUTHORIZED"):  # oras-py's answer to a refused upload
        stranger.push(target=target, files=[f"{files / 'README.md'}:text/markdown"], disable_path_validation=True,
                      quiet=True)
    stranger.session.close()
