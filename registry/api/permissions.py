"""The distribution API's single access check, asking accounts.access."""

from rest_framework.permissions import BasePermission

from accounts import access

ACTIONS = {"GET": "pull", "HEAD": "pull", "POST": "push", "PUT": "push", "PATCH": "push", "DELETE": "delete"}


class RepositoryAccess(BasePermission):
    """Allow a request when accounts.access grants its action on the repository in the URL."""

    def has_permission(self, request, view):
        name = view.kwargs.get("name")
        if name is None:
            access.check_registry(request)
        else:
            access.check_repository(request, name, ACTIONS.get(request.method, "pull"))
        return True
