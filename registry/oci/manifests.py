"""Parse and validate image manifests, indexes and artifacts (no storage or Django here)."""

import json
from dataclasses import dataclass, field
from typing import Any

from . import media_types as mt
from .digests import parse_digest
from .errors import DigestInvalid, ManifestInvalid, Unsupported


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str = ""
    os_version: str = ""

    def as_dict(self) -> dict[str, str]:
        data = {"os": self.os, "architecture": self.architecture}
        if self.variant:
            data["variant"] = self.variant
        if self.os_version:
            data["os.version"] = self.os_version
        return data


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    platform: Platform | None = None
    artifact_type: str = ""
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_foreign(self) -> bool:
        return mt.is_foreign_layer(self.media_type)


@dataclass(frozen=True)
class ParsedManifest:
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str
    annotations: dict[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    @property
    def is_image(self) -> bool:
        """Return True when the config is a container image config (labels, platform)."""
        return self.config is not None and self.config.media_type in mt.IMAGE_CONFIGS

    @property
    def effective_artifact_type(self) -> str:
        """Return artifactType, or the config media type for an artifact without one."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None and not self.is_image:
            return self.config.media_type
        return ""

    def blob_descriptors(self) -> tuple[Descriptor, ...]:
        """Return the config and layers: the blobs this manifest needs in the package."""
        return ((self.config,) if self.config else ()) + self.layers


def listed_artifact_type(media_type: str, artifact_type: str, raw: bytes) -> str:
    """Return the artifactType a referrers list gives a stored manifest.

    Its own if it has one; else, for an image manifest, its config's mediaType (the spec's
    MUST); an index without one has none.
    """
    if artifact_type or media_type not in mt.IMAGE_MANIFESTS:
        return artifact_type
    try:
        config = json.loads(raw).get("config")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""
    media = config.get("mediaType") if isinstance(config, dict) else None
    return media if isinstance(media, str) else ""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ManifestInvalid(message)


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    _require(isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in value.items()),
             f"{where} must be an object of string values")
    return dict(value)


def _platform(value: Any, where: str) -> Platform | None:
    if value is None:
        return None
    _require(isinstance(value, dict), f"{where}.platform must be an object")
    os_name, arch = value.get("os"), value.get("architecture")
    _require(isinstance(os_name, str) and isinstance(arch, str),
             f"{where}.platform needs string 'os' and 'architecture'")
    variant = value.get("variant", "")
    os_version = value.get("os.version", "")
    return Platform(os_name, arch, variant if isinstance(variant, str) else "",
                    os_version if isinstance(os_version, str) else "")


def parse_descriptor(value: Any, where: str) -> Descriptor:
    """Validate one descriptor object, naming where it sits in the document on error."""
    _require(isinstance(value, dict), f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    _require(isinstance(media_type, str) and media_type != "", f"{where}.mediaType must be a non-empty string")
    _require(isinstance(digest, str), f"{where}.digest must be a string")
    try:
        parse_digest(digest)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}.digest: {exc.message}") from exc
    _require(isinstance(size, int) and not isinstance(size, bool) and size >= 0,
             f"{where}.size must be a non-negative integer")
    urls = value.get("urls") or []
    _require(isinstance(urls, list) and all(isinstance(u, str) for u in urls),
             f"{where}.urls must be a list of strings")
    artifact_type = value.get("artifactType", "")
    _require(isinstance(artifact_type, str), f"{where}.artifactType must be a string")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        urls=tuple(urls),
        platform=_platform(value.get("platform"), where),
        artifact_type=artifact_type,
        annotations=_string_map(value.get("annotations"), f"{where}.annotations"),
    )


def detect_media_type(document: dict[str, Any], content_type: str) -> str:
    """Decide the manifest's media type from Content-Type and the document's mediaType."""
    declared = document.get("mediaType")
    header = mt.base_type(content_type) if content_type else ""
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if header in mt.SCHEMA1 or declared in mt.SCHEMA1 or document.get("schemaVersion") == 1:
        raise Unsupported(
            "Docker schema 1 manifests are not supported; push with a current docker, "
            "skopeo or other OCI client",
            status=400,
        )
    if header in mt.MANIFESTS:
        if declared and declared != header:
            raise ManifestInvalid(
                f"Content-Type {header!r} does not match the manifest's mediaType {declared!r}"
            )
        return header
    if declared in mt.MANIFESTS:
        return declared
    if declared:
        raise ManifestInvalid(f"unsupported manifest mediaType {declared!r}")
    # OCI documents may omit mediaType; tell them apart by shape.
    if "manifests" in document:
        return mt.OCI_INDEX
    if "config" in document:
        return mt.OCI_MANIFEST
    raise ManifestInvalid(
        "cannot tell the manifest type: set Content-Type to an OCI or Docker manifest media type"
    )


def parse_manifest(raw: bytes, content_type: str = "") -> ParsedManifest:
    """Parse and validate raw manifest bytes; raise MANIFEST_INVALID with the reason."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    _require(isinstance(document, dict), "manifest must be a JSON object")
    media_type = detect_media_type(document, content_type)
    _require(document.get("schemaVersion") == 2, "schemaVersion must be 2")
    artifact_type = document.get("artifactType", "")
    _require(isinstance(artifact_type, str), "artifactType must be a string")
    annotations = _string_map(document.get("annotations"), "annotations")
    subject = None
    if document.get("subject") is not None:
        subject = parse_descriptor(document["subject"], "subject")

    if media_type in mt.INDEXES:
        children = document.get("manifests")
        _require(isinstance(children, list), "an index needs a 'manifests' list")
        manifests = tuple(parse_descriptor(c, f"manifests[{i}]") for i, c in enumerate(children))
        return ParsedManifest(media_type, None, (), manifests, subject, artifact_type, annotations)

    _require("config" in document, "an image manifest needs a 'config' descriptor")
    config = parse_descriptor(document["config"], "config")
    layers_value = document.get("layers")
    _require(isinstance(layers_value, list), "an image manifest needs a 'layers' list")
    layers = tuple(parse_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers_value))
    if media_type == mt.DOCKER_MANIFEST:
        _require(config.media_type == mt.DOCKER_CONFIG,
                 f"a Docker image manifest needs config.mediaType {mt.DOCKER_CONFIG!r}")
    for i, layer in enumerate(layers):
        if layer.urls:
            _require(all(u.startswith(("http://", "https://")) for u in layer.urls),
                     f"layers[{i}].urls must be http or https URLs")
    return ParsedManifest(media_type, config, layers, (), subject, artifact_type, annotations)


@dataclass(frozen=True)
class ImageConfig:
    labels: dict[str, str]
    platform: Platform | None


def parse_image_config(raw: bytes) -> ImageConfig:
    """Read labels and platform from an image config blob; tolerate odd configs."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return ImageConfig({}, None)
    if not isinstance(document, dict):
        return ImageConfig({}, None)
    config = document.get("config") or {}
    labels = config.get("Labels") if isinstance(config, dict) else None
    labels = {k: v for k, v in (labels or {}).items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(labels, dict) else {}
    os_name, arch = document.get("os"), document.get("architecture")
    platform = None
    if isinstance(os_name, str) and isinstance(arch, str):
        variant = document.get("variant", "")
        os_version = document.get("os.version", "")
        platform = Platform(os_name, arch, variant if isinstance(variant, str) else "",
                            os_version if isinstance(os_version, str) else "")
    return ImageConfig(labels, platform)
