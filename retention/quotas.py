"""Storage quotas: refuse a push that would take an owner's usage over its quota, before its bytes are kept.

Usage is registry.services.usage.owner_usage: live manifests plus the unique blobs they name. A push
may bring usage to exactly the quota; one that would end even one byte above it is refused with
DENIED. Where the push's size is known (a monolithic POST with Content-Length, a mount of a blob
the registry holds, a manifest PUT) the check is usage + what it adds > quota. A chunked upload's
size is unknown at its start, so it is refused once usage >= quota: any byte would go over. Blobs
uploaded but not yet named by a manifest don't count; the manifest PUT that names them is checked
with their sizes, so a push can't end over quota. Two pushes checked at the same moment may both pass.
"""

from registry.models import Blob, Manifest, Package
from registry.oci.errors import Denied
from registry.oci.manifests import ParsedManifest
from registry.services.usage import blobs_new_to_owner, owner_usage
from retention.models import Quota


def quota_limit(*, owner: str) -> int | None:
    return Quota.objects.filter(owner=owner).values_list("limit_bytes", flat=True).first()


def _refuse(owner: str, limit: int, usage: int, adding: int | None) -> None:
    what = f"this push would add {adding} bytes" if adding is not None else "any new blob would go over it"
    raise Denied(
        f"{owner}'s storage quota is {limit} bytes and its packages use {usage} bytes; {what}. "
        "Free space by deleting versions or packages on the package settings pages (or with a retention "
        "policy), or ask a site admin to raise the quota",
        detail={"owner": owner, "quota": limit, "usage": usage, "adding": adding})


def quota_check_upload(*, package: Package, digest: str | None = None, length: int | None = None) -> None:
    """Raise DENIED if a blob upload starting in package would take its owner over quota.

    digest and length are what the POST declares (a monolithic upload or a mount); neither for a chunked start.
    """
    owner = package.namespace
    limit = quota_limit(owner=owner)
    if limit is None:
        return
    if digest and not blobs_new_to_owner(owner=owner, digests={digest}):
        return  # counted already: linking it again adds nothing
    if length is None and digest:
        length = Blob.objects.filter(digest=digest).values_list("size", flat=True).first()
    usage = owner_usage(owner=owner)
    if (length is None and usage >= limit) or (length is not None and usage + length > limit):
        _refuse(owner, limit, usage, length)


def quota_check_manifest(*, package: Package, digest: str, raw: bytes, parsed: ParsedManifest,
                         blob_sizes: dict[str, int]) -> None:
    """Raise DENIED if storing this manifest would take its owner over quota: its own bytes (unless
    already a live version) plus the blobs it names that none of the owner's live versions names yet."""
    owner = package.namespace
    limit = quota_limit(owner=owner)
    if limit is None:
        return
    live = Manifest.objects.filter(package=package, digest=digest, deleted_at__isnull=True).exists()
    new = blobs_new_to_owner(owner=owner, digests={d.digest for d in parsed.blob_descriptors()} & set(blob_sizes))
    adding = (0 if live else len(raw)) + sum(blob_sizes[d] for d in new)
    if adding == 0:
        return
    usage = owner_usage(owner=owner)
    if usage + adding > limit:
        _refuse(owner, limit, usage, adding)
