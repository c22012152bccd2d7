"""podman logs in to, pushes to and pulls from a live Berth."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import images

pytestmark = pytest.mark.e2e

FILES = {
    "etc/podman-test": b"pushed by podman in tests/e2e/test_podman.py\n",
    "opt/podman/data.bin": bytes(range(255, -1, -1)) * 32,
}
NAME = "localhost/berth-e2e/podman:1"


@dataclass(frozen=True)
class Loaded:
    name: str
    id: str  # the config's digest without "sha256:", as podman reports it


@pytest.fixture(scope="module")
def loaded(podman, tmp_path_factory) -> Loaded:
    """A one-layer image from local files, loaded into podman's storage from an oci-archive."""
    folder = tmp_path_factory.mktemp("podman-image")
    # podman load names the image after the layout's ref.name.
    layout = images.write_single_image_layout(folder / "layout", tag=NAME.removeprefix("localhost/"), files=FILES)
    archive = folder / "image.tar"
    archive.write_bytes(images.layout_archive(layout))
    assert NAME in podman.text("load", "--input", str(archive))
    return Loaded(NAME, podman.text("image", "inspect", "--format", "{{.Id}}", NAME))


def login(podman, host: str, credentials, *extra: str, check: bool = True):
    return podman("login", "--tls-verify=false", *extra, "--username", credentials.username, "--password-stdin",
                  host, input=credentials.password.encode(), check=check)


def image_files(podman, ref: str) -> dict[str, bytes]:
    """Return the regular files of an image in podman's storage, read from its mounted root."""
    root = podman.text("image", "mount", ref)
    try:
        return {str(p.relative_to(root)): p.read_bytes() for p in Path(root).rglob("*") if p.is_file()}
    finally:
        podman("image", "unmount", ref)


@pytest.fixture(scope="module")
def pushed(podman, loaded, berth, owner) -> str:
    """Log podman in as the owner and push the loaded image to OWNER/podman:1; return the reference."""
    assert "Login Succeeded" in login(podman, berth.host, owner).output
    ref = f"{berth.host}/{owner.username}/podman:1"
    podman("tag", loaded.name, ref)
    podman("push", "--tls-verify=false", ref)
    return ref


def test_login_stores_the_credentials_in_the_auth_file(pushed, podman, berth, owner):
    auths = json.loads(podman.auth_file.read_text())["auths"]
    assert berth.host in auths
    assert podman.text("login", "--get-login", berth.host) == owner.username


def test_push_stores_the_image_with_its_config_and_files(pushed, loaded, owner, registry_http):
    path = f"{owner.username}/podman"
    response = registry_http.get(f"/v2/{path}/manifests/1", headers={"Accept": images.OCI_MANIFEST})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == images.OCI_MANIFEST
    assert response.headers["Docker-Content-Digest"] == images.sha256(response.content)
    manifest = response.json()
    assert manifest["config"]["digest"] == f"sha256:{loaded.id}"
    config = registry_http.get(f"/v2/{path}/blobs/{manifest['config']['digest']}")
    assert images.sha256(config.content) == manifest["config"]["digest"]
    assert json.loads(config.content)["architecture"] == "amd64"
    (layer,) = manifest["layers"]
    blob = registry_http.get(f"/v2/{path}/blobs/{layer['digest']}")
    assert images.sha256(blob.content) == layer["digest"]
    assert images.tar_files(blob.content) == FILES


def test_pull_after_removing_the_image_brings_back_the_same_image(pushed, loaded, podman):
    podman("rmi", pushed)
    podman("rmi", loaded.name)
    assert podman("image", "exists", pushed, check=False).returncode != 0

    podman("pull", "--tls-verify=false", pushed)
    assert podman.text("image", "inspect", "--format", "{{.Id}}", pushed) == loaded.id
    assert image_files(podman, pushed) == FILES


def test_logged_out_pull_is_refused(pushed, podman, berth, owner, tmp_path):
    auth_file = tmp_path / "auth.json"
    login(podman, berth.host, owner, "--authfile", str(auth_file))
    podman("logout", "--authfile", str(auth_file), berth.host)
    assert berth.host not in json.loads(auth_file.read_text()).get("auths", {})

    result = podman("pull", "--tls-verify=false", "--authfile", str(auth_file), pushed, check=False)
    assert result.returncode != 0
    assert "authentication required" in result.output or "unauthorized" in result.output, result.output


def test_login_with_a_wrong_password_fails(podman, berth, owner, tmp_path):
    wrong = type(owner)(owner.username, "not-the-token")
    result = login(podman, berth.host, wrong, "--authfile", str(tmp_path / "auth.json"), check=False)
    assert result.returncode != 0
    assert "invalid username/password" in result.output or "unauthorized" in result.output, result.output


def test_push_with_creds_flag_and_a_read_only_token_is_refused(pushed, podman, berth, owner, registry_http):
    token = berth.manage("create_token", owner.username, "--scopes", "read:packages",
                         "--note", "podman read-only").strip()
    ref = f"{berth.host}/{owner.username}/podman:read-only"
    podman("tag", pushed, ref)
    result = podman("push", "--tls-verify=false", "--creds", f"{owner.username}:{token}", ref, check=False)
    assert result.returncode != 0
    assert registry_http.get(f"/v2/{owner.username}/podman/manifests/read-only").status_code == 404

    podman("push", "--tls-verify=false", "--creds", f"{owner.username}:{owner.password}", ref)
    assert registry_http.get(f"/v2/{owner.username}/podman/manifests/read-only").status_code == 200
