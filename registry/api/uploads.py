"""Blob uploads: /v2/<name>/blobs/uploads/ and /v2/<name>/blobs/uploads/<uuid>."""

import logging

from accounts import access
from registry import selectors
from registry.api.base import RegistryView, empty
from registry.api.chunked import ClientGone
from registry.api.streams import body_stream, content_length
from registry.oci.errors import BlobUploadInvalid, BlobUploadUnknown, DigestInvalid
from registry.services.blobs import blob_mount, blob_store_monolithic
from registry.services.uploads import (
    range_headers,
    upload_append,
    upload_cancel,
    upload_finish,
    upload_get,
    upload_start,
)
from retention.quotas import quota_check_upload

logger = logging.getLogger(__name__)


def log_client_gone(exc: ClientGone, name: str, upload=None) -> None:
    """Log a client that went away mid-body as one line: it is the client's doing, not a fault."""
    if upload is None:
        logger.warning("client went away after %d bytes of a monolithic upload to %s", exc.received, name)
    else:
        logger.warning("client went away after %d bytes of upload %s; it can resume at offset %d",
                       exc.received, upload.id, upload.offset)


def upload_location(name: str, upload) -> dict[str, str]:
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload.id}",
        "Docker-Upload-UUID": str(upload.id),
        **range_headers(upload),
    }


def blob_created(name: str, digest: str) -> dict[str, str]:
    return {"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest}


class UploadStartView(RegistryView):
    def post(self, request, name):
        package = self.package_for_push(name)
        digest = request.GET.get("digest")
        mount, source_name = request.GET.get("mount"), request.GET.get("from")
        # Before any byte is kept; a mount that fails falls back to an upload, checked here too.
        quota_check_upload(package=package, digest=mount or digest,
                           length=content_length(request) if digest and not mount else None)
        if mount:
            source = None
            if source_name and access.can_read(request, source_name):
                source = selectors.package_find(name=source_name)
            if blob_mount(package=package, digest=mount, source=source):
                return empty(201, blob_created(name, mount))
        elif digest:
            try:
                blob = blob_store_monolithic(package=package, digest=digest, stream=body_stream(request),
                                             length=content_length(request))
            except ClientGone as exc:
                log_client_gone(exc, name)
                raise
            return empty(201, blob_created(name, blob.digest))
        upload = upload_start(package=package)
        return empty(202, upload_location(name, upload))


class UploadView(RegistryView):
    def upload(self, name: str, upload_id: str):
        """Return the live upload session upload_id of name; a name without a package has none."""
        package = self.checked_package(name)
        if package is None:
            # Not NAME_UNKNOWN: the spec's answer for an upload it doesn't know, and no package made for it.
            raise BlobUploadUnknown(f"upload {upload_id} is unknown: nothing has been pushed to {name}; "
                                    "start a new upload", detail={"uuid": upload_id})
        return upload_get(package=package, upload_id=upload_id)

    def get(self, request, name, upload_id):
        upload = self.upload(name, upload_id)
        return empty(204, upload_location(name, upload))

    def patch(self, request, name, upload_id):
        upload = self.upload(name, upload_id)
        try:
            upload = upload_append(upload=upload, stream=body_stream(request), length=content_length(request),
                                   content_range=request.META.get("HTTP_CONTENT_RANGE"))
        except ClientGone as exc:
            log_client_gone(exc, name, upload)
            raise
        except BlobUploadInvalid as exc:
            if exc.status == 416:
                # The spec's 416 tells the client where to resume: Location as well as Range.
                exc.headers = {**upload_location(name, upload), **exc.headers}
            raise
        return empty(202, upload_location(name, upload))

    def put(self, request, name, upload_id):
        upload = self.upload(name, upload_id)
        digest = request.GET.get("digest", "")
        if not digest:
            raise DigestInvalid("finish an upload with PUT ...?digest=sha256:<hex> naming the blob's digest")
        try:
            blob = upload_finish(upload=upload, digest=digest, stream=body_stream(request),
                                 length=content_length(request),
                                 content_range=request.META.get("HTTP_CONTENT_RANGE"))
        except ClientGone as exc:
            log_client_gone(exc, name, upload)
            raise
        return empty(201, blob_created(name, blob.digest))

    def delete(self, request, name, upload_id):
        upload = self.upload(name, upload_id)
        upload_cancel(upload=upload)
        return empty(204)
