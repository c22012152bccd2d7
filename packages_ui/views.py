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
from packages_ui import selectors
from packages_ui.services import grant_by_name, grant_remove
from registry.models import Manifest, Package, Visibility
from registry.oci.errors import OCIError
from registry.oci.names import validate_name
from registry.services import trash
from registry.services.trash import RETENTION, RestoreRefused, restorable_until

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


def package_url(package: Package, suffix: str = "") -> str:
    owner, _, name = package.name.partition("/")
    url = reverse("packages_ui:package", kwargs={"owner": owner, "name": name})
    return url + (f"/-/{suffix}" if suffix else "")


def pull_reference(host: str, package: Package, version) -> str:
    """Return HOST/OWNER/NAME:TAG (latest if it has it) or @DIGEST for a version."""
    if version is None or "latest" in version.tags:
        return f"{host}/{package.name}:latest"
    if version.tags:
        return f"{host}/{package.name}:{version.tags[0]}"
    return f"{host}/{package.name}@{version.digest}"


def _listing_context(request, packages, query: str) -> dict:
    page = Paginator(packages, PAGE_SIZE).get_page(request.GET.get("page"))
    for package in page:
        package.url = package_url(package)
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
        is_admin = selectors.is_owner_admin(request, owner)
        deleted = selectors.deleted_packages(request=request, owner=owner) if request.user.is_authenticated else []
        host = request.get_host()
        context = {**_listing_context(request, packages, query), "owner": owner, "is_admin": is_admin,
                   "deleted": [(p, restorable_until(p.deleted_at), package_url(p, "restore")) for p in deleted],
                   "login_command": f"docker login {host} -u {request.user.get_username()}",
                   "tag_command": f"docker tag IMAGE {host}/{owner}/IMAGE:latest",
                   "push_command": f"docker push {host}/{owner}/IMAGE:latest"}
        return render(request, "packages_ui/owner.html", context)


class LoginRequired(Exception):
    """A signed-out visitor reached a page only a package's admins may use: send them to sign in."""


class PackageMixin:
    """Find the package a URL names, answering 404 unless the visitor may read it."""

    def get_package(self, request, owner, name) -> Package:
        package = selectors.package_for_page(request=request, name=full_name(owner, name))
        if package is None:
            raise Http404("no such package")
        return package

    def get_admin_package(self, request, owner, name) -> Package:
        package = self.get_package(request, owner, name)
        if not access.can_admin(request, package.name):
            if not request.user.is_authenticated:
                raise LoginRequired()
            raise PermissionDenied(f"Only admins of {package.name} can manage it.")
        return package

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except LoginRequired:
            return redirect_to_login(request.get_full_path())


def _common(request, package: Package) -> dict:
    return {"package": package, "host": request.get_host(), "can_admin": access.can_admin(request, package.name),
            "package_url": package_url(package), "versions_url": package_url(package, "versions"),
            "settings_url": package_url(package, "settings")}


class PackageView(PackageMixin, View):
    def get(self, request, owner, name):
        package = self.get_package(request, owner, name)
        top_level = selectors.versions(package=package)
        newest = selectors.newest_version(top_level)
        context = {
            **_common(request, package),
            "details": selectors.details(newest),
            "newest": newest,
            "pull": pull_reference(request.get_host(), package, newest),
            "recent": [v for v in top_level if v.tags][:RECENT_VERSIONS],
            "version_count": len(top_level),
            "last_published": selectors.last_published(top_level),
        }
        return render(request, "packages_ui/package.html", context)


class VersionsView(PackageMixin, View):
    def get(self, request, owner, name):
        package = self.get_package(request, owner, name)
        page = Paginator(selectors.versions(package=package), PAGE_SIZE).get_page(request.GET.get("page"))
        context = {**_common(request, package), "versions": page}
        return render(request, "packages_ui/versions.html", context)


class VersionView(PackageMixin, View):
    def get(self, request, owner, name, digest):
        package = self.get_package(request, owner, name)
        version = selectors.version_get(package=package, digest=digest)
        if version is None:
            raise Http404("no such version")
        document, layers, config = selectors.manifest_document(version.manifest)
        parents = [v for v in selectors.versions(package=package)
                   if any(c.digest == digest for c in v.children) or any(r.digest == digest for r in v.referrers)]
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
                   "deleted": deleted, "retention_days": RETENTION.days}
        return render(request, "packages_ui/settings.html", context)


class SettingsActionView(PackageMixin, View):
    """POST-only changes from the settings page; each redirects back with a message."""

    def post(self, request, owner, name, action):
        package = self.get_admin_package(request, owner, name)
        handler = getattr(self, f"do_{action.replace('-', '_')}", None)
        if handler is None:
            raise Http404("no such setting")
        try:
            target = handler(request, package)
        except (ValidationError, RestoreRefused) as e:
            messages.error(request, " ".join(e.messages) if isinstance(e, ValidationError) else str(e))
            return redirect(package_url(package, "settings"))
        return redirect(target or package_url(package, "settings"))

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
                                  f"{package.namespace}'s packages for {RETENTION.days} days.")
        return reverse("packages_ui:owner", kwargs={"owner": package.namespace})


class PackageRestoreView(View):
    """POST: restore a deleted package (its page answers 404 while it is deleted)."""

    def post(self, request, owner, name):
        package = Package.all_objects.filter(name=full_name(owner, name), deleted_at__isnull=False).first()
        if package is None or not selectors.may_restore(request, package):
            raise Http404("no such deleted package")
        try:
            trash.package_restore(package=package)
        except RestoreRefused as e:
            messages.error(request, str(e))
            return redirect("packages_ui:owner", owner=owner)
        messages.success(request, f"{package.name} was restored.")
        return redirect(package_url(package))


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
                                              f"it on the settings page for {RETENTION.days} days.")
                return redirect(package_url(package, "versions"))
            back = trash.version_restore(manifest=manifest)
            if back:
                messages.success(request, f"Restored {_count(back)} of {package.name}.")
        except RestoreRefused as e:
            messages.error(request, str(e))
        return redirect(package_url(package, "settings"))


def _count(manifests) -> str:
    return "1 version" if len(manifests) == 1 else f"{len(manifests)} versions (with its platforms and referrers)"
