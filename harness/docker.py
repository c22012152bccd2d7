"""A private docker daemon: vfs storage unless told otherwise, no networking setup, its own client config."""

import os
import subprocess

from harness.processes import Daemon, wait_until


class Dockerd(Daemon):
    """dockerd with its root, state and socket in a temporary folder; docker() runs the CLI against it."""

    name = "dockerd"
    failure = RuntimeError  # what docker() raises when a command fails

    def __init__(self, prefix: str = "berth-dockerd-", storage_driver: str = "vfs"):
        super().__init__(prefix)
        self.storage_driver = storage_driver
        self.host = f"unix://{self.root}/docker.sock"
        self.config = self.root / "config"
        self.config.mkdir()

    def start(self, dockerd: str = "dockerd") -> "Dockerd":
        if os.geteuid() != 0:
            raise RuntimeError("dockerd needs root")
        self.spawn([dockerd, f"--storage-driver={self.storage_driver}", "--iptables=false", "--ip-masq=false",
                    "--bridge=none", f"--data-root={self.root}/data", f"--exec-root={self.root}/exec",
                    f"--pidfile={self.root}/pid", "-H", self.host])
        wait_until(lambda: self.docker("version", check=False).returncode == 0, timeout=60,
                   what="dockerd", log=self.log)
        return self

    def docker(self, *args: str, check: bool = True, input: bytes | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess:
        """Run the docker CLI against this daemon with its own client config (logins)."""
        env = {**os.environ, "DOCKER_HOST": self.host, "DOCKER_CONFIG": str(self.config),
               "DOCKER_BUILDKIT": "0", "DOCKER_CLI_HINTS": "false"}
        result = subprocess.run(["docker", *args], env=env, input=input, capture_output=True, timeout=timeout)
        if check and result.returncode != 0:
            raise self.failure(f"docker {' '.join(args)} failed ({result.returncode}):\n"
                               f"{result.stdout.decode(errors='replace')}\n{result.stderr.decode(errors='replace')}")
        return result

    def cleanup(self) -> None:
        # Containers' mounts under exec-root outlive the daemon; rmtree can't remove them while mounted.
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True)
