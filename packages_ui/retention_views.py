"""Retention and storage settings: a package's section of its settings page, and the owner's settings page
(the owner's policy, usage and quota; only a site admin may change the quota)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View

from accounts import access
from packages_ui import selectors
from packages_ui.views import LoginRequired, PackageMixin, SignInRedirectMixin, page_url
from registry.services.usage import owner_usage, package_usage
from retention import selectors as retention_selectors
from retention.quotas import quota_limit
from retention.services import RULE_FIELDS, PolicyInvalid, policy_delete, policy_set, quota_set, retention_run


def retention_context(package) -> dict:
    """Return what the package settings page shows of retention: the policy in force, its preview, the runs."""
    own = retention_selectors.package_policy(package=package)
    policy = own or retention_selectors.owner_policy(owner=package.namespace)
    preview = None
    if retention_selectors.effective_policy(package=package) is not None:
        # A dry run: the same deletions in a transaction rolled back, so the list is exact.
        preview, _ = retention_run(owner=package.namespace, name=package.image_name, dry_run=True, record=False)
    runs = [r for r in retention_selectors.recent_runs(owner=package.namespace)
            if r.package_name in ("", package.image_name)]
    return {"retention_policy": policy, "retention_source": "package" if own else ("owner" if policy else None),
            "retention_preview": preview, "retention_runs": runs, "package_size": package_usage(package=package),
            "retention_action": reverse("packages_ui:retention",
                                        kwargs={"owner": package.namespace, "name": package.image_name})}


def _number(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise PolicyInvalid(f"{value!r} is not a whole number of at least 0")
    return int(value)


def _save_policy(request, *, owner: str, package=None) -> None:
    """Set, or with clear remove, the policy the form posted; say how it went."""
    if request.POST.get("clear"):
        policy_delete(owner=owner, package=package)
        messages.success(request, "Retention policy removed.")
        return
    try:
        rules = {field: _number(request.POST.get(field, "")) for field in RULE_FIELDS if field != "keep_tags"}
        policy_set(owner=owner, package=package, enabled=bool(request.POST.get("enabled")),
                   keep_tags=request.POST.get("keep_tags", "").strip(), **rules)
    except PolicyInvalid as e:
        messages.error(request, str(e))
    else:
        messages.success(request, "Retention policy saved.")


class RetentionSettingsView(PackageMixin, View):
    """POST: set, turn off or remove the package's own retention policy."""

    def post(self, request, owner, name):
        package = self.get_admin_package(request, owner, name)
        _save_policy(request, owner=package.namespace, package=package)
        return redirect(page_url("packages_ui:settings", package))


class OwnerSettingsView(SignInRedirectMixin, View):
    """The owner's retention policy, storage usage and quota."""

    def check(self, request, owner: str) -> None:
        if not selectors.owner_exists(owner):
            raise Http404("no such user or organization")
        if not request.user.is_authenticated:
            raise LoginRequired()
        if not (access.holds_namespace(access.caller_for(request).user, owner) or request.user.is_superuser):
            raise PermissionDenied(f"Only {owner}'s admins can manage its settings.")

    def get(self, request, owner):
        self.check(request, owner)
        policy = retention_selectors.owner_policy(owner=owner)
        preview = None
        if policy is not None and policy.enabled:
            preview, _ = retention_run(owner=owner, dry_run=True, record=False)
        context = {"owner": owner, "retention_policy": policy, "retention_source": "owner" if policy else None,
                   "retention_preview": preview, "retention_runs": retention_selectors.recent_runs(owner=owner),
                   "retention_action": reverse("packages_ui:owner-settings", kwargs={"owner": owner}),
                   "usage": owner_usage(owner=owner), "quota": quota_limit(owner=owner),
                   "may_set_quota": request.user.is_superuser}
        return render(request, "packages_ui/owner_settings.html", context)

    def post(self, request, owner):
        self.check(request, owner)
        if "quota" in request.POST:
            if not request.user.is_superuser:
                raise PermissionDenied("Only site admins can change quotas.")
            value = request.POST["quota"].strip()
            if value and not value.isdigit():
                messages.error(request, "The quota is a whole number of bytes, or empty for none.")
            else:
                quota_set(owner=owner, limit_bytes=int(value) if value else None)
                messages.success(request, f"{owner}'s quota {'is ' + value + ' bytes' if value else 'was removed'}.")
        else:
            _save_policy(request, owner=owner)
        return redirect("packages_ui:owner-settings", owner=owner)
