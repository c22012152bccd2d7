"""What every distribution API view shares."""

from urllib.parse import urlencode

from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts import access
from accounts.authentication import PersonalAccessTokenAuthentication, RegistryTokenAuthentication
from accounts.services import package_create
from registry import selectors
from registry.api.errors import exception_handler
from registry.api.permissions import RepositoryAccess
from registry.oci.errors import Unsupported
from sources.services import package_create_for_job

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")


class AnyAccept(BaseContentNegotiation):
    """Registry clients send manifest media types in Accept; never answer them 406."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class RegistryView(APIView):
    """Base view: registry credentials, no body parsing (blob bodies are streamed), one access check, OCI errors.

    Configured here rather than in settings.REST_FRAMEWORK, so other APIs keep DRF's defaults.
    """

    authentication_classes = (RegistryTokenAuthentication, PersonalAccessTokenAuthentication)
    parser_classes = ()
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = AnyAccept
    permission_classes = (RepositoryAccess,)

    def get_exception_handler(self):
        return exception_handler

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        rendered = getattr(response, "is_rendered", True)
        if request.method == "HEAD" and rendered and not response.streaming and response.content:
            # A HEAD answer (errors included) carries GET's headers and no body; servers like
            # gunicorn otherwise log a warning for every HEAD 404 a docker push makes.
            if not response.has_header("Content-Length"):
                response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response

    def checked_package(self, name: str):
        """Return the live package called name as the access check of this request read it, or None."""
        package = getattr(self.request, "checked_package", None)
        return package if package is not None and package.name == name else None

    def package(self, name: str):
        """Return the package called name, as the access check of this request read it, or raise NAME_UNKNOWN."""
        return self.checked_package(name) or selectors.package_get(name=name)

    def package_for_push(self, name: str):
        """Return the package a push to name goes to, creating it on the first push.

        Only the requests that start a push (upload start, manifest PUT) call this, after the
        access check allowed the push.
        """
        package = self.checked_package(name)
        if package is not None:
            return package
        caller = access.caller_for(self.request)
        if caller.job is not None:
            # A CI job's new package is connected to its repository and inherits its access.
            return package_create_for_job(name=name, job=caller.job)
        return package_create(name=name, creator=caller.user)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise Unsupported(f"{request.method} is not supported on {request.path}")


def empty(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    """Return a body-less response with Content-Length 0 and the given headers."""
    response = HttpResponse(status=status)
    response["Content-Length"] = "0"
    for header, value in (headers or {}).items():
        response[header] = value
    return response


# A larger n gets a page of this size and a Link to the rest, as the spec allows.
MAX_PAGE_SIZE = 10_000


def paginate(request, n_default: int | None = None) -> tuple[int | None, str | None]:
    """Read the spec's n and last query parameters."""
    n_value, last = request.GET.get("n"), request.GET.get("last") or None
    n = n_default
    if n_value is not None:
        # The spec allows only its own error codes; UNSUPPORTED is the nearest for a bad parameter.
        try:
            n = int(n_value)
        except ValueError:
            raise Unsupported(f"n={n_value!r} is not a number; pass a page size such as n=100",
                              status=400) from None
        if n < 0:
            raise Unsupported(f"n={n_value!r} must not be negative", status=400)
        n = min(n, MAX_PAGE_SIZE)
    return n, last


def next_link(path: str, n: int | None, last: str, more: bool) -> dict[str, str]:
    """Return the Link header pointing at the next page, if there is one."""
    if n is None or not more:
        return {}
    return {"Link": f'<{path}?{urlencode({"n": n, "last": last})}>; rel="next"'}
