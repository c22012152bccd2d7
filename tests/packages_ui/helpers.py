"""Helpers the tests of this package import (conftest.py keeps only fixtures)."""

from registry.oci import media_types as mt
from tests.registry.helpers import OWNER, image_config, index_bytes, push_image, put_manifest, sha256

DESCRIPTION = "org.opencontainers.image.description"


LICENSES = "org.opencontainers.image.licenses"


SOURCE = "org.opencontainers.image.source"


HOST = "registry.example.test"


def push_labelled(api, reference: str = "latest", *, name: str = f"{OWNER}/app", labels=None,
                  architecture: str = "amd64", layer: bytes = b"layer", **extra) -> str:
    """Push an image whose config carries labels; return its digest."""
    digest, _ = push_image(api, reference, name=name, config=image_config(architecture, labels or {}),
                           layers=(layer,), **extra)
    return digest


def push_multiarch(api, reference: str = "latest", *, name: str = f"{OWNER}/multi", annotations=None,
                   child_labels=None) -> tuple[str, list[str]]:
    """Push an amd64 and an arm64/v8 image by digest, then an index over them; return the digests."""
    children = []
    for arch, variant in (("amd64", None), ("arm64", "v8")):
        digest, raw = push_image(api, None, name=name, config=image_config(arch, child_labels or {}),
                                 layers=(f"layer for {arch}".encode(),))
        platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
        children.append({"mediaType": mt.OCI_MANIFEST, "digest": digest, "size": len(raw), "platform": platform})
    extra = {"annotations": annotations} if annotations else {}
    raw = index_bytes(children, **extra)
    response = put_manifest(api, reference, raw, mt.OCI_INDEX, name)
    assert response.status_code == 201, response.content
    return sha256(raw), [c["digest"] for c in children]
