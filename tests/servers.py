"""Real processes the end-to-end tests talk to: Berth under gunicorn, and dockerd (harness/, with the tests' rules)."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import berth, docker
from harness.processes import exited, http_up, wait_until
from tests.pgplugin import free_port

ROOT = berth.ROOT

__all__ = ["ROOT", "BerthServer", "Dockerd", "exited", "free_port", "http_up", "overlay_works", "require_tool",
           "wait_until"]


def require_tool(name: str) -> str:
    """Return the path of a command-line tool; skip without it, but fail in CI."""
    path = shutil.which(name)
    if path:
        return path
    message = f"{name} is not installed (apt-get install {name}); .ci/run installs it"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


class BerthServer(berth.BerthServer):
    """Berth under gunicorn on 127.0.0.1, two workers of four threads unless told otherwise (None: config's)."""

    def __init__(self, *, workers: int | None = 2, threads: int | None = 4, **kwargs):
        super().__init__(workers=workers, threads=threads, **kwargs)


def overlay_works(folder: Path) -> bool:
    """Return whether the kernel mounts an overlay filesystem on folder's filesystem (not so on most overlays)."""
    with tempfile.TemporaryDirectory(dir=folder) as probe:
        layers = {name: Path(probe) / name for name in ("lower", "upper", "work", "merged")}
        for layer in layers.values():
            layer.mkdir()
        options = f"lowerdir={layers['lower']},upperdir={layers['upper']},workdir={layers['work']}"
        mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(layers["merged"])],
                                 capture_output=True).returncode == 0
        if mounted:
            subprocess.run(["umount", str(layers["merged"])], capture_output=True)
        return mounted


class Dockerd(docker.Dockerd):
    """A private docker daemon (no networking setup), or the one BERTH_TEST_DOCKER_HOST names.

    Its storage is overlay2 where the kernel allows it there, else vfs: vfs copies the whole
    filesystem for every layer and container, which made building the production image and the
    daemon's clean-up take minutes.
    """

    failure = AssertionError

    def start(self) -> "Dockerd":
        require_tool("docker")
        if os.environ.get("BERTH_TEST_DOCKER_HOST"):
            self.host = os.environ["BERTH_TEST_DOCKER_HOST"]
            return self
        dockerd = require_tool("dockerd")
        if os.geteuid() != 0:
            pytest.skip("dockerd needs root; set BERTH_TEST_DOCKER_HOST to a running daemon")
        self.storage_driver = "overlay2" if overlay_works(self.root) else "vfs"
        return super().start(dockerd)
