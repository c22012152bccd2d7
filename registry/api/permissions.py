"""The distribution API's single access check, asking accounts.access."""

from rest_framework.permissions import BasePermission

from accounts import access

ACTIONS = {"GET": "pull", "HEAD": "pull", "POST": "push", "PUT": "push", "PATCH": "push", "DELETE": "delete"}
# Every request on an upload session is part of a push, even the GET that asks for its progress.
UPLOAD_ROUTES = {"v2-upload-start", "v2-upload"}


class RepositoryAccess(BasePermission):
    """Allow a request when accounts.access grants its action on the repository in the URL."""

    def has_permission(self, request, view):
        name = view.kwargs.get("name")
        if name is None:
            access.check_registry(request)
            return True
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name in UPLOAD_ROUTES:
            action = "push"
        else:
            action = ACTIONS.get(request.method, "pull")
        # The view reuses the package row (RegistryView.package) instead of reading it again.
        find = getattr(view, "find_package", access.package_with_holder)
        request.checked_package = access.check_repository(request, name, action, find=find)
        return True
