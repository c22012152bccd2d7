"""The REST API's questions to accounts.access, asked here only, so a rename there is a one-file fix here.

Reading needs read:packages (or write:packages) unless the package is public; deleting and restoring
need delete:packages and the admin role, as on GitHub. A package the caller can't read is a 404
exactly like a missing one; one they can read but not change is a 403. A CI job (its job token as
the Bearer token) is asked about as its repository: accounts.access's caller_* functions decide.
"""

from rest_framework.permissions import BasePermission

from accounts import access
from api.errors import Forbidden, NotFound, RequiresAuthentication
from registry.models import Package


def caller_user(request):
    return access.caller_for(request).user


def has_credentials(request) -> bool:
    return access.caller_for(request).has_credentials


def readable_packages(request):
    """Return the live packages the caller may read, their token's scopes applied."""
    return access.readable_packages(request)


def is_admin(request, package: Package) -> bool:
    """Return True if the person or CI job calling administers package (deleted packages too); scopes aside."""
    return access.caller_administers(access.caller_for(request), package)


def person_may_read(request, package: Package) -> bool:
    """Return True if the person or CI job calling (whatever their token allows) may see that package exists."""
    return "pull" in access.caller_permitted(access.caller_for(request), package)


def check_read(request, package: Package | None) -> Package:
    """Return package if the caller may read it; raise 404 (missing or hidden) or 403 (token lacks the scope)."""
    if package is None:
        raise NotFound()
    if access.can_read(request, package.name):
        return package
    if has_credentials(request) and person_may_read(request, package):
        raise Forbidden("This token lacks the read:packages scope needed to read this package")
    raise NotFound()


def check_admin(request, package: Package | None, *, live: bool = True) -> Package:
    """Return package if the caller may delete or restore it (admin role and delete:packages).

    live=False for a deleted package (a restore): only its admins may learn it exists.
    """
    if not has_credentials(request):
        raise RequiresAuthentication()
    if package is None:
        raise NotFound()
    admin = is_admin(request, package)
    if not admin and (not live or not person_may_read(request, package)):
        raise NotFound()
    if not admin:
        raise Forbidden(f"You need admin access to {package.name} to delete or restore it")
    if "delete" not in access.caller_for(request).scopes:
        raise Forbidden("This token lacks the delete:packages scope needed to delete or restore packages")
    return package


class OwnRoutesNeedAuthentication(BasePermission):
    """The /user/... routes name the caller's own namespace, so they need credentials (401 without)."""

    def has_permission(self, request, view):
        if view.kwargs.get("owner_kind") == "user":
            caller = access.caller_for(request)
            if not caller.has_credentials:
                raise RequiresAuthentication()
            if caller.job is not None:
                # As GitHub answers GITHUB_TOKEN there: a job is no user, so it has no /user.
                raise Forbidden(f"Resource not accessible by integration: a CI job has no user; "
                                f"use /users/{caller.job.namespace}/... or /orgs/{caller.job.namespace}/...")
        return True
