"""The one place that turns errors into the spec's JSON error responses."""

import logging

from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf

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
