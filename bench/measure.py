"""What the benchmark measures with: a scratch blob file, medians, wrk and peak RSS sampling."""

import os
import re
import statistics
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from bench import client
from bench.servers import rss_bytes

MiB = 1024 * 1024


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


class DataFile:
    """A file of random bytes whose first 16 bytes change per use, so every push is a new blob."""

    def __init__(self, path: Path, size: int):
        self.path, self.size = path, size
        with open(path, "wb") as f:
            remaining = size
            while remaining:
                n = min(remaining, 16 * MiB)
                f.write(os.urandom(n))
                remaining -= n
        self.uses = 0

    def fresh(self) -> str:
        """Make the content unique and return its digest."""
        self.uses += 1
        with open(self.path, "r+b") as f:
            f.write(os.urandom(16))
        return client.file_digest(str(self.path))


def median(values):
    return statistics.median(values) if values else None


def wrk(url: str, headers: dict[str, str], seconds: int, connections: int = 16) -> dict[str, float]:
    """Run wrk against url; return requests/s and p50/p99 latency in ms."""
    args = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    output = subprocess.run(args + [url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise client.BenchError(f"wrk saw errors:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {}
    for percent in ("50", "99"):
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        latency[percent] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return {"rps": rps, "p50": latency["50"], "p99": latency["99"]}


class PeakRSS:
    """Sample the resident memory of a server's processes every 20 ms in a thread."""

    def __init__(self, pids):
        self.pids = pids
        self.total = 0
        self.per_process: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            sizes = {pid: rss_bytes(pid) for pid in self.pids()}
            self.total = max(self.total, sum(sizes.values()))
            for pid, size in sizes.items():
                self.per_process[pid] = max(self.per_process.get(pid, 0), size)
            self._stop.wait(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
