"""The embedded defaults that `make run` starts (SQLite, filesystem blobs, the secret key in the data
folder) serve real clients, and README's commands work on them as written.

Every other test runs on PostgreSQL; this one keeps the default database honest, including the
manifest pull fast path, which reads the token and timestamps with raw SQL.
"""

import json
import os
import subprocess

import pytest

from tests.e2e import images
from tests.e2e.helpers import RegistryHTTP, Skopeo
from tests.servers import BerthServer
from tests.test_deploy import make_secret_key, readme_commands

pytestmark = pytest.mark.e2e

MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
# Where README's commands point: `make run`'s address and its runtime venv.
README_HOST = "127.0.0.1:8000"
README_PYTHON = "var/venv/bin/python"


@pytest.fixture(scope="module")
def sqlite_berth(tmp_path_factory):
    """Berth as `make run` starts it: no SECRET_KEY in the environment, only the key file it writes."""
    data_dir = tmp_path_factory.mktemp("sqlite-berth")
    make_secret_key(data_dir)
    server = BerthServer(database_url=f"sqlite:///{data_dir}/berth.sqlite3", data_dir=data_dir)
    del server.env["SECRET_KEY"]
    yield server.start()
    server.stop()


def run_readme_manage(server: BerthServer, block: str) -> str:
    """Run README's manage.py command lines of block as written (but with this venv's python)."""
    output = ""
    for line in readme_commands(block):
        assert line.startswith(f"{README_PYTHON} manage.py "), line
        args = line.removeprefix(f"{README_PYTHON} manage.py ").split()
        output += server.manage(*args)
    return output


def test_push_and_repeated_token_pulls_on_sqlite(sqlite_berth, tmp_path):
    token = sqlite_berth.manage("create_token", "alice", "--create-user", "--scopes", "write:packages").strip()
    (tmp_path / "skopeo").mkdir()
    skopeo = Skopeo(tmp_path / "skopeo", f"alice:{token}")
    layout = images.write_single_image_layout(tmp_path / "layout", tag="1.0", files={"hello.txt": b"hello\n"})
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", skopeo.creds,
           f"oci:{layout.path}:1.0", f"docker://{sqlite_berth.host}/alice/defaults:1.0")

    http = RegistryHTTP(sqlite_berth.url, "alice", token)
    # The first pull records the token's use through the full stack; the next ones take the fast path.
    for _ in range(3):
        response = http.get("/v2/alice/defaults/manifests/1.0", headers={"Accept": MANIFEST_ACCEPT})
        assert response.status_code == 200, response.text
        assert response.headers["Docker-Content-Digest"] == layout.index.digest
        assert response.content == layout.index.data

    pulled = tmp_path / "pulled"
    skopeo("copy", "--src-tls-verify=false", "--src-creds", skopeo.creds,
           f"docker://{sqlite_berth.host}/alice/defaults:1.0", f"oci:{pulled}:1.0")
    assert images.layout_ref(pulled, "1.0")["digest"] == layout.index.digest


def test_readme_walk_through_offline(sqlite_berth, dockerd, tmp_path):
    """README's token, login and offline push/pull commands, run by bash against a private dockerd."""
    token = run_readme_manage(sqlite_berth, "token").strip()
    assert token.startswith("berth_pat_")
    script = "\n".join(["set -euo pipefail", *readme_commands("login"), *readme_commands("offline"), ""])
    script = script.replace("YOUR_TOKEN", token).replace(README_HOST, sqlite_berth.host)
    env = {**os.environ, "DOCKER_HOST": dockerd.host, "DOCKER_CONFIG": str(dockerd.config), "DOCKER_CLI_HINTS": "false"}
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    # The last line is curl's tags/list.
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"name": "alice/hello", "tags": ["1.0"]}

    ref = f"{sqlite_berth.host}/alice/hello:1.0"
    container = dockerd.docker("create", ref, "/hello").stdout.decode().strip()
    try:
        assert images.tar_files(dockerd.docker("export", container).stdout)["hello.txt"] == b"hello from Berth\n"
    finally:
        dockerd.docker("rm", container)
        dockerd.docker("rmi", ref)

    # README's gc, as written, on the same key file and database: it keeps what is in use.
    run_readme_manage(sqlite_berth, "gc")
    http = RegistryHTTP(sqlite_berth.url, "alice", token)
    assert http.get("/v2/alice/hello/tags/list").json()["tags"] == ["1.0"]
    assert http.get("/v2/alice/hello/manifests/1.0", headers={"Accept": DOCKER_MANIFEST}).status_code == 200
