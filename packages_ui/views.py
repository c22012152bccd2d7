"""Package pages: listings, a package, its versions, and its settings for admins.

Every read asks the access module; a package the visitor can't read is a 404, exactly like a
missing one. Every write is a POST from the settings or versions page, checked with can_admin.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts import access
from accounts.models import PackagePermission
from accounts.services import package_visibility_set
from packages_ui import presentation, selectors
from packages_ui.services import grant_by_name, grant_remove
from registry.models import Manifest, Package, Visibility
from registry.oci.errors import OCIError
from registry.oci.names import validate_name
from registry.services import trash
from registry.services.downloads import download_fold
from registry.services.trash import RESTORE_WINDOW, TrashRefused, restorable_until
from registry.services.usage import owner_usage, package_usage, version_sizes
from retention.quotas import quota_limit

RECENT_VERSIONS = 5
PAGE_SIZE = 50


def full_name(owner: str, name: str) -> str:
    """Return OWNER/NAME, or raise 404 for anything that isn't a valid repository name."""
    value = f"{owner}/{name}"
    try:
        validate_name(value)
    except OCIError:
        raise Http404("no such package") from None
    return value


def page_url(route: str, package: Package) -> str:
    """Return the URL of one of package's pages (packages_ui:settings, :versions...)."""
    return reverse(route, kwargs={"owner": package.namespace, "name": package.image_name})


def _listing_context(request, packages, query: str) -> dict:
    # The listing shows download counts: fold the pulls counted since the last fold first.
    download_fold(packages=packages.values("pk"))
    page = Paginator(packages, PAGE_SIZE).get_page(request.GET.get("page"))
    return {"packages": page, "query": query, "host": request.get_host()}


class ExploreView(View):
    """Public packages across the instance, and internal ones for signed-in visitors."""

    def get(self, request):
        query = request.GET.get("q", "")
        packages = selectors.package_list(request=request, query=query)
        return render(request, "packages_ui/explore.html", _listing_context(request, packages, query))


class OwnerPackagesView(View):
    def get(self, request, owner):
        if not selectors.owner_exists(owner):
            raise Http404("no such user or organization")
        query = request.GET.get("q", "")
        packages = selectors.package_list(request=request, owner=owner, query=query)
        is_admin = access.holds_namespace(access.caller_for(request).user, owner)
        deleted = selectors.deleted_packages(request=request, owner=owner) if request.user.is_authenticated else []
        host = request.get_host()
        context = {**_listing_context(request, packages, query), "owner": owner, "is_admin": is_admin,
                   "deleted": [(p, restorable_until(p.deleted_at)) for p in deleted],
                   "login_command": f"docker login {host} -u {request.user.get_username()}",
                   "tag_command": f"docker tag IMAGE {host}/{owner}/IMAGE:latest",
                   "push_command": f"docker push {host}/{owner}/IMAGE:latest"}
        for package in context["packages"]:
            package.size_in_bytes = package_usage(package=package)
        if is_admin:
            context.update(owner_usage=owner_usage(owner=owner), quota=quota_limit(owner=owner))
        return render(request, "packages_ui/owner.html", context)


class LoginRequired(Exception):
    """A signed-out visitor reached a page only a package's admins may use: send them to sign in."""


class SignInRedirectMixin:
    """Send a signed-out visitor who raised LoginRequired to the sign-in page, and back here after."""

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except LoginRequired:
            return redirect_to_login(request.get_full_path())


class PackageMixin(SignInRedirectMixin):
    """Find the package a URL names, answering 404 unless the visitor may read it."""

    def get_package(self, request, owner, name) -> Package:
        package = selectors.package_for_page(request=request, name=full_name(owner, name))
        if package is None:
            raise Http404("no such package")
        if request.method == "GET":
            # Its pages show download counts: fold the pulls counted since the last fold, then read again.
            download_fold(packages=[package.pk])
            package.refresh_from_db(fields=["downloads"])
        return package

    def top_level(self, package: Package) -> list[presentation.Version]:
        top_level = presentation.version_tree(*selectors.version_rows(package=package))
        sizes = version_sizes(package=package, versions=top_level)
        for version in presentation.walk(top_level):
            version.measured = sizes[version.manifest.pk]
        return top_level

    def get_admin_package(self, request, owner, name) -> Package:
        package = self.get_package(request, owner, name)
        if not access.can_admin(request, package.name):
            if not request.user.is_authenticated:
                raise LoginRequired()
            raise PermissionDenied(f"Only admins of {package.name} can manage it.")
        return package


class ActionMixin:
    """Run the do_<action> method a POST's URL names; a refused change becomes an error message."""

    refusals: tuple[type[Exception], ...] = (ValidationError,)

    def run_action(self, request, action: str, target):
        """Return what do_<action>(request, target) returns: where to redirect, or None for the page itself."""
        handler = getattr(self, f"do_{action.replace('-', '_')}", None)
        if handler is None:
            raise Http404("no such setting")
        try:
            return handler(request, target)
        except self.refusals as e:
            messages.error(request, " ".join(e.messages) if isinstance(e, ValidationError) else str(e))
            return None


class PackageActionView(PackageMixin, ActionMixin, View):
    """POST-only changes from a package's settings page; each redirects back with a message."""

    def post(self, request, owner, name, action):
        package = self.get_admin_package(request, owner, name)
        target = self.run_action(request, action, package)
        return redirect(target or page_url("packages_ui:settings", package))


def _common(request, package: Package) -> dict:
    return {"package": package, "host": request.get_host(), "can_admin": access.can_admin(request, package.name)}


class PackageView(PackageMixin, View):
    def get(self, request, owner, name):
        package = self.get_package(request, owner, name)
        top_level = self.top_level(package)
        newest = presentation.newest_version(top_level)
        context = {
            **_common(request, package),
            "details": presentation.details(newest),
            "newest": newest,
            "pull": presentation.pull_reference(request.get_host(), package, newest),
            "recent": [v for v in top_level if v.tags][:RECENT_VERSIONS],
            "version_count": len(top_level),
            "last_published": presentation.last_published(top_level),
            "size": package_usage(package=package),
        }
        return render(request, "packages_ui/package.html", context)


class VersionsView(PackageMixin, View):
    def get(self, request, owner, name):
        package = self.get_package(request, owner, name)
        page = Paginator(self.top_level(package), PAGE_SIZE).get_page(request.GET.get("page"))
        context = {**_common(request, package), "versions": page}
        return render(request, "packages_ui/versions.html", context)


class VersionView(PackageMixin, View):
    def get(self, request, owner, name, digest):
        package = self.get_package(request, owner, name)
        top_level = self.top_level(package)
        version = presentation.find_version(top_level, digest)
        if version is None:
            raise Http404("no such version")
        document, layers, config = presentation.manifest_document(selectors.manifest_raw(version.manifest))
        parents = presentation.parents_of(top_level, digest)
        context = {**_common(request, package), "version": version, "document": document, "layers": layers,
                   "config": config, "parents": parents,
                   "pull": f"{request.get_host()}/{package.name}@{version.digest}",
                   "top_level": not parents}
        return render(request, "packages_ui/version.html", context)


class SettingsView(PackageMixin, View):
    def get(self, request, owner, name):
        package = self.get_admin_package(request, owner, name)
        deleted = [(m, restorable_until(m.deleted_at)) for m in selectors.deleted_versions(package=package)]
        context = {**_common(request, package), "visibilities": Visibility.choices,
                   "roles": PackagePermission.Role.choices, "grants": selectors.grants(package=package),
                   "deleted": deleted, "restore_days": RESTORE_WINDOW.days}
        from packages_ui.retention_views import retention_context  # they import this module
        from packages_ui.source_views import source_context
        context.update(retention_context(package), **source_context(package))
        return render(request, "packages_ui/settings.html", context)


class SettingsActionView(PackageActionView):
    """Visibility, grants and deleting the package."""

    refusals = (ValidationError, TrashRefused)

    def _confirmed(self, request, package: Package, what: str) -> None:
        if request.POST.get("confirm", "").strip() != package.name:
            raise ValidationError(f"To {what}, type the package's full name, {package.name}, to confirm.")

    def do_visibility(self, request, package):
        visibility = request.POST.get("visibility", "")
        if visibility not in Visibility.values:
            raise ValidationError("Choose private, internal or public.")
        self._confirmed(request, package, f"make it {visibility}")
        package_visibility_set(package=package, visibility=visibility)
        messages.success(request, f"{package.name} is now {Visibility(visibility).label.lower()}.")

    def do_grant(self, request, package):
        grantee, role = request.POST.get("grantee", ""), request.POST.get("role", "")
        grant_by_name(package=package, grantee=grantee, role=role)
        messages.success(request, f"{grantee.strip()} now has {role} access to {package.name}.")

    def do_revoke(self, request, package):
        try:
            permission_id = int(request.POST.get("permission", ""))
        except ValueError:
            raise ValidationError("That access was already removed.") from None
        grant_remove(package=package, permission_id=permission_id)
        messages.success(request, "Access removed.")

    def do_delete(self, request, package):
        self._confirmed(request, package, "delete it")
        trash.package_soft_delete(package=package)
        messages.success(request, f"{package.name} was deleted. You can restore it from "
                                  f"{package.namespace}'s packages for {RESTORE_WINDOW.days} days.")
        return reverse("packages_ui:owner", kwargs={"owner": package.namespace})


class PackageRestoreView(View):
    """POST: restore a deleted package (its page answers 404 while it is deleted)."""

    def post(self, request, owner, name):
        package = Package.all_objects.filter(name=full_name(owner, name), deleted_at__isnull=False).first()
        if package is None or not access.administers(access.caller_for(request).user, package):
            raise Http404("no such deleted package")
        try:
            trash.package_restore(package=package)
        except TrashRefused as e:
            messages.error(request, str(e))
            return redirect("packages_ui:owner", owner=owner)
        messages.success(request, f"{package.name} was restored.")
        return redirect(package)


class VersionActionView(PackageMixin, View):
    """POST: delete or restore one version."""

    def post(self, request, owner, name, digest, action):
        package = self.get_admin_package(request, owner, name)
        manifest = Manifest.objects.filter(package=package, digest=digest).first()
        if manifest is None:
            raise Http404("no such version")
        try:
            if action == "delete":
                gone = trash.version_soft_delete(manifest=manifest)
                if gone:
                    messages.success(request, f"Deleted {_count(gone)} of {package.name}. You can restore "
                                              f"it on the settings page for {RESTORE_WINDOW.days} days.")
                return redirect(page_url("packages_ui:versions", package))
            back = trash.version_restore(manifest=manifest)
            if back:
                messages.success(request, f"Restored {_count(back)} of {package.name}.")
        except TrashRefused as e:
            messages.error(request, str(e))
        return redirect(page_url("packages_ui:settings", package))


def _count(manifests) -> str:
    return "1 version" if len(manifests) == 1 else f"{len(manifests)} versions (with its platforms and referrers)"
