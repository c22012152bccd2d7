"""The real docker CLI pushes to and pulls from a live Berth."""

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import images
from tests.e2e.helpers import APP_LABELS, LocalImage, inspect

pytestmark = pytest.mark.e2e

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MANIFEST_ACCEPT = ", ".join([DOCKER_MANIFEST, "application/vnd.oci.image.manifest.v1+json"])


# Files the daemon puts into every container it creates.
CONTAINER_FILES = {".dockerenv", "dev/console", "etc/hostname", "etc/hosts", "etc/resolv.conf"}


def exported_files(docker, ref: str) -> dict[str, bytes]:
    """Return the image's regular files, as `docker export` of a container created from ref writes them."""
    container = docker.docker("create", ref, "/bin/true").stdout.decode().strip()
    try:
        files = images.tar_files(docker.docker("export", container).stdout)
    finally:
        docker.docker("rm", container)
    return {path: content for path, content in files.items() if path not in CONTAINER_FILES}


def image_exists(docker, ref: str) -> bool:
    return docker.docker("image", "inspect", ref, check=False).returncode == 0


def remove_image(docker, image_id: str) -> None:
    """Remove every local reference to an image, so the next pull has to fetch it."""
    tags = inspect(docker, image_id, '{{join .RepoTags " "}}').split()
    if tags:
        docker.docker("rmi", *tags)
    if image_exists(docker, image_id):  # only digest references (repo@sha256:...) left
        docker.docker("rmi", image_id)
    assert not image_exists(docker, image_id), f"{image_id} is still in the daemon after docker rmi"


def assert_same_image(docker, ref: str, expected: LocalImage) -> None:
    assert inspect(docker, ref, "{{.Id}}") == expected.id
    labels = docker.docker("image", "inspect", "--format", "{{json .Config.Labels}}", ref).stdout
    assert (json.loads(labels) or {}) == expected.labels
    assert exported_files(docker, ref) == expected.files


@dataclass(frozen=True)
class Pushed:
    repository: str  # HOST/OWNER/NAME
    path: str  # OWNER/NAME
    digest: str  # the manifest digest docker recorded on push


@pytest.fixture(scope="module")
def pushed_app(docker, berth, owner, app_image) -> Pushed:
    """The app image pushed as OWNER/e2e-app:latest and :2.5."""
    path = f"{owner.username}/e2e-app"
    repository = f"{berth.host}/{path}"
    for tag in ("latest", "2.5"):
        docker.docker("tag", app_image.ref, f"{repository}:{tag}")
        output = docker.docker("push", f"{repository}:{tag}").stdout.decode()
        assert f"{tag}: digest: sha256:" in output
    repo_digest = inspect(docker, f"{repository}:latest", "{{index .RepoDigests 0}}")
    assert repo_digest.startswith(f"{repository}@sha256:")
    return Pushed(repository, path, repo_digest.split("@", 1)[1])


@contextmanager
def only_in_registry(docker, image: LocalImage):
    """Remove image from the daemon for the block, then give it back its local name for later tests."""
    remove_image(docker, image.id)
    try:
        yield
    finally:
        if not image_exists(docker, image.ref) and image_exists(docker, image.id):
            docker.docker("tag", image.id, image.ref)


def test_push_then_pull_by_name_tag_and_digest(docker, app_image, pushed_app):
    with only_in_registry(docker, app_image):
        docker.docker("pull", pushed_app.repository)
        assert_same_image(docker, f"{pushed_app.repository}:latest", app_image)
        remove_image(docker, app_image.id)

        docker.docker("pull", f"{pushed_app.repository}:2.5")
        assert_same_image(docker, f"{pushed_app.repository}:2.5", app_image)
        remove_image(docker, app_image.id)

        by_digest = f"{pushed_app.repository}@{pushed_app.digest}"
        docker.docker("pull", by_digest)
        assert_same_image(docker, by_digest, app_image)
        assert inspect(docker, by_digest, "{{json .RepoDigests}}") == json.dumps([by_digest])

        # --all-tags lists the tags through the registry's tags/list.
        docker.docker("pull", "--all-tags", pushed_app.repository)
        assert sorted(json.loads(inspect(docker, app_image.id, "{{json .RepoTags}}"))) == [
            f"{pushed_app.repository}:2.5", f"{pushed_app.repository}:latest"]
    assert image_exists(docker, app_image.ref)


def test_pushing_again_uploads_nothing(docker, app_image, pushed_app):
    docker.docker("tag", app_image.ref, f"{pushed_app.repository}:latest")
    output = docker.docker("push", f"{pushed_app.repository}:latest").stdout.decode()
    assert output.count("Layer already exists") == 2, output
    assert "Pushed" not in output
    assert f"latest: digest: {pushed_app.digest}" in output


def test_stored_manifest_and_config_carry_the_labels(registry_http, app_image, pushed_app):
    tags = registry_http.get(f"/v2/{pushed_app.path}/tags/list")
    assert tags.status_code == 200, tags.text
    assert tags.json() == {"name": pushed_app.path, "tags": ["2.5", "latest"]}

    for reference in ("latest", "2.5", pushed_app.digest):
        manifest = registry_http.get(f"/v2/{pushed_app.path}/manifests/{reference}",
                                     headers={"Accept": MANIFEST_ACCEPT})
        assert manifest.status_code == 200, manifest.text
        assert manifest.headers["Content-Type"] == DOCKER_MANIFEST
        assert manifest.headers["Docker-Content-Digest"] == pushed_app.digest
        assert images.sha256(manifest.content) == pushed_app.digest

    document = manifest.json()
    assert document["config"]["mediaType"] == DOCKER_CONFIG
    # docker's image ID is the digest of its config, so the registry kept the config byte for byte.
    assert document["config"]["digest"] == app_image.id
    config = registry_http.get(f"/v2/{pushed_app.path}/blobs/{app_image.id}")
    assert config.status_code == 200
    assert images.sha256(config.content) == app_image.id
    assert config.json()["config"]["Labels"] == APP_LABELS
    assert len(document["layers"]) == 2  # the imported base and the COPY
    for layer in document["layers"]:
        head = registry_http.request("HEAD", f"/v2/{pushed_app.path}/blobs/{layer['digest']}")
        assert head.status_code == 200
        assert int(head.headers["Content-Length"]) == layer["size"]


def test_nested_name_reuses_layers_by_mounting_them(docker, berth, owner, app_image, pushed_app, registry_http):
    path = f"{owner.username}/image-name/release"
    ref = f"{berth.host}/{path}:1.14.1"
    docker.docker("tag", app_image.ref, ref)
    output = docker.docker("push", ref).stdout.decode()
    # The daemon remembers the layers are in OWNER/e2e-app and asks Berth to mount them.
    assert f"Mounted from {pushed_app.path}" in output, output
    with only_in_registry(docker, app_image):
        docker.docker("pull", ref)
        assert_same_image(docker, ref, app_image)
        assert inspect(docker, ref, "{{json .RepoDigests}}") == json.dumps([f"{berth.host}/{path}@{pushed_app.digest}"])
        docker.docker("tag", ref, app_image.ref)
        docker.docker("rmi", ref)
    tags = registry_http.get(f"/v2/{path}/tags/list")
    assert tags.json() == {"name": path, "tags": ["1.14.1"]}


def test_head_answers_carry_no_body(berth, pushed_app, registry_http):
    missing = registry_http.request("HEAD", f"/v2/{pushed_app.path}/blobs/sha256:{'0' * 64}")
    assert missing.status_code == 404
    assert missing.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    # docker push asks HEAD for every layer it may upload; none of those answers had a body to drop.
    assert "body bytes on a no-body response" not in berth.log.read_text(errors="replace")


def test_pulling_a_missing_tag_says_manifest_unknown(docker, pushed_app):
    result = docker.docker("pull", f"{pushed_app.repository}:no-such-tag", check=False)
    assert result.returncode != 0
    assert "manifest unknown" in result.stderr.decode().lower()


def test_parallel_pushes_of_a_shared_new_layer(docker, berth, owner, tmp_path, registry_http):
    # A base layer no repository has yet, so every push uploads it at the same time as the others.
    rootfs = images.tar_bytes({"data/shared.bin": os.urandom(3 * 1024 * 1024)})
    docker.docker("import", "-", "berth-e2e/race-base:1", input=rootfs)
    built = {}
    for name in ("race-a", "race-b", "race-c"):
        context = images.write_build_context(tmp_path / name, "FROM berth-e2e/race-base:1\nCOPY own.txt /own.txt\n",
                                             {"own.txt": f"{name}\n".encode()})
        docker.docker("build", "-t", f"{berth.host}/{owner.username}/{name}:1", str(context))
        built[name] = inspect(docker, f"{berth.host}/{owner.username}/{name}:1", "{{.Id}}")

    with ThreadPoolExecutor(len(built)) as pool:
        pushes = [pool.submit(docker.docker, "push", f"{berth.host}/{owner.username}/{name}:1") for name in built]
        for push in pushes:
            push.result()

    shared = None
    for name, image_id in built.items():
        manifest = registry_http.get(f"/v2/{owner.username}/{name}/manifests/1", headers={"Accept": MANIFEST_ACCEPT})
        assert manifest.status_code == 200, manifest.text
        base_layer = manifest.json()["layers"][0]["digest"]
        assert shared in (None, base_layer)
        shared = base_layer
        blob = registry_http.get(f"/v2/{owner.username}/{name}/blobs/{base_layer}")
        assert blob.status_code == 200
        assert images.sha256(blob.content) == base_layer
        ref = f"{berth.host}/{owner.username}/{name}:1"
        docker.docker("rmi", ref)
        docker.docker("pull", ref)
        assert inspect(docker, ref, "{{.Id}}") == image_id
        docker.docker("rmi", ref)
    docker.docker("rmi", "berth-e2e/race-base:1")


LARGE_LAYER_SIZE = 100 * 1024 * 1024 + 12345


def worker_peak_memory(server_pid: int) -> dict[int, int]:
    """Return the peak resident memory (VmHWM, bytes) of each gunicorn worker of a server."""
    peaks = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != server_pid:  # the field after state is the parent pid
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError):
            continue
        kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
        peaks[int(stat.parent.name)] = int(kilobytes) * 1024
    return peaks


@pytest.mark.slow
def test_layer_of_over_100_megabytes(docker, berth, owner, registry_http):
    # Random bytes so gzip cannot shrink the layer below 100 MB on the wire or in the registry.
    payload = os.urandom(LARGE_LAYER_SIZE)
    checksum = hashlib.sha256(payload).hexdigest()
    rootfs = images.tar_bytes({"data/large.bin": payload, "etc/os-release": b"ID=berth-large\n"})
    del payload
    local = "berth-e2e/large:1"
    docker.docker("import", "-", local, input=rootfs)
    del rootfs
    image_id = inspect(docker, local, "{{.Id}}")
    peaks_before = worker_peak_memory(berth.process.pid)
    assert peaks_before, "found no gunicorn workers to watch"
    path = f"{owner.username}/large-layer"
    ref = f"{berth.host}/{path}:1"
    docker.docker("tag", local, ref)
    docker.docker("push", ref)

    manifest = registry_http.get(f"/v2/{path}/manifests/1", headers={"Accept": MANIFEST_ACCEPT}).json()
    [layer] = manifest["layers"]
    assert layer["size"] >= 100 * 1024 * 1024
    head = registry_http.request("HEAD", f"/v2/{path}/blobs/{layer['digest']}")
    assert int(head.headers["Content-Length"]) == layer["size"]

    remove_image(docker, image_id)
    docker.docker("pull", ref)
    assert inspect(docker, ref, "{{.Id}}") == image_id
    container = docker.docker("create", ref, "/bin/true").stdout.decode().strip()
    try:
        copied = docker.docker("cp", f"{container}:/data/large.bin", "-").stdout
    finally:
        docker.docker("rm", container)
    files = images.tar_files(copied)
    assert hashlib.sha256(files["large.bin"]).hexdigest() == checksum
    remove_image(docker, image_id)

    # Blobs stream through in pieces: no worker held the layer in memory on the way in or out.
    peaks_after = worker_peak_memory(berth.process.pid)
    baseline = min(peaks_before.values())
    growth = {pid: peak - peaks_before.get(pid, baseline) for pid, peak in peaks_after.items()}
    assert max(growth.values()) < LARGE_LAYER_SIZE // 2, f"worker memory grew by {growth} bytes"
