"""Starting, waiting for and stopping local processes, and the daemon shape dockerd and containerd share."""

import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, *, timeout: float, what: str, log: Path | None = None) -> None:
    """Call check until it returns true; raise with log's tail if timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout}s\n{tail}")


def http_up(url: str, timeout: float = 1) -> bool:
    """Return True once url answers HTTP at all (any status), False while nothing listens."""
    try:
        urllib.request.urlopen(url, timeout=timeout)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def exited(process: subprocess.Popen, log: Path, what: str) -> None:
    """Raise with the log's tail if process has exited."""
    if process.poll() is not None:
        raise RuntimeError(f"{what} exited:\n{log.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """Terminate process and wait for it; kill it if it is still running after timeout seconds."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Daemon:
    """A daemon with its own root folder and log, removed when it stops."""

    name = "daemon"  # the log is <name>.log in the root folder
    stop_timeout = 20

    def __init__(self, prefix: str):
        self.root = Path(tempfile.mkdtemp(prefix=prefix))
        self.log = self.root / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    def spawn(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdout=self.log.open("ab"), stderr=subprocess.STDOUT)

    def cleanup(self) -> None:
        """Undo what the daemon leaves outside its process once it has stopped (mounts, say)."""

    def stop(self) -> None:
        stop(self.process, timeout=self.stop_timeout)
        self.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)
