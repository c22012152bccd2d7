"""The distribution spec's error codes, one exception class per code.

Services raise these; `registry.api.errors` is the one place that turns them into
`{"errors": [{"code", "message", "detail"}]}` responses.
"""

from typing import Any


class OCIError(Exception):
    code: str = "UNKNOWN"
    status: int = 500
    message: str = "unknown error"

    def __init__(self, message: str | None = None, *, detail: Any = None, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.message = message or self.message
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.detail is not None:
            body["detail"] = self.detail
        return body


class BlobUnknown(OCIError):
    code, status, message = "BLOB_UNKNOWN", 404, "blob unknown to registry"


class BlobUploadInvalid(OCIError):
    code, status, message = "BLOB_UPLOAD_INVALID", 400, "blob upload invalid"


class BlobUploadUnknown(OCIError):
    code, status, message = "BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry"


class DigestInvalid(OCIError):
    code, status, message = "DIGEST_INVALID", 400, "provided digest did not match uploaded content"


class ManifestBlobUnknown(OCIError):
    code, status, message = "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a blob unknown to the registry"


class ManifestInvalid(OCIError):
    code, status, message = "MANIFEST_INVALID", 400, "manifest invalid"


class ManifestUnknown(OCIError):
    code, status, message = "MANIFEST_UNKNOWN", 404, "manifest unknown to registry"


class NameInvalid(OCIError):
    code, status, message = "NAME_INVALID", 400, "invalid repository name"


class NameUnknown(OCIError):
    code, status, message = "NAME_UNKNOWN", 404, "repository name not known to registry"


class SizeInvalid(OCIError):
    code, status, message = "SIZE_INVALID", 400, "provided length did not match content length"


class Unauthorized(OCIError):
    code, status, message = "UNAUTHORIZED", 401, "authentication required"


class Denied(OCIError):
    code, status, message = "DENIED", 403, "requested access to the resource is denied"


class Unsupported(OCIError):
    code, status, message = "UNSUPPORTED", 405, "the operation is unsupported"


class TooManyRequests(OCIError):
    code, status, message = "TOOMANYREQUESTS", 429, "too many requests"


class Unavailable(OCIError):
    """The database or blob storage is unreachable: distribution's code for a 503, sent with Retry-After."""

    code, status, message = "UNAVAILABLE", 503, "service unavailable"


class RangeInvalid(BlobUploadInvalid):
    """An out-of-order chunk: the spec answers 416 with the upload's current Range."""

    status = 416
