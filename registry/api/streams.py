"""Request bodies as streams: blob routes never read request.body."""

from registry.oci.errors import SizeInvalid


class _Empty:
    def read(self, size=-1):
        return b""


def content_length(request) -> int | None:
    """Return the announced Content-Length, or None for chunked transfer encoding."""
    meta = request.META
    if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
        return None
    value = meta.get("CONTENT_LENGTH") or "0"
    try:
        length = int(value)
    except ValueError:
        raise SizeInvalid(f"Content-Length {value!r} is not a number") from None
    if length < 0:
        raise SizeInvalid(f"Content-Length {value!r} is negative")
    return length


def body_stream(request):
    """Return a file-like object over the request body, read straight from the socket.

    Django's own stream stops at Content-Length and sees nothing of a chunked body,
    so chunked requests (the docker CLI's PATCH) read wsgi.input, which gunicorn decodes.
    """
    meta = request.META
    if content_length(request) is None:
        return meta["wsgi.input"]
    if not int(meta.get("CONTENT_LENGTH") or 0):
        return _Empty()
    return request._request if hasattr(request, "_request") else request


def read_limited(request, limit: int, too_large) -> bytes:
    """Read a small body (a manifest) whole, raising too_large() past limit bytes."""
    length = content_length(request)
    if length is not None and length > limit:
        raise too_large()
    stream = body_stream(request)
    chunks, total = [], 0
    while True:
        data = stream.read(65536)
        if not data:
            break
        total += len(data)
        if total > limit:
            raise too_large()
        chunks.append(data)
    return b"".join(chunks)
