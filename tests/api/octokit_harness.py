"""The Octokit harness (tests/api/octokit/): the fixture that installs @octokit/rest, and running a script of it."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.servers import require_tool

HARNESS = Path(__file__).resolve().parent / "octokit"


@pytest.fixture(scope="module")
def octokit_installed() -> Path:
    """Install the pinned @octokit/rest (package-lock.json) unless it is there already."""
    require_tool("node")
    npm = require_tool("npm")
    if not (HARNESS / "node_modules" / "@octokit" / "rest").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HARNESS)], check=True,
                       capture_output=True, timeout=300)
    return HARNESS


def run_script(harness: Path, script: str, **env: str) -> dict:
    """Run script with node in harness, env added to this process's, and return the JSON it prints."""
    done = subprocess.run(["node", script], cwd=harness, env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
