"""buildah builds an image from local files and pushes it to a live Berth, as OCI and as docker v2."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import images
from tests.e2e.helpers import ContainerTool

pytestmark = pytest.mark.e2e

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
FILES = {
    "app/hello.txt": b"built with buildah in tests/e2e/test_buildah.py\n",
    "app/data.bin": bytes(range(256)) * 48,
}
LABELS = {"org.opencontainers.image.description": "Berth buildah test image", "com.example.built-by": "buildah"}


@dataclass(frozen=True)
class Built:
    name: str
    id: str


@pytest.fixture(scope="module")
def built(buildah, tmp_path_factory) -> Built:
    """An image made with buildah from scratch: the files copied in, labels and a command, committed."""
    context = tmp_path_factory.mktemp("buildah-context")
    for path, content in FILES.items():
        (context / path).parent.mkdir(parents=True, exist_ok=True)
        (context / path).write_bytes(content)
    container = buildah.text("from", "scratch")
    buildah("copy", container, str(context / "app"), "/app")
    buildah("config", *(f"--label={key}={value}" for key, value in LABELS.items()), "--cmd", "/app/hello.txt",
            container)
    image_id = buildah.text("commit", "--quiet", "--rm", container, "berth-e2e/buildah:1")
    return Built("localhost/berth-e2e/buildah:1", image_id.removeprefix("sha256:"))


def push(buildah, built: Built, destination: str, credentials, *extra: str, check: bool = True):
    return buildah("push", "--tls-verify=false", "--creds", f"{credentials.username}:{credentials.password}",
                   *extra, built.name, f"docker://{destination}", check=check)


def fetch_image(registry_http, path: str, tag: str, accept: str) -> tuple[dict, dict, dict[str, bytes]]:
    """Return (manifest, config, files of every layer) of path:tag from /v2/."""
    response = registry_http.get(f"/v2/{path}/manifests/{tag}", headers={"Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == accept
    assert response.headers["Docker-Content-Digest"] == images.sha256(response.content)
    manifest = response.json()
    config = registry_http.get(f"/v2/{path}/blobs/{manifest['config']['digest']}")
    assert images.sha256(config.content) == manifest["config"]["digest"]
    files = {}
    for layer in manifest["layers"]:
        blob = registry_http.get(f"/v2/{path}/blobs/{layer['digest']}")
        assert images.sha256(blob.content) == layer["digest"]
        files.update(images.tar_files(blob.content))
    return manifest, json.loads(config.content), files


def test_push_as_oci_keeps_files_labels_and_command(built, buildah, berth, owner, registry_http):
    path = f"{owner.username}/buildah"
    push(buildah, built, f"{berth.host}/{path}:1", owner)

    manifest, config, files = fetch_image(registry_http, path, "1", images.OCI_MANIFEST)
    assert manifest["config"]["mediaType"] == images.OCI_CONFIG
    assert manifest["config"]["digest"] == f"sha256:{built.id}"
    assert LABELS.items() <= config["config"]["Labels"].items()  # buildah adds io.buildah.version
    assert config["config"]["Cmd"] == ["/app/hello.txt"]
    assert files == FILES


def test_push_as_docker_v2(built, buildah, berth, owner, registry_http):
    path = f"{owner.username}/buildah"
    push(buildah, built, f"{berth.host}/{path}:docker", owner, "--format", "docker")

    manifest, config, files = fetch_image(registry_http, path, "docker", DOCKER_MANIFEST)
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert manifest["config"]["mediaType"] == DOCKER_CONFIG
    assert LABELS.items() <= config["config"]["Labels"].items()
    assert files == FILES


def test_pull_back_into_fresh_storage(built, buildah, berth, owner, tmp_path):
    path = f"{owner.username}/buildah"
    push(buildah, built, f"{berth.host}/{path}:pull", owner)
    fresh = ContainerTool("buildah", tmp_path)
    fresh("pull", "--tls-verify=false", "--creds", f"{owner.username}:{owner.password}", f"{berth.host}/{path}:pull")
    assert fresh.text("images", "--quiet", "--no-trunc", f"{berth.host}/{path}:pull") == f"sha256:{built.id}"
    container = fresh.text("from", f"{berth.host}/{path}:pull")
    root = fresh.text("mount", container)
    try:
        for name, content in FILES.items():
            assert (Path(root) / name).read_bytes() == content
    finally:
        fresh("umount", container)
        fresh("rm", container)


def test_push_with_a_wrong_password_is_refused(built, buildah, berth, owner, registry_http):
    path = f"{owner.username}/buildah-wrong"
    result = push(buildah, built, f"{berth.host}/{path}:1", type(owner)(owner.username, "not-the-token"),
                  check=False)
    assert result.returncode != 0
    assert "unauthorized" in result.output.lower() or "authentication required" in result.output, result.output
    assert registry_http.get(f"/v2/{path}/manifests/1").status_code == 404
