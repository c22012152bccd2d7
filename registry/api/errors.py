"""The one place that turns errors into the spec's JSON error responses."""

import errno
import logging

from botocore import exceptions as boto
from django import db
from django.conf import settings
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf

from config import metrics
from registry.oci import errors as oci

logger = logging.getLogger(__name__)


def error_response(exc: oci.OCIError, **fields) -> JsonResponse:
    """Return the spec's error document for exc, with fields beside it (the OAuth2 token form adds its own)."""
    response = JsonResponse({"errors": [exc.as_dict()], **fields}, status=exc.status)
    for header, value in exc.headers.items():
        response[header] = value
    return response


def exception_handler(exc, context):
    """DRF exception handler: answer every failure on /v2/ in the spec's error format."""
    if isinstance(exc, oci.OCIError):
        return error_response(exc)
    outage = unavailable(exc)
    if outage is not None:
        log_outage(context["request"], exc)
        response = error_response(outage)
        response._has_been_logged = True  # else Django logs every 503 again, as an error
        return response
    if isinstance(exc, drf.MethodNotAllowed):
        return error_response(oci.Unsupported(f"method {context['request'].method} is not allowed here"))
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        return error_response(oci.TooManyRequests(
            f"too many requests; retry in {wait} seconds", headers={"Retry-After": str(wait)}))
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        # DRF sets auth_header from the authentication classes: the Bearer challenge to /token.
        challenge = getattr(exc, "auth_header", None)
        return error_response(oci.Unauthorized(
            str(exc.detail), headers={"WWW-Authenticate": challenge} if challenge else None))
    if isinstance(exc, drf.PermissionDenied):
        return error_response(oci.Denied(str(exc.detail)))
    if isinstance(exc, Http404):
        return error_response(oci.NameUnknown())
    if isinstance(exc, drf.APIException):
        # The spec allows only its own codes; UNSUPPORTED is the nearest for any other refusal.
        return error_response(oci.Unsupported(str(exc.detail), status=exc.status_code))
    return None


try:
    import psycopg2
except ImportError:  # SQLite only
    DATABASE_ERRORS = (db.OperationalError, db.InterfaceError)
else:
    # Code that uses psycopg2 itself, not through Django's cursors, raises psycopg2's own classes.
    DATABASE_ERRORS = (db.OperationalError, db.InterfaceError, psycopg2.OperationalError, psycopg2.InterfaceError)

# S3's answers that mean "not now" rather than "never": throttling and its own failures.
S3_UNAVAILABLE_CODES = frozenset({"SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError",
                                  "Throttling", "ThrottlingException", "RequestLimitExceeded"})
# A full or failing disk under the filesystem store; a missing file (ENOENT) is lost data, not an outage.
STORAGE_ERRNOS = frozenset({errno.EIO, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ESTALE})


def causes(exc: BaseException | None):
    """Yield exc and what it was raised from or during, in turn: a store or service may have turned an
    outage into another exception on its way up."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def unavailable(exc: BaseException) -> oci.Unavailable | None:
    """Return the UNAVAILABLE error for a database or blob storage outage behind exc, None for anything else."""
    for cause in causes(exc):
        message = _outage_message(cause)
        if message is not None:
            wait = settings.BERTH_RETRY_AFTER
            return oci.Unavailable(f"{message}; retry in {wait} seconds. If this lasts, tell the registry's "
                                   "administrator.", headers={"Retry-After": str(wait)})
    return None


def _outage_message(exc: BaseException) -> str | None:
    if isinstance(exc, DATABASE_ERRORS):
        return "Berth's database is unavailable"
    if isinstance(exc, (boto.ConnectionError, boto.HTTPClientError, boto.IncompleteReadError)):
        return "Berth's blob storage is unreachable"
    if isinstance(exc, boto.ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in S3_UNAVAILABLE_CODES or status >= 500:
            return f"Berth's blob storage is unavailable ({code or status})"
        return None
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        return "Berth's blob storage is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) \
            else f"Berth's blob storage is failing ({errno.errorcode[exc.errno]})"
    return None


def log_outage(request, exc: BaseException) -> None:
    """Log an outage in one line: during one, every request fails alike, and tracebacks would bury the cause."""
    cause = " ".join(str(exc).split())[:300]
    metrics.backend_error(exc)
    logger.warning("503 for %s %s: %s: %s", request.method, request.path, type(exc).__name__, cause)
