"""drf-spectacular hooks: describe the REST API's own views and how they authenticate."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
