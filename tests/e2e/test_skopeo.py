"""The real skopeo copies multi-platform OCI images into, out of and within a live Berth."""

import json
import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs

import pytest

from tests.e2e import images
from tests.e2e.helpers import RegistryHTTP
from tests.helpers import Credentials, start_berth

pytestmark = pytest.mark.e2e

INDEX_ANNOTATIONS = {
    "org.opencontainers.image.description": "Berth multi-arch end-to-end test image",
    "org.opencontainers.image.licenses": "MIT",
    "org.opencontainers.image.source": "https://example.com/berth/multi",
}


@dataclass(frozen=True)
class PushedLayout:
    layout: images.OCILayout
    path: str  # OWNER/NAME
    ref: str  # docker://HOST/OWNER/NAME:TAG


def mounts_in_access_log(log: str, path: str) -> dict[str, tuple[str, str]]:
    """Return {digest: (from, status)} of the mount requests to path in gunicorn's access log."""
    mounts = {}
    for match in re.finditer(rf'"POST /v2/{re.escape(path)}/blobs/uploads/\?(\S+) HTTP/1.1" (\d+)', log):
        query = parse_qs(match.group(1))
        if "mount" in query:
            mounts[query["mount"][0]] = (query.get("from", [""])[0], match.group(2))
    return mounts


@pytest.fixture(scope="module")
def pushed_multi(berth, owner, skopeo, tmp_path_factory) -> PushedLayout:
    """A two-platform OCI layout written by Python and copied into OWNER/multi with skopeo --all."""
    layout = images.write_multiarch_layout(tmp_path_factory.mktemp("multi") / "layout", tag="3.1",
                                           annotations=INDEX_ANNOTATIONS)
    path = f"{owner.username}/multi"
    ref = f"docker://{berth.host}/{path}:{layout.tag}"
    skopeo("copy", "--all", "--dest-tls-verify=false", "--dest-creds", skopeo.creds,
           f"oci:{layout.path}:{layout.tag}", ref)
    return PushedLayout(layout, path, ref)


def test_multiarch_copy_round_trips_byte_for_byte(pushed_multi, skopeo, tmp_path):
    back = tmp_path / "back"
    skopeo("copy", "--all", "--src-tls-verify=false", "--src-creds", skopeo.creds,
           pushed_multi.ref, f"oci:{back}:copied")

    layout = pushed_multi.layout
    descriptor = images.layout_ref(back, "copied")
    assert descriptor["digest"] == layout.index.digest
    assert descriptor["mediaType"] == images.OCI_INDEX
    for blob in layout.blobs:
        assert images.read_layout_blob(back, blob.digest) == blob.data, f"{blob.media_type} {blob.digest} differs"
    stored = {p.name for p in (back / "blobs" / "sha256").iterdir()}
    assert stored == {blob.digest.removeprefix("sha256:") for blob in layout.blobs}


def test_inspect_raw_returns_the_index_unchanged(pushed_multi, skopeo):
    raw = skopeo("inspect", "--raw", "--tls-verify=false", "--creds", skopeo.creds, pushed_multi.ref).stdout
    assert raw == pushed_multi.layout.index.data
    assert json.loads(raw)["annotations"] == INDEX_ANNOTATIONS


@pytest.mark.parametrize("arch", ["arm64", "amd64"])
def test_inspect_picks_the_platform_asked_for(pushed_multi, skopeo, arch):
    info = skopeo.json("--override-arch", arch, "--override-os", "linux", "inspect", "--tls-verify=false",
                       "--creds", skopeo.creds, pushed_multi.ref)
    assert info["Architecture"] == arch
    assert info["Os"] == "linux"
    # skopeo reports the digest of what the tag names (the index) and the chosen platform's layers.
    assert info["Digest"] == pushed_multi.layout.index.digest
    manifest = json.loads(pushed_multi.layout.manifests[f"linux/{arch}"].data)
    assert info["Layers"] == [layer["digest"] for layer in manifest["layers"]]
    assert info["Labels"] == {"org.opencontainers.image.description": f"Berth multi-arch test image for {arch}"}
    assert info["RepoTags"] == [pushed_multi.layout.tag]


def test_registry_serves_the_index_with_its_annotations(pushed_multi, registry_http, skopeo):
    layout = pushed_multi.layout
    response = registry_http.get(f"/v2/{pushed_multi.path}/manifests/{layout.tag}",
                                 headers={"Accept": images.OCI_INDEX})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == images.OCI_INDEX
    assert response.headers["Docker-Content-Digest"] == layout.index.digest
    assert response.content == layout.index.data
    for platform, manifest in layout.manifests.items():
        child = registry_http.get(f"/v2/{pushed_multi.path}/manifests/{manifest.digest}",
                                  headers={"Accept": images.OCI_MANIFEST})
        assert child.status_code == 200, f"{platform}: {child.text}"
        assert child.content == manifest.data
    tags = skopeo.json("list-tags", "--tls-verify=false", "--creds", skopeo.creds,
                       pushed_multi.ref.rsplit(":", 1)[0])
    assert tags["Tags"] == [layout.tag]


def test_copy_between_repositories_mounts_blobs_then_delete(pushed_multi, berth, owner, skopeo, registry_http):
    layout = pushed_multi.layout
    arm64 = layout.manifests["linux/arm64"]
    path = f"{owner.username}/multi-copy"
    destination = f"docker://{berth.host}/{path}"
    skopeo("--override-arch", "arm64", "--override-os", "linux", "copy", "--src-tls-verify=false",
           "--dest-tls-verify=false", "--src-creds", skopeo.creds, "--dest-creds", skopeo.creds,
           pushed_multi.ref, f"{destination}:1")
    skopeo("copy", "--src-tls-verify=false", "--dest-tls-verify=false", "--src-creds", skopeo.creds,
           "--dest-creds", skopeo.creds, f"{destination}:1", f"{destination}:also")

    copied = registry_http.get(f"/v2/{path}/manifests/1", headers={"Accept": images.OCI_MANIFEST})
    assert copied.status_code == 200, copied.text
    assert copied.headers["Docker-Content-Digest"] == arm64.digest
    assert copied.content == arm64.data
    for descriptor in [json.loads(arm64.data)["config"], *json.loads(arm64.data)["layers"]]:
        blob = registry_http.get(f"/v2/{path}/blobs/{descriptor['digest']}")
        assert blob.status_code == 200
        assert images.sha256(blob.content) == descriptor["digest"]
    # skopeo found the layers in OWNER/multi and had Berth mount them rather than upload them again.
    mounted = mounts_in_access_log(berth.log.read_text(errors="replace"), path)
    for layer in json.loads(arm64.data)["layers"]:
        assert mounted.get(layer["digest"]) == (pushed_multi.path, "201"), mounted
    assert registry_http.get(f"/v2/{path}/tags/list").json()["tags"] == ["1", "also"]

    skopeo("delete", "--tls-verify=false", "--creds", skopeo.creds, f"{destination}:1")

    gone = registry_http.get(f"/v2/{path}/manifests/{arm64.digest}", headers={"Accept": images.OCI_MANIFEST})
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    assert registry_http.get(f"/v2/{path}/tags/list").json()["tags"] == []
    result = skopeo("inspect", "--tls-verify=false", "--creds", skopeo.creds, f"{destination}:also", check=False)
    assert result.returncode != 0
    assert "manifest unknown" in result.stderr.decode().lower()
    # The source repository keeps its copy.
    still = registry_http.get(f"/v2/{pushed_multi.path}/manifests/{arm64.digest}",
                              headers={"Accept": images.OCI_MANIFEST})
    assert still.status_code == 200


def saved_files(docker, ref: str) -> dict[str, bytes]:
    """Return the files of an image's layers, as `docker save` writes them (no container needed)."""
    archive = images.tar_files(docker.docker("save", ref).stdout)
    files = {}
    for layer in json.loads(archive["manifest.json"])[0]["Layers"]:
        files.update(images.tar_files(archive[layer]))
    return files


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_docker_pulls_the_platform_it_asks_for(pushed_multi, docker, berth, arch):
    ref = f"{berth.host}/{pushed_multi.path}:{pushed_multi.layout.tag}"
    docker.docker("pull", "--platform", f"linux/{arch}", ref)
    try:
        config = json.loads(pushed_multi.layout.manifests[f"linux/{arch}"].data)["config"]
        assert docker.docker("image", "inspect", "--format", "{{.Id}} {{.Architecture}}", ref).stdout.decode().split() \
            == [config["digest"], arch]
        assert saved_files(docker, ref)["etc/arch"] == f"{arch}\n".encode()
    finally:
        docker.docker("rmi", ref)


def test_docker_manifest_inspect_lists_both_platforms(pushed_multi, docker, berth):
    ref = f"{berth.host}/{pushed_multi.path}:{pushed_multi.layout.tag}"
    index = json.loads(docker.docker("manifest", "inspect", "--insecure", ref).stdout)
    assert [(m["platform"]["architecture"], m["digest"]) for m in index["manifests"]] == [
        (arch, pushed_multi.layout.manifests[f"linux/{arch}"].digest) for arch in ("amd64", "arm64")
    ]


DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def test_copy_converted_to_a_docker_manifest_list(pushed_multi, berth, owner, skopeo, registry_http, docker):
    path = f"{owner.username}/multi-docker"
    skopeo("copy", "--all", "--format", "v2s2", "--dest-tls-verify=false", "--dest-creds", skopeo.creds,
           f"oci:{pushed_multi.layout.path}:{pushed_multi.layout.tag}", f"docker://{berth.host}/{path}:1")

    listing = registry_http.get(f"/v2/{path}/manifests/1", headers={"Accept": DOCKER_LIST})
    assert listing.status_code == 200, listing.text
    assert listing.headers["Content-Type"] == DOCKER_LIST
    children = listing.json()["manifests"]
    assert [c["platform"] for c in children] == [{"architecture": a, "os": "linux"} for a in ("amd64", "arm64")]
    for child in children:
        manifest = registry_http.get(f"/v2/{path}/manifests/{child['digest']}", headers={"Accept": DOCKER_MANIFEST})
        assert manifest.headers["Content-Type"] == child["mediaType"] == DOCKER_MANIFEST
        assert images.sha256(manifest.content) == child["digest"]

    ref = f"{berth.host}/{path}:1"
    docker.docker("pull", "--platform", "linux/arm64", ref)
    try:
        assert saved_files(docker, ref)["etc/arch"] == b"arm64\n"
    finally:
        docker.docker("rmi", ref)


@pytest.fixture(scope="module")
def small_berth(tmp_path_factory, owner):
    """A second Berth that refuses layers over 1 MiB, with the owner's account and a token."""
    server = start_berth(tmp_path_factory, BERTH_MAX_LAYER_SIZE=str(1024 * 1024))
    try:
        token = server.manage("create_token", owner.username, "--scopes", "write:packages,delete:packages",
                              "--create-user", "--note", "end-to-end tests").strip()
        yield server, Credentials(owner.username, token)
    finally:
        server.stop()


def test_layer_over_the_size_limit_is_refused_with_the_reason(small_berth, skopeo, tmp_path):
    # skopeo, because the docker daemon retries SIZE_INVALID five times over a minute before giving up.
    server, credentials = small_berth
    layout = images.write_single_image_layout(tmp_path / "big", tag="1",
                                              files={"data/big.bin": os.urandom(2 * 1024 * 1024)})
    result = skopeo("copy", "--dest-tls-verify=false", "--dest-creds",
                    f"{credentials.username}:{credentials.password}", f"oci:{layout.path}:1",
                    f"docker://{server.host}/{credentials.username}/too-big:1", check=False)
    assert result.returncode != 0
    assert "larger than this registry's limit of 1048576 bytes (BERTH_MAX_LAYER_SIZE)" in result.stderr.decode()

    with RegistryHTTP(server.url, credentials.username, credentials.password) as http:
        assert http.get(f"/v2/{credentials.username}/too-big/manifests/1").status_code == 404
        layer = next(b for b in layout.blobs if b.media_type == images.OCI_LAYER_GZIP)
        assert http.request("HEAD", f"/v2/{credentials.username}/too-big/blobs/{layer.digest}").status_code == 404
    kept = [p for p in server.data_dir.rglob("*") if p.is_file() and p.stat().st_size > 1024 * 1024]
    assert not kept, f"the refused layer was kept: {kept}"
