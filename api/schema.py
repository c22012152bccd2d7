"""drf-spectacular hooks: describe the REST API's own views and how they authenticate."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

# How GitHub's operation ids name each owner route: {who} in list and get, {short} elsewhere.
OWNER_WORDS = {
    "user": {"who": "authenticated-user", "short": "authenticated-user"},
    "users": {"who": "user", "short": "user"},
    "orgs": {"who": "organization", "short": "org"},
}


class GitHubSchema(AutoSchema):
    """Name operations as GitHub's OpenAPI description does, so generated clients get Octokit's method names."""

    def get_operation_id(self) -> str:
        template = getattr(self.view, "operation_ids", {}).get(self.method.lower())
        route = self.path.removeprefix("/api/v3/").split("/", 1)[0]
        if template is None or route not in OWNER_WORDS:
            return super().get_operation_id()
        return "packages/" + template.format(**OWNER_WORDS[route])


def only_rest_api(endpoints):
    """Keep the endpoints ApiView serves (the preprocessing hook SPECTACULAR_SETTINGS names)."""
    from api.base import ApiView

    return [e for e in endpoints if issubclass(getattr(e[3], "cls", object), ApiView)]


class PersonalAccessTokenScheme(OpenApiAuthenticationExtension):
    """A PAT as a Bearer token (or `token <PAT>`), or as the password of Basic."""

    target_class = "api.authentication.PersonalAccessTokenAuthentication"
    name = ["personalAccessToken", "basicWithPersonalAccessToken"]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer",
             "description": "A personal access token; `Authorization: token <PAT>` works too"},
            {"type": "http", "scheme": "basic",
             "description": "Your username, and a personal access token as password"},
        ]
