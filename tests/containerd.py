"""A private containerd for the end-to-end tests, driven with its own CLI, ctr."""

import os
import subprocess

import pytest

from harness.processes import Daemon, exited, wait_until
from tests.servers import require_tool

# Plugins that want a kubelet, networking or filesystems the test machines lack; the tests only
# need the content store, images, leases and a snapshotter to unpack into.
DISABLED_PLUGINS = [
    "io.containerd.grpc.v1.cri",
    "io.containerd.snapshotter.v1.aufs",
    "io.containerd.snapshotter.v1.btrfs",
    "io.containerd.snapshotter.v1.devmapper",
    "io.containerd.snapshotter.v1.zfs",
    "io.containerd.internal.v1.tracing",
    "io.containerd.tracing.processor.v1.otlp",
]


class Containerd(Daemon):
    """containerd with its own root, state, sockets and config in a temporary folder.

    Content is isolated per namespace, so a pull into a fresh namespace has to fetch every blob from
    the registry even when another namespace holds it already.
    """

    name = "containerd"
    namespace = "berth-test"

    def __init__(self):
        super().__init__("berth-containerd-")
        self.address = str(self.root / "containerd.sock")
        self.config = self.root / "config.toml"

    def write_config(self) -> None:
        disabled = ", ".join(f'"{name}"' for name in DISABLED_PLUGINS)
        self.config.write_text(f"""\
version = 2
root = "{self.root}/root"
state = "{self.root}/state"
disabled_plugins = [{disabled}]

[grpc]
  address = "{self.address}"

[ttrpc]
  address = "{self.address}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{self.root}/opt"

[plugins."io.containerd.metadata.v1.bolt"]
  content_sharing_policy = "isolated"
""")

    def start(self) -> "Containerd":
        require_tool("ctr")
        containerd = require_tool("containerd")
        if os.geteuid() != 0:
            pytest.skip("containerd needs root")
        self.write_config()
        self.spawn([containerd, "--config", str(self.config)])
        wait_until(self.ready, timeout=30, what="containerd", log=self.log)
        return self

    def ready(self) -> bool:
        exited(self.process, self.log, "containerd")
        return self.ctr("version", check=False).returncode == 0

    def ctr(self, *args: str, namespace: str | None = None, check: bool = True, input: bytes | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
        """Run ctr against this containerd, in namespace (the class's by default)."""
        command = ["ctr", "--address", self.address, "--namespace", namespace or self.namespace, *args]
        result = subprocess.run(command, input=input, capture_output=True, timeout=timeout)
        result.output = (result.stdout + result.stderr).decode(errors="replace")
        if check and result.returncode != 0:
            raise AssertionError(f"ctr {' '.join(args)} failed ({result.returncode}):\n{result.output}")
        return result
