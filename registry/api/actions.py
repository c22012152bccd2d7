"""What each distribution API request asks to do: the one map from route and method to action.

The access check (registry.api.permissions), the 401 challenge and its scope
(accounts.authentication) all read it, so what a token is asked for is what the check needs.
No Django here: it reads a request's method, query and resolved route only.
"""

from registry.oci.names import is_valid_name

ROUTE_ACTIONS: dict[str, dict[str, str]] = {
    "v2-tags": {"GET": "pull", "HEAD": "pull"},
    "v2-manifest": {"GET": "pull", "HEAD": "pull", "PUT": "push", "DELETE": "delete"},
    "v2-blob": {"GET": "pull", "HEAD": "pull", "DELETE": "delete"},
    "v2-referrers": {"GET": "pull", "HEAD": "pull"},
    "v2-upload-start": {"POST": "push"},
    # Every request on an upload session is part of a push, even the GET that asks for its
    # progress and the DELETE that cancels it.
    "v2-upload": {"GET": "push", "HEAD": "push", "PATCH": "push", "PUT": "push", "DELETE": "push"},
}
# A method a route doesn't serve (answered UNSUPPORTED) is checked as what it would be elsewhere.
METHOD_ACTIONS = {"GET": "pull", "HEAD": "pull", "OPTIONS": "pull", "DELETE": "delete"}


def required_action(route: str | None, method: str) -> str:
    """Return the action (pull, push or delete) a request with method on route needs."""
    action = ROUTE_ACTIONS.get(route or "", {}).get(method)
    return action or METHOD_ACTIONS.get(method, "push")


def route_name(request) -> str | None:
    match = getattr(request, "resolver_match", None)
    return match.url_name if match is not None else None


def request_action(request) -> str:
    """Return the action the request needs on the repository in its URL."""
    return required_action(route_name(request), request.method)


def mount_source(request) -> str | None:
    """Return the repository a cross-repository mount (POST ...?mount=&from=) reads from, if valid."""
    if request.method != "POST" or route_name(request) != "v2-upload-start" or not request.GET.get("mount"):
        return None
    source = request.GET.get("from") or ""
    return source if is_valid_name(source) else None
