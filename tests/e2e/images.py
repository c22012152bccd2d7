"""Test content built from local files: root filesystem tars, build contexts, OCI image layouts.

There is no network in the test machines, so every image the end-to-end tests push is made here.
"""

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

# Fixed mtimes keep tars (and so digests) the same from run to run.
EPOCH = 1_700_000_000


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """Return an uncompressed tar holding files (path -> content), with their parent folders."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folders = sorted({str(Path(p).parents[i]) for p in files for i in range(len(Path(p).parents) - 1)})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
            tar.addfile(info)
        for path, content in sorted(files.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, EPOCH
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def tar_files(data: bytes) -> dict[str, bytes]:
    """Return the regular files of a tar (as `docker export` or a layer holds them) by path."""
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for member in tar:
            if member.isfile():
                files[member.name.removeprefix("./")] = tar.extractfile(member).read()
    return files


def base_rootfs() -> bytes:
    """Return the tar `docker import` turns into the base image every docker test builds on."""
    return tar_bytes({
        "etc/os-release": b'NAME="Berth test base"\nID=berth-test\n',
        "etc/motd": b"A base image built from a local tar for Berth's end-to-end tests.\n",
        "bin/.keep": b"",
    })


def write_build_context(folder: Path, dockerfile: str, files: dict[str, bytes]) -> Path:
    """Write a Dockerfile and the files it copies into folder, and return folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Dockerfile").write_text(dockerfile)
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return folder


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return sha256(self.data)

    def descriptor(self, **extra) -> dict:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data), **extra}


@dataclass(frozen=True)
class OCILayout:
    """An OCI image layout on disk whose index.json names one index (or one image) by tag."""

    path: Path
    tag: str
    index: Blob  # what the tag names: a multi-platform index, or an image manifest
    manifests: dict[str, Blob]  # "os/arch" -> image manifest
    blobs: tuple[Blob, ...]  # every blob in the layout, the index included


def json_bytes(document: dict) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


def platform_image(os_name: str, architecture: str, files: dict[str, bytes],
                   labels: dict[str, str]) -> tuple[Blob, Blob, Blob]:
    """Return (manifest, config, layer) of a one-layer OCI image for one platform."""
    diff = tar_bytes(files)
    layer = Blob(OCI_LAYER_GZIP, gzip.compress(diff, mtime=0))
    config = Blob(OCI_CONFIG, json_bytes({
        "architecture": architecture,
        "os": os_name,
        "created": "2026-11-24T00:00:00Z",
        "config": {"Labels": labels, "Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": [sha256(diff)]},
        "history": [{"created": "2026-11-24T00:00:00Z", "created_by": "tests/e2e/images.py"}],
    }))
    manifest = Blob(OCI_MANIFEST, json_bytes({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
        "annotations": {"org.opencontainers.image.title": f"berth-multi {os_name}/{architecture}"},
    }))
    return manifest, config, layer


def write_multiarch_layout(folder: Path, *, tag: str, annotations: dict[str, str]) -> OCILayout:
    """Write an OCI layout with an index over linux/amd64 and linux/arm64 images, each its own layer."""
    blobs, manifests, descriptors = [], {}, []
    for arch in ("amd64", "arm64"):
        manifest, config, layer = platform_image(
            "linux", arch,
            {"etc/arch": f"{arch}\n".encode(), f"opt/berth/{arch}.bin": hashlib.sha512(arch.encode()).digest() * 64},
            {"org.opencontainers.image.description": f"Berth multi-arch test image for {arch}"},
        )
        blobs += [manifest, config, layer]
        manifests[f"linux/{arch}"] = manifest
        descriptors.append(manifest.descriptor(platform={"os": "linux", "architecture": arch}))
    index = Blob(OCI_INDEX, json_bytes({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": descriptors,
        "annotations": annotations,
    }))
    blobs.append(index)

    write_layout(folder, tag, index, blobs)
    return OCILayout(folder, tag, index, manifests, tuple(blobs))


def write_single_image_layout(folder: Path, *, tag: str, files: dict[str, bytes]) -> OCILayout:
    """Write an OCI layout whose tag names one linux/amd64 image with one layer holding files."""
    manifest, config, layer = platform_image("linux", "amd64", files, {})
    write_layout(folder, tag, manifest, [layer, config, manifest])
    return OCILayout(folder, tag, manifest, {"linux/amd64": manifest}, (layer, config, manifest))


def write_layout(folder: Path, tag: str, top: Blob, blobs: list[Blob]) -> None:
    """Write blobs into an OCI layout at folder, with index.json naming top by tag."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    store = folder / "blobs" / "sha256"
    store.mkdir(parents=True, exist_ok=True)
    for blob in blobs:
        (store / blob.digest.removeprefix("sha256:")).write_bytes(blob.data)
    (folder / "index.json").write_bytes(json_bytes({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [top.descriptor(annotations={"org.opencontainers.image.ref.name": tag})],
    }))


def read_layout_blob(folder: Path, digest: str) -> bytes:
    """Return a blob's bytes from an OCI layout."""
    algorithm, hex_digest = digest.split(":", 1)
    return (folder / "blobs" / algorithm / hex_digest).read_bytes()


def layout_ref(folder: Path, tag: str) -> dict:
    """Return the descriptor index.json of a layout gives for tag."""
    index = json.loads((folder / "index.json").read_text())
    for descriptor in index["manifests"]:
        if descriptor.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return descriptor
    raise AssertionError(f"{tag} is not in {folder}/index.json: {index}")


def layout_archive(layout: OCILayout) -> bytes:
    """Return an OCI layout as one tar (an oci-archive), the form `ctr images import` and `podman load` read."""
    files = {str(path.relative_to(layout.path)): path.read_bytes()
             for path in sorted(layout.path.rglob("*")) if path.is_file()}
    return tar_bytes(files)
