"""The distribution API's single access check, asking accounts.access."""

from rest_framework.permissions import BasePermission

from accounts import access
from registry.api.actions import request_action


class RepositoryAccess(BasePermission):
    """Allow a request when accounts.access grants its action on the repository in the URL.

    It only decides: a push to a name nobody pushed yet finds no package here, and the view
    that starts the push creates it.
    """

    def has_permission(self, request, view):
        name = view.kwargs.get("name")
        if name is None:
            access.check_registry(request)
            return True
        # The view reuses the package row (RegistryView.package) instead of reading it again.
        find = getattr(view, "find_package", access.package_with_holder)
        request.checked_package = access.check_repository(request, name, request_action(request), find=find)
        return True
