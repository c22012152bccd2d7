"""A package's settings for its source repository: the connected repository, inheriting its access, and
which repositories' CI jobs have which role on it ("Manage CI access"). Only the package's admins use them."""

from django.contrib import messages

from packages_ui.views import PackageActionView
from sources import forms, selectors, services
from sources.models import Role


def source_context(package) -> dict:
    """Return what the package settings page shows of its source repository and CI access."""
    return {"source_repositories": selectors.repositories(namespace=package.namespace),
            "ci_access": selectors.ci_access(package=package), "ci_roles": Role.choices}


class SourceSettingsView(PackageActionView):
    """Connect, disconnect, inherit, and the CI access list."""

    def do_connect(self, request, package):
        repository = forms.repository_field(request.POST.get("repository", ""))
        services.package_connect(package=package, repository=repository,
                                 inherit_access=bool(request.POST.get("inherit_access")), by=request.user)
        messages.success(request, f"{package.name} is connected to {repository.url}; its CI jobs have admin on it.")

    def do_disconnect(self, request, package):
        services.package_disconnect(package=package, by=request.user)
        messages.success(request, f"{package.name} is no longer connected to a repository; its own grants apply.")

    def do_inherit(self, request, package):
        inherit = bool(request.POST.get("inherit_access"))
        services.package_inherit_set(package=package, inherit_access=inherit, by=request.user)
        messages.success(request, f"{package.name} inherits access from {package.source_repository.url}." if inherit
                         else f"{package.name} uses its own grants.")

    def do_ci_access(self, request, package):
        repository = forms.repository_field(request.POST.get("repository", ""))
        role = forms.role_field(request.POST.get("role", ""))
        services.package_repository_access_set(package=package, repository=repository, role=role, by=request.user)
        messages.success(request, f"CI jobs of {repository.url} now have {role} access to {package.name}.")

    def do_ci_access_remove(self, request, package):
        repository = forms.repository_field(request.POST.get("repository", ""))
        services.package_repository_access_remove(package=package, repository=repository, by=request.user)
        messages.success(request, f"CI jobs of {repository.url} no longer have access to {package.name}.")
