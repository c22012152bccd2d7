"""containerd's ctr pushes to and pulls from a live Berth, with credentials and anonymously.

With --user, containerd first asks /token for a token with an OAuth2 password grant (a POST) and
falls back to a GET with Basic credentials only on some statuses; these tests hold Berth to the
POST path as containerd really uses it.
"""

import json
import re
from dataclasses import dataclass

import pytest

from tests.e2e import images

pytestmark = pytest.mark.e2e

FILES = {
    "etc/ctr-test": b"pushed by containerd's ctr in tests/e2e/test_containerd.py\n",
    "opt/ctr/data.bin": bytes(range(256)) * 16,
}


@dataclass(frozen=True)
class Imported:
    layout: images.OCILayout
    name: str  # the image's name in the containerd namespace

    @property
    def manifest(self) -> images.Blob:
        return self.layout.index

    @property
    def layer(self) -> images.Blob:
        return next(b for b in self.layout.blobs if b.media_type == images.OCI_LAYER_GZIP)


@pytest.fixture(scope="module")
def imported(containerd, tmp_path_factory) -> Imported:
    """A one-layer image built from local files and imported into containerd from an oci-archive."""
    folder = tmp_path_factory.mktemp("ctr-image")
    layout = images.write_single_image_layout(folder / "layout", tag="1", files=FILES)
    archive = folder / "image.tar"
    archive.write_bytes(images.layout_archive(layout))
    containerd.ctr("images", "import", "--base-name", "berth-e2e/ctr", "--snapshotter", "native", str(archive))
    return Imported(layout, "berth-e2e/ctr:1")


def user(credentials) -> str:
    return f"{credentials.username}:{credentials.password}"


def push(containerd, imported: Imported, ref: str, credentials=None, check: bool = True):
    containerd.ctr("images", "tag", "--force", imported.name, ref)
    return containerd.ctr("images", "push", "--plain-http", *(("--user", user(credentials)) if credentials else ()),
                          ref, check=check)


def pull(containerd, ref: str, namespace: str, credentials=None, check: bool = True):
    return containerd.ctr("images", "pull", "--plain-http", "--snapshotter", "native",
                          *(("--user", user(credentials)) if credentials else ()), ref,
                          namespace=namespace, check=check)


def image_target(containerd, ref: str, namespace: str) -> str:
    """Return the digest a ref names in a containerd namespace."""
    listing = containerd.ctr("images", "ls", namespace=namespace).output
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == ref:
            return fields[2]
    raise AssertionError(f"{ref} is not in namespace {namespace}:\n{listing}")


def blob_gets(log: str, path: str) -> dict[str, str]:
    """Return {digest: status} of the blob GETs for path in gunicorn's access log."""
    pattern = rf'"GET /v2/{re.escape(path)}/blobs/(sha256:[0-9a-f]{{64}}) HTTP/1.1" (\d+)'
    return {digest: status for digest, status in re.findall(pattern, log)}


@pytest.fixture(scope="module")
def pushed(containerd, imported, berth, owner) -> str:
    """Push the imported image to OWNER/ctr:1 with the owner's token, and return the reference."""
    ref = f"{berth.host}/{owner.username}/ctr:1"
    push(containerd, imported, ref, owner)
    return ref


def test_push_with_credentials_stores_the_image_unchanged(pushed, imported, owner, registry_http):
    path = f"{owner.username}/ctr"
    response = registry_http.get(f"/v2/{path}/manifests/1", headers={"Accept": images.OCI_MANIFEST})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == images.OCI_MANIFEST
    assert response.headers["Docker-Content-Digest"] == imported.manifest.digest
    assert response.content == imported.manifest.data
    manifest = json.loads(response.content)
    for descriptor in [manifest["config"], *manifest["layers"]]:
        blob = registry_http.get(f"/v2/{path}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200
        assert images.sha256(blob.content) == descriptor["digest"]
    assert registry_http.get(f"/v2/{path}/tags/list").json()["tags"] == ["1"]


def test_pull_with_credentials_fetches_every_blob(pushed, imported, containerd, berth, owner):
    # A namespace of its own: with isolated content, containerd must download what the import holds.
    namespace = "berth-pull"
    assert containerd.ctr("content", "get", imported.layer.digest, namespace=namespace, check=False).returncode != 0
    pull(containerd, pushed, namespace, owner)

    assert image_target(containerd, pushed, namespace) == imported.manifest.digest
    for blob in imported.layout.blobs:
        assert containerd.ctr("content", "get", blob.digest, namespace=namespace).stdout == blob.data
    gets = blob_gets(berth.log.read_text(errors="replace"), f"{owner.username}/ctr")
    assert gets.get(imported.layer.digest) == "200", gets
    # Unpacking checked the layer against the config's diff_ids; the snapshot is there.
    snapshots = containerd.ctr("snapshots", "--snapshotter", "native", "ls", namespace=namespace).output
    config = json.loads(next(b for b in imported.layout.blobs if b.media_type == images.OCI_CONFIG).data)
    assert config["rootfs"]["diff_ids"][0] in snapshots  # one layer: its chain ID is its diff ID


def copy_in(skopeo, imported: Imported, berth, path: str) -> str:
    """Put the image at path:1 with skopeo (it asks /token with a GET, not ctr's POST); return the reference."""
    skopeo("copy", "--dest-tls-verify=false", "--dest-creds", skopeo.creds,
           f"oci:{imported.layout.path}:1", f"docker://{berth.host}/{path}:1")
    return f"{berth.host}/{path}:1"


def test_anonymous_pull_of_a_public_package(imported, containerd, berth, owner, skopeo):
    path = f"{owner.username}/ctr-public"
    ref = copy_in(skopeo, imported, berth, path)
    berth.manage("set_visibility", path, "public")

    pull(containerd, ref, "berth-anonymous")
    assert image_target(containerd, ref, "berth-anonymous") == imported.manifest.digest
    assert containerd.ctr("content", "get", imported.layer.digest, namespace="berth-anonymous").stdout \
        == imported.layer.data


def test_pull_configured_by_a_hosts_dir(imported, containerd, berth, owner, skopeo, tmp_path):
    # How containerd is set up in production (CRI's config_path): hosts.toml per registry, no --plain-http.
    path = f"{owner.username}/ctr-hosts"
    ref = copy_in(skopeo, imported, berth, path)
    berth.manage("set_visibility", path, "public")
    (tmp_path / berth.host).mkdir()
    (tmp_path / berth.host / "hosts.toml").write_text(
        f'server = "{berth.url}"\n\n[host."{berth.url}"]\n  capabilities = ["pull", "resolve"]\n')

    containerd.ctr("images", "pull", "--hosts-dir", str(tmp_path), "--snapshotter", "native", ref,
                   namespace="berth-hosts")
    assert image_target(containerd, ref, "berth-hosts") == imported.manifest.digest


def test_anonymous_pull_of_a_private_package_is_refused(imported, containerd, berth, owner, skopeo):
    ref = copy_in(skopeo, imported, berth, f"{owner.username}/ctr-private")
    result = pull(containerd, ref, "berth-stranger", check=False)
    assert result.returncode != 0
    assert "401 Unauthorized" in result.output, result.output
    assert containerd.ctr("images", "ls", "-q", namespace="berth-stranger").stdout.strip() == b""


def test_wrong_password_is_refused(imported, containerd, berth, owner, registry_http):
    path = f"{owner.username}/ctr-wrong"
    result = push(containerd, imported, f"{berth.host}/{path}:1", type(owner)(owner.username, "not-the-token"),
                  check=False)
    assert result.returncode != 0
    assert "401 Unauthorized" in result.output, result.output
    assert registry_http.get(f"/v2/{path}/manifests/1").status_code == 404


def test_read_only_token_pulls_but_cannot_push(pushed, imported, containerd, berth, owner, registry_http):
    token = berth.manage("create_token", owner.username, "--scopes", "read:packages",
                         "--note", "ctr read-only").strip()
    reader = type(owner)(owner.username, token)
    pull(containerd, pushed, "berth-reader", reader)
    assert image_target(containerd, pushed, "berth-reader") == imported.manifest.digest

    refused = push(containerd, imported, f"{berth.host}/{owner.username}/ctr:read-only", reader, check=False)
    assert refused.returncode != 0
    assert "403 Forbidden" in refused.output, refused.output  # signed in, but the token may not push
    assert registry_http.get(f"/v2/{owner.username}/ctr/manifests/read-only").status_code == 404
