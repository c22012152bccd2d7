"""Manifests: /v2/<name>/manifests/<reference>."""

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse

from accounts import access
from registry import selectors
from registry.api.base import RegistryView, empty
from registry.api.streams import read_limited
from registry.oci import media_types as mt
from registry.oci.digests import looks_like_digest
from registry.oci.errors import ManifestUnknown, SizeInvalid
from registry.services.downloads import download_count
from registry.services.manifests import manifest_delete, manifest_put


def accepts(accept_header: str, media_type: str) -> bool:
    """Return True if an Accept header admits media_type (no header admits everything)."""
    if not accept_header.strip():
        return True
    for part in accept_header.split(","):
        accepted = mt.base_type(part)
        if accepted in ("*/*", "application/*", media_type, "application/json"):
            return True
    return False


def accept_header(request) -> str:
    """Return the request's Accept header, its repeated lines joined as one list."""
    return ", ".join(request.META.get("HTTP_ACCEPT", "").split("\n"))


def answerable(reference: str, accept: str, media_type: str) -> bool:
    """Return True if a manifest of media_type found under reference may answer a client sending accept."""
    # A digest names exact bytes; a tag is answered only in a form the client reads.
    return looks_like_digest(reference) or accepts(accept, media_type)


def manifest_headers(manifest) -> dict[str, str]:
    return {
        "Content-Type": manifest.media_type,
        "Content-Length": str(manifest.size),
        "Docker-Content-Digest": manifest.digest,
        "ETag": f'"{manifest.digest}"',
    }


class ManifestView(RegistryView):
    def find_package(self, name: str):
        """Return the package the access check needs; for a pull, read the manifest in the same query."""
        if self.request.method in ("GET", "HEAD"):
            manifest = selectors.manifest_find(name=name, reference=self.kwargs["reference"],
                                               package_annotations=access.holder_annotations("package__namespace"))
            if manifest is not None:
                self.found_manifest = manifest
                return manifest.package
        return access.package_with_holder(name)

    def _find(self, request, name, reference):
        manifest = getattr(self, "found_manifest", None)
        if manifest is None:
            manifest = selectors.manifest_get(package=self.package(name), reference=reference)
        accept = accept_header(request)
        if not answerable(reference, accept, manifest.media_type):
            raise ManifestUnknown(
                f"{name}:{reference} is a {manifest.media_type}, which this client does not accept "
                f"(Accept: {accept})",
                detail={"name": name, "reference": reference, "mediaType": manifest.media_type},
                status=404,
            )
        return manifest

    def head(self, request, name, reference):
        manifest = self._find(request, name, reference)
        return empty(200, manifest_headers(manifest))

    def get(self, request, name, reference):
        manifest = self._find(request, name, reference)
        # A GET is a pull (HEAD is how clients check for a manifest they may not fetch).
        download_count(manifest=manifest)
        response = HttpResponse(bytes(manifest.raw), content_type=manifest.media_type)
        for header, value in manifest_headers(manifest).items():
            response[header] = value
        return response

    def put(self, request, name, reference):
        limit = settings.BERTH_MAX_MANIFEST_SIZE
        raw = read_limited(request, limit, lambda: SizeInvalid(
            f"manifest is larger than the {limit // (1024 * 1024)} MiB limit", status=413))
        tags = request.GET.getlist("tag")
        job = access.caller_for(request).job
        user = request.user if request.user.is_authenticated else None
        # One transaction: a manifest refused at a new name leaves no package behind it.
        with transaction.atomic():
            manifest, parsed = manifest_put(
                package=self.package_for_push(name),
                reference=reference,
                raw=raw,
                content_type=request.META.get("CONTENT_TYPE", ""),
                tags=tags,
                job=job,
                by=user,
            )
        headers = {
            "Location": f"/v2/{name}/manifests/{manifest.digest}",
            "Docker-Content-Digest": manifest.digest,
        }
        if parsed.subject is not None:
            headers["OCI-Subject"] = parsed.subject.digest
        if tags and looks_like_digest(reference):
            headers["OCI-Tag"] = ", ".join(tags)
        return empty(201, headers)

    def delete(self, request, name, reference):
        package = self.package(name)
        manifest_delete(package=package, reference=reference)
        return empty(202)
