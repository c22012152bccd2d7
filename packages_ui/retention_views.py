"""The package settings page's retention section: the policy form, a preview of what it deletes, past runs."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views import View

from packages_ui.views import PackageMixin, page_url
from registry.services.usage import package_usage
from retention import selectors as retention_selectors
from retention.services import RULE_FIELDS, PolicyInvalid, policy_delete, policy_set, retention_run


def retention_context(package) -> dict:
    """Return what the settings page shows of retention: the policy in force, its preview, the runs."""
    own = retention_selectors.package_policy(package=package)
    policy = own or retention_selectors.owner_policy(owner=package.namespace)
    preview = None
    if retention_selectors.effective_policy(package=package) is not None:
        # A dry run: the same deletions in a transaction rolled back, so the list is exact.
        preview, _ = retention_run(owner=package.namespace, name=package.image_name, dry_run=True, record=False)
    runs = [r for r in retention_selectors.recent_runs(owner=package.namespace)
            if r.package_name in ("", package.image_name)]
    return {"retention_policy": policy, "retention_source": "package" if own else ("owner" if policy else None),
            "retention_preview": preview, "retention_runs": runs, "package_size": package_usage(package=package)}


def _number(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise PolicyInvalid(f"{value!r} is not a whole number of at least 0")
    return int(value)


class RetentionSettingsView(PackageMixin, View):
    """POST: set, turn off or remove the package's own retention policy."""

    def post(self, request, owner, name):
        package = self.get_admin_package(request, owner, name)
        if request.POST.get("clear"):
            policy_delete(owner=package.namespace, package=package)
            messages.success(request, f"{package.name} follows {package.namespace}'s retention policy again.")
            return redirect(page_url("packages_ui:settings", package))
        try:
            rules = {field: _number(request.POST.get(field, "")) for field in RULE_FIELDS if field != "keep_tags"}
            policy_set(owner=package.namespace, package=package, enabled=bool(request.POST.get("enabled")),
                       keep_tags=request.POST.get("keep_tags", "").strip(), **rules)
        except PolicyInvalid as e:
            messages.error(request, str(e))
        else:
            messages.success(request, f"Retention policy of {package.name} saved.")
        return redirect(page_url("packages_ui:settings", package))
