"""The REST API's errors, and the one place that renders them as GitHub does: {"message", "documentation_url"}.

The distribution API's OCI errors stay in registry/api/errors.py; tools written for GitHub's
REST API read `message` and the status code, so this API answers in GitHub's shape instead.
"""

import logging

from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf

logger = logging.getLogger(__name__)

DOCUMENTATION_URL = "https://docs.github.com/rest/packages/packages"
AUTH_DOCUMENTATION_URL = "https://docs.github.com/rest/overview/authenticating-to-the-rest-api"


class ApiError(Exception):
    status = 400
    default_message = "Bad Request"
    documentation_url = DOCUMENTATION_URL

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)


class RequiresAuthentication(ApiError):
    status = 401
    default_message = "Requires authentication"
    documentation_url = AUTH_DOCUMENTATION_URL


class BadCredentials(ApiError):
    status = 401
    default_message = "Bad credentials"
    documentation_url = AUTH_DOCUMENTATION_URL


class Forbidden(ApiError):
    status = 403
    default_message = "Forbidden"


class NotFound(ApiError):
    """A missing package or version, and one the caller may not read: the two are indistinguishable."""

    status = 404
    default_message = "Not Found"


class Unprocessable(ApiError):
    status = 422
    default_message = "Validation Failed"


class ServiceUnavailable(ApiError):
    status = 503
    default_message = "Service Unavailable"


class RateLimited(ApiError):
    status = 429
    default_message = "Too many invalid tokens from your address"
    documentation_url = AUTH_DOCUMENTATION_URL


def error_response(exc: ApiError) -> JsonResponse:
    response = JsonResponse({"message": exc.message, "documentation_url": exc.documentation_url},
                            status=exc.status)
    for header, value in exc.headers.items():
        response[header] = value
    return response


def as_api_error(exc) -> ApiError | None:
    """Return the ApiError that answers exc (DRF's and Django's own exceptions included), or None."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, drf.Throttled):
        wait = int(exc.wait or 1)
        return RateLimited(str(exc.detail), headers={"Retry-After": str(wait)})
    if isinstance(exc, drf.NotAuthenticated):
        return RequiresAuthentication()
    if isinstance(exc, drf.AuthenticationFailed):
        return BadCredentials(str(exc.detail))
    if isinstance(exc, drf.PermissionDenied):
        return Forbidden(str(exc.detail))
    if isinstance(exc, (Http404, drf.NotFound, drf.MethodNotAllowed)):
        # GitHub answers an unknown route and an unsupported method on a known one alike.
        return NotFound()
    if isinstance(exc, drf.ParseError):
        return ApiError("Problems parsing JSON")
    if isinstance(exc, drf.APIException):
        error = ApiError(str(exc.detail))
        error.status = exc.status_code
        return error
    return None


def exception_handler(exc, context):
    """DRF exception handler for /api/v3/: every failure in GitHub's error shape."""
    error = as_api_error(exc)
    return error_response(error) if error is not None else None
