"""Session fixtures of the end-to-end tests: logged-in clients and base images built once."""

import pytest

from tests.containerd import Containerd
from tests.e2e import images
from tests.e2e.helpers import APP_LABELS, ContainerTool, LocalImage, RegistryHTTP, Skopeo, inspect


@pytest.fixture(scope="session")
def registry_http(berth, owner):
    with RegistryHTTP(berth.url, owner.username, owner.password) as http:
        yield http


@pytest.fixture(scope="session")
def docker(berth, dockerd, owner):
    """The session's dockerd, logged in to the session's Berth as the owner."""
    dockerd.docker("login", berth.host, "-u", owner.username, "--password-stdin", input=owner.password.encode())
    return dockerd


@pytest.fixture(scope="session")
def containerd():
    """A private containerd for the run."""
    daemon = Containerd()
    try:
        yield daemon.start()
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def skopeo(berth, owner, tmp_path_factory) -> Skopeo:
    return Skopeo(tmp_path_factory.mktemp("skopeo"), f"{owner.username}:{owner.password}")


@pytest.fixture(scope="session")
def podman(tmp_path_factory) -> ContainerTool:
    """podman on storage of its own, with no cgroup manager or event journal to talk to."""
    root = tmp_path_factory.mktemp("podman")
    return ContainerTool("podman", root, "--cgroup-manager", "cgroupfs", "--events-backend", "none",
                         "--tmpdir", str(root / "libpod"))


@pytest.fixture(scope="session")
def buildah(tmp_path_factory) -> ContainerTool:
    """buildah on storage of its own."""
    return ContainerTool("buildah", tmp_path_factory.mktemp("buildah"))


@pytest.fixture(scope="session")
def base_image(docker) -> LocalImage:
    """A base image imported from a small local root filesystem tar."""
    rootfs = images.base_rootfs()
    docker.docker("import", "-", "berth-e2e/base:1", input=rootfs)
    return LocalImage("berth-e2e/base:1", inspect(docker, "berth-e2e/base:1", "{{.Id}}"), {},
                      images.tar_files(rootfs))


@pytest.fixture(scope="session")
def app_image(docker, base_image, tmp_path_factory) -> LocalImage:
    """An image built with docker build (FROM, COPY, LABEL) on the base image."""
    files = {
        "app/hello.txt": b"hello from Berth's end-to-end tests\n",
        "app/data.bin": bytes(range(256)) * 64,
    }
    dockerfile = "\n".join([
        f"FROM {base_image.ref}",
        "COPY app/ /app/",
        *(f'LABEL {key}="{value}"' for key, value in APP_LABELS.items()),
        "",
    ])
    context = images.write_build_context(tmp_path_factory.mktemp("app-context"), dockerfile, files)
    docker.docker("build", "-t", "berth-e2e/app:1", str(context))
    return LocalImage("berth-e2e/app:1", inspect(docker, "berth-e2e/app:1", "{{.Id}}"), APP_LABELS,
                      {**base_image.files, **files})
