"""The embedded defaults that `make run` starts (SQLite, filesystem blobs) serve real clients.

Every other test runs on PostgreSQL; this one keeps the default database honest, including the
manifest pull fast path, which reads the token and timestamps with raw SQL.
"""

import pytest

from tests.e2e import images
from tests.e2e.conftest import RegistryHTTP, Skopeo
from tests.servers import BerthServer

pytestmark = pytest.mark.e2e

MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def sqlite_berth(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("sqlite-berth")
    server = BerthServer(database_url=f"sqlite:///{data_dir}/berth.sqlite3", data_dir=data_dir).start()
    yield server
    server.stop()


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
