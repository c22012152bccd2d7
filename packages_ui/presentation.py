"""What the package pages show, built from what packages_ui.selectors read: no queries here.

A version as the pages list it (a manifest with its tags, its platforms nested under an
index and its referrers under their subject), the details read from labels and annotations,
and the pull command.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from registry.models import Manifest, Package
from registry.oci import media_types as mt
from sources.provenance import Published, provenance_of, published

DESCRIPTION = "org.opencontainers.image.description"
LICENSES = "org.opencontainers.image.licenses"
SOURCE = "org.opencontainers.image.source"
DESCRIPTION_LIMIT = 512
LICENSE_LIMIT = 256
SOURCE_LIMIT = 2048


@dataclass
class Version:
    """A version as the pages list it: a manifest with its tags, platforms and what hangs under it."""

    manifest: Manifest
    tags: list[str] = field(default_factory=list)
    children: list["Version"] = field(default_factory=list)
    referrers: list["Version"] = field(default_factory=list)
    # Bytes with its platforms and their unique blobs (registry.services.usage), once measured.
    measured: int | None = None

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def is_index(self) -> bool:
        return self.manifest.media_type in mt.INDEXES

    @property
    def kind(self) -> str:
        if self.is_index:
            return "multi-arch image"
        if self.manifest.artifact_type:
            return self.manifest.artifact_type
        return "image"

    @property
    def platforms(self) -> list[str]:
        return [platform_label(p) for p in self.manifest.platforms]

    @property
    def published(self) -> Published | None:
        """Return where the CI job that pushed this version built it, or None for a person's push."""
        return published(provenance_of(self.manifest))

    @property
    def size(self) -> int:
        if self.measured is not None:
            return self.measured
        return self.manifest.layers_size + self.manifest.size


def platform_label(platform: dict) -> str:
    return "/".join(v for v in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if v)


def version_tree(manifests: list[Manifest], tags: list[tuple[int, str]], references: list[tuple[int, str]]
                 ) -> list[Version]:
    """Return the top-level versions, platforms of an index and referrers nested under their parent.

    manifests come newest first; tags are (manifest id, tag) in tag order; references are
    (index id, child digest) in the index's order.
    """
    by_digest = {m.digest: Version(m) for m in manifests}
    by_id = {v.manifest.pk: v for v in by_digest.values()}
    for manifest_id, name in tags:
        if manifest_id in by_id:
            by_id[manifest_id].tags.append(name)
    nested = set()
    for parent_id, digest in references:
        child = by_digest.get(digest)
        if child is not None and parent_id in by_id:
            by_id[parent_id].children.append(child)
            nested.add(digest)
    for version in by_digest.values():
        subject = by_digest.get(version.manifest.subject_digest)
        if subject is not None:
            subject.referrers.append(version)
            nested.add(version.digest)
    return [v for v in by_digest.values() if v.digest not in nested]


def find_version(top_level: list[Version], digest: str) -> Version | None:
    """Return the version with digest anywhere in the tree, or None."""
    for version in walk(top_level):
        if version.digest == digest:
            return version
    return None


def parents_of(top_level: list[Version], digest: str) -> list[Version]:
    """Return the top-level versions that hold digest as a platform or a referrer."""
    return [v for v in top_level
            if any(c.digest == digest for c in v.children) or any(r.digest == digest for r in v.referrers)]


def walk(items: list[Version]):
    for version in items:
        yield version
        yield from walk(version.children)
        yield from walk(version.referrers)


def newest_version(top_level: list[Version]) -> Version | None:
    """Return the version tagged latest, else the most recently pushed one that isn't an artifact."""
    for version in top_level:
        if "latest" in version.tags:
            return version
    images = [v for v in top_level if not v.manifest.subject_digest]
    return images[0] if images else None


def last_published(top_level: list[Version]) -> datetime | None:
    return max((v.manifest.pushed_at for v in top_level), default=None)


def pull_reference(host: str, package: Package, version: Version | None) -> str:
    """Return HOST/OWNER/NAME:TAG (latest if it has it) or @DIGEST for a version."""
    if version is None or "latest" in version.tags:
        return f"{host}/{package.name}:latest"
    if version.tags:
        return f"{host}/{package.name}:{version.tags[0]}"
    return f"{host}/{package.name}@{version.digest}"


@dataclass(frozen=True)
class Details:
    description: str = ""
    license: str = ""
    source: str = ""
    source_is_link: bool = False


def _cut(value, limit: int) -> str:
    value = value if isinstance(value, str) else ""
    return value.strip()[:limit]


def details(version: Version | None) -> Details:
    """Return what the package page shows about the package, read from its newest version.

    An image's config labels come first, then its manifest's annotations; an index's own
    annotations come first, then its platforms' labels in the index's order.
    """
    if version is None:
        return Details()
    manifest = version.manifest
    if version.is_index:
        sources = [manifest.annotations] + [c.manifest.labels for c in version.children]
    else:
        sources = [manifest.labels, manifest.annotations]
    sources = [s for s in sources if isinstance(s, dict)]

    def pick(key: str, limit: int) -> str:
        for source in sources:
            value = _cut(source.get(key), limit)
            if value:
                return value
        return ""

    source = pick(SOURCE, SOURCE_LIMIT)
    return Details(description=pick(DESCRIPTION, DESCRIPTION_LIMIT), license=pick(LICENSES, LICENSE_LIMIT),
                   source=source, source_is_link=is_web_url(source))


def is_web_url(value: str) -> bool:
    """Return True only for absolute http and https URLs (never javascript:, data: and the like)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in value)


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str
    size: int


def manifest_document(raw: bytes) -> tuple[str, list[Layer], Layer | None]:
    """Return a manifest's JSON pretty-printed, its layers and its config descriptor."""
    try:
        document = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace"), [], None
    if not isinstance(document, dict):
        return json.dumps(document, indent=2), [], None

    def layer(d) -> Layer | None:
        if not isinstance(d, dict):
            return None
        return Layer(str(d.get("mediaType", "")), str(d.get("digest", "")), d.get("size") or 0)

    layers = [x for x in (layer(d) for d in document.get("layers") or []) if x is not None]
    return json.dumps(document, indent=2), layers, layer(document.get("config"))
