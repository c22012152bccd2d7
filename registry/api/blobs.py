"""Blob reads and deletes: /v2/<name>/blobs/<digest>."""

import re

from django.http import FileResponse, HttpResponse, HttpResponseRedirect

from registry import selectors
from registry.api.base import RegistryView, empty
from registry.services.blobs import blob_seen, blob_unlink
from registry.storage import get_store

RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeFile:
    """A file limited to length bytes from its current position (sendfile still sees fileno)."""

    def __init__(self, f, length: int):
        self.f, self.remaining = f, length

    def read(self, size=-1):
        if self.remaining <= 0:
            return b""
        size = self.remaining if size is None or size < 0 else min(size, self.remaining)
        data = self.f.read(size)
        self.remaining -= len(data)
        return data

    def fileno(self):
        return self.f.fileno()

    def close(self):
        self.f.close()


class Unsatisfiable(Exception):
    """A Range the blob cannot satisfy: answered 416."""


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """Return the inclusive (start, end) of a single byte range, or None to send the whole blob.

    As RFC 9110 asks, a Range in another unit, with several ranges or not well formed is
    ignored; a well-formed range outside the blob raises Unsatisfiable.
    """
    match = RANGE_RE.fullmatch(value.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(size - suffix, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def blob_headers(blob) -> dict[str, str]:
    return {
        "Docker-Content-Digest": blob.digest,
        "ETag": f'"{blob.digest}"',
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
    }


class BlobView(RegistryView):
    def head(self, request, name, digest):
        package = self.package(name)
        blob = selectors.blob_get(package=package, digest=digest)
        # A pushing client skips uploading what HEAD finds: keep gc off it for a while.
        blob_seen(package=package, blob=blob)
        response = HttpResponse(status=200, content_type="application/octet-stream")
        response["Content-Length"] = str(blob.size)
        for header, value in blob_headers(blob).items():
            response[header] = value
        return response

    def get(self, request, name, digest):
        package = self.package(name)
        blob = selectors.blob_get(package=package, digest=digest)
        store = get_store()
        url = store.redirect_url(blob.digest, key=blob.storage_key)
        if url:
            response = HttpResponseRedirect(url, status=307)
            response["Docker-Content-Digest"] = blob.digest
            return response
        try:
            byte_range = parse_range(request.META.get("HTTP_RANGE", ""), blob.size)
        except Unsatisfiable:
            return empty(416, {"Content-Range": f"bytes */{blob.size}"})
        if byte_range:
            start, end = byte_range
            f = store.open(blob.digest, key=blob.storage_key, offset=start)
            response = FileResponse(RangeFile(f, end - start + 1), status=206,
                                    content_type="application/octet-stream")
            response["Content-Length"] = str(end - start + 1)
            response["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
        else:
            response = FileResponse(store.open(blob.digest, key=blob.storage_key),
                                    content_type="application/octet-stream")
            response["Content-Length"] = str(blob.size)
        response.block_size = 1024 * 1024
        for header, value in blob_headers(blob).items():
            response[header] = value
        return response

    def delete(self, request, name, digest):
        package = self.package(name)
        blob_unlink(package=package, digest=digest)
        return empty(202, {"Docker-Content-Digest": digest})
