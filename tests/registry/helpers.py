"""Build blobs, manifests and indexes and push them through the distribution API.

Every helper talks HTTP through the `api` client, under OWNER's packages only, so the
tests keep working once the accounts work makes `api` authenticate and enforces access.
"""

import hashlib
import json

from registry.oci import media_types as mt
from registry.storage import get_store

OWNER = "alice"
REPO = f"{OWNER}/app"

OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
EMPTY_JSON = b"{}"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def body(response) -> bytes:
    """Return a response's body, streamed or not."""
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def error(response, status: int, code: str) -> dict:
    """Assert a spec error response and return its first error."""
    assert response.status_code == status, (response.status_code, body(response)[:500])
    document = json.loads(body(response))
    assert set(document) == {"errors"}, document
    first = document["errors"][0]
    assert first["code"] == code, document
    assert isinstance(first["message"], str) and len(first["message"]) > 10, first
    return first


def request(api, method: str, path: str, data: bytes = b"", content_type: str = "application/octet-stream",
            headers: dict[str, str] | None = None, **environ):
    return api.generic(method, path, data, content_type=content_type, headers=headers or {}, **environ)


def start_upload(api, name: str = REPO) -> str:
    """Start an upload session and return its Location."""
    response = request(api, "POST", f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202, body(response)
    return response["Location"]


def push_blob(api, data: bytes, name: str = REPO) -> str:
    """Push a blob in one POST ?digest= and return its digest."""
    digest = sha256(data)
    response = request(api, "POST", f"/v2/{name}/blobs/uploads/?digest={digest}", data)
    assert response.status_code == 201, body(response)
    return digest


def descriptor(data: bytes, media_type: str, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def image_config(architecture: str = "amd64", labels: dict[str, str] | None = None) -> bytes:
    return json.dumps({
        "architecture": architecture,
        "os": "linux",
        "config": {"Labels": labels or {}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }).encode()


def manifest_bytes(*, config: dict, layers: list[dict], media_type: str = mt.OCI_MANIFEST, **extra) -> bytes:
    document = {"schemaVersion": 2, "mediaType": media_type, "config": config, "layers": layers, **extra}
    return json.dumps(document, indent=2).encode()


def index_bytes(children: list[dict], media_type: str = mt.OCI_INDEX, **extra) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": children, **extra}).encode()


def put_manifest(api, reference: str, raw: bytes, media_type: str = mt.OCI_MANIFEST, name: str = REPO, query=""):
    return request(api, "PUT", f"/v2/{name}/manifests/{reference}{query}", raw, content_type=media_type)


def push_image(api, reference: str | None = None, *, name: str = REPO, layers: tuple[bytes, ...] = (b"layer",),
               config: bytes | None = None, media_type: str = mt.OCI_MANIFEST, **extra) -> tuple[str, bytes]:
    """Push config and layer blobs, then an image manifest; return its digest and bytes."""
    docker = media_type == mt.DOCKER_MANIFEST
    config = config if config is not None else image_config()
    push_blob(api, config, name)
    for layer in layers:
        push_blob(api, layer, name)
    raw = manifest_bytes(
        config=descriptor(config, mt.DOCKER_CONFIG if docker else mt.OCI_CONFIG),
        layers=[descriptor(layer, DOCKER_LAYER if docker else OCI_LAYER) for layer in layers],
        media_type=media_type,
        **extra,
    )
    digest = sha256(raw)
    response = put_manifest(api, reference or digest, raw, media_type, name)
    assert response.status_code == 201, body(response)
    return digest, raw


def push_artifact(api, subject: dict | None, artifact_type: str, *, name: str = REPO,
                  annotations: dict[str, str] | None = None, payload: bytes = b"signature") -> tuple[str, bytes]:
    """Push an OCI artifact (empty config, one blob) that refers to subject; return digest and bytes."""
    push_blob(api, EMPTY_JSON, name)
    push_blob(api, payload, name)
    extra = {"artifactType": artifact_type}
    if subject is not None:
        extra["subject"] = subject
    if annotations:
        extra["annotations"] = annotations
    raw = manifest_bytes(config=descriptor(EMPTY_JSON, mt.OCI_EMPTY),
                         layers=[descriptor(payload, "application/octet-stream")], **extra)
    digest = sha256(raw)
    response = put_manifest(api, digest, raw, name=name)
    assert response.status_code == 201, body(response)
    return digest, raw


def tags(api, name: str = REPO) -> list[str]:
    response = api.get(f"/v2/{name}/tags/list")
    assert response.status_code == 200, body(response)
    return response.json()["tags"]


def uploads_left(settings) -> list[str]:
    """Return what the blob store still holds of unfinished uploads.

    Filesystem: the files in its upload folder. S3: objects without a digest tag (a finished
    blob gets one) and unfinished multipart uploads, both under the store's blobs/ prefix.
    """
    store = get_store()
    if settings.BERTH_STORAGE == "s3":
        objects = [item["Key"] for item in store.bucket.objects() if not _digest_tag(store.bucket, item["Key"])]
        multipart = [f"multipart upload {mpu['Key']}" for mpu in store.bucket.multipart_uploads()]
        return sorted(objects + multipart)
    return sorted(path.name for path in store.upload_root.iterdir()) if store.upload_root.exists() else []


def blobs_stored(settings) -> list[str]:
    """Return the digest of every finished blob the blob store holds, once per stored copy.

    Filesystem: the files under its blob folder. S3: the objects tagged with a digest.
    Between them, blobs_stored and uploads_left account for everything a store holds.
    """
    store = get_store()
    if settings.BERTH_STORAGE == "s3":
        tags = (_digest_tag(store.bucket, item["Key"]) for item in store.bucket.objects())
        return sorted(tag for tag in tags if tag)
    files = [path.relative_to(store.blob_root) for path in store.blob_root.rglob("*") if path.is_file()]
    # blobs/<algorithm>/<2 hex>/<encoded>; anything else is listed by its path, so it still counts.
    return sorted(f"{f.parts[0]}:{f.name}" if len(f.parts) == 3 else str(f) for f in files)


def _digest_tag(bucket, key: str) -> str:
    tags = bucket.client.get_object_tagging(Bucket=bucket.name, Key=key)["TagSet"]
    return next((tag["Value"] for tag in tags if tag["Key"] == "digest"), "")
