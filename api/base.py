"""What every REST API view shares: its own authentication, permission, renderer and error handling.

Configured on this base view, not in settings.REST_FRAMEWORK, so the distribution API and
anything else keep their own.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from api import selectors
from api.authentication import PersonalAccessTokenAuthentication
from api.errors import NotFound, Unprocessable, exception_handler
from api.pagination import link_header, paginate
from api.permissions import OwnRoutesNeedAuthentication
from api.schema import GitHubSchema
from api.serializers import ErrorSerializer

ERROR_STATUSES = (401, 403, 404, 422)
# GitHub's package types; Berth holds containers only, so the others list nothing and find nothing.
PACKAGE_TYPES = ("npm", "maven", "rubygems", "docker", "nuget", "container")


def documented(*, responses, **kwargs):
    """Return extend_schema() for a view method, with GitHub's error answers beside responses.

    It extends the API's own drf-spectacular schema: extend_schema would otherwise extend DRF's
    global DEFAULT_SCHEMA_CLASS, which stays DRF's own.
    """
    responses = responses if isinstance(responses, dict) else {200: responses}
    responses = {**responses, **{status: ErrorSerializer for status in ERROR_STATUSES}}

    def decorate(method):
        method.schema = GitHubSchema
        return extend_schema(responses=responses, **kwargs)(method)
    return decorate


class JsonOnly(BaseContentNegotiation):
    """GitHub's clients ask for application/vnd.github+json or .v3+json: answer JSON whatever Accept says."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ApiView(APIView):
    authentication_classes = (PersonalAccessTokenAuthentication,)
    permission_classes = (OwnRoutesNeedAuthentication,)
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser,)
    content_negotiation_class = JsonOnly
    throttle_classes = ()
    schema = GitHubSchema()
    # Method to GitHub's operation id, {who}/{short} filled in per owner route (api/schema.py).
    operation_ids: dict[str, str] = {}

    def get_exception_handler(self):
        return exception_handler

    def owner(self) -> selectors.Owner:
        return selectors.owner_get(request=self.request, kind=self.kwargs["owner_kind"],
                                   login=self.kwargs.get("username") or self.kwargs.get("org"))

    def container_only(self) -> None:
        """Raise 404 unless the route's package_type is container (the only type Berth holds)."""
        if self.kwargs.get("package_type") != "container":
            raise NotFound()

    def choice(self, name: str, choices, default: str | None = None) -> str | None:
        """Return query parameter name, one of choices, or raise 422 as GitHub does for a bad value."""
        value = self.request.query_params.get(name) or default
        if value is not None and value not in choices:
            raise Unprocessable(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        return value

    def page_response(self, items, serialize) -> Response:
        """Return one page of items as serialize(page items) gives them, with GitHub's Link header."""
        page = paginate(self.request, items)
        response = Response(serialize(page.items))
        link = link_header(self.request, page)
        if link:
            response["Link"] = link
        return response
