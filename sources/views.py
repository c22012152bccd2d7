"""The owner's Repositories page and a repository's page: its push refs, who has which role, its packages.

An owner's repositories are seen by its holder and its organization's members and managed by the
holder (the user, or the organization's owners). Every change is a POST that redirects back with a message.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from accounts import access
from packages_ui import selectors as package_selectors
from packages_ui.views import ActionMixin, LoginRequired, SignInRedirectMixin
from sources import forms, selectors, services
from sources.models import Role


class OwnerMixin(SignInRedirectMixin):
    def check(self, request, owner: str, *, manage: bool) -> bool:
        """Return whether the visitor manages owner's repositories; refuse those who may not see them."""
        if not package_selectors.owner_exists(owner):
            raise Http404("no such user or organization")
        if not request.user.is_authenticated:
            raise LoginRequired()
        user = access.caller_for(request).user
        manages = access.holds_namespace(user, owner)
        if manage and not manages:
            raise PermissionDenied(f"Only {owner}'s owners can manage its repositories.")
        if not manages and not access.can_view_repositories(user, owner):
            raise PermissionDenied(f"Only {owner} and its members can see its repositories.")
        return manages

    def repository(self, owner: str, repository_id: int):
        repository = selectors.repository_get(namespace=owner, repository_id=repository_id)
        if repository is None:
            raise Http404("no such repository")
        return repository


class RepositoriesView(OwnerMixin, View):
    """GET: owner's registered repositories; POST: register one."""

    def get(self, request, owner):
        manages = self.check(request, owner, manage=False)
        from accounts.oidc import issuers

        context = {"owner": owner, "manages": manages, "repositories": selectors.repositories(namespace=owner),
                   "templates": [issuer.repository_url for issuer in issuers()]}
        return render(request, "sources/repositories.html", context)

    def post(self, request, owner):
        self.check(request, owner, manage=True)
        try:
            repository = services.repository_add(namespace=owner, url=request.POST.get("url", ""),
                                                 push_refs=request.POST.get("push_refs", ""), by=request.user)
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
            return redirect("sources:repositories", owner=owner)
        messages.success(request, f"{repository.url} is registered; its CI jobs may sign in to publish "
                                  f"{owner}'s packages.")
        return redirect("sources:repository", owner=owner, repository_id=repository.pk)


class RepositoryView(OwnerMixin, View):
    def get(self, request, owner, repository_id):
        manages = self.check(request, owner, manage=False)
        repository = self.repository(owner, repository_id)
        grants = [(grant, selectors.grantee_name(grant))
                  for grant in selectors.repository_grants(repository=repository)]
        context = {"owner": owner, "manages": manages, "repository": repository, "grants": grants,
                   "roles": Role.choices, "push_refs": ",".join(repository.push_refs),
                   "packages": selectors.connected_packages(repository=repository, user=request.user)}
        return render(request, "sources/repository.html", context)


class RepositoryActionView(OwnerMixin, ActionMixin, View):
    """POST-only changes from a repository's page."""

    def post(self, request, owner, repository_id, action):
        self.check(request, owner, manage=True)
        repository = self.repository(owner, repository_id)
        target = self.run_action(request, action, repository)
        if target is None:
            return redirect("sources:repository", owner=owner, repository_id=repository.pk)
        return redirect(target, owner=owner)

    def do_push_refs(self, request, repository):
        services.push_refs_set(repository=repository, push_refs=request.POST.get("push_refs", ""), by=request.user)
        refs = ", ".join(repository.push_refs)
        messages.success(request, f"Jobs of {repository.url} may push from {refs}." if refs
                         else f"Jobs of {repository.url} may push from every ref.")

    def do_grant(self, request, repository):
        value = request.POST.get("grantee", "")
        role = forms.role_field(request.POST.get("role", ""))
        services.repository_grant(repository=repository, role=role, by=request.user,
                                  **forms.grantee_field(repository=repository, value=value))
        messages.success(request, f"{value.strip()} now has {role} access to {repository.url}.")

    def do_revoke(self, request, repository):
        services.repository_revoke(repository=repository, by=request.user,
                                   **forms.grantee_field(repository=repository, value=request.POST.get("grantee", "")))
        messages.success(request, "Access removed.")

    def do_remove(self, request, repository):
        services.repository_remove(repository=repository, by=request.user)
        messages.success(request, f"{repository.url} was removed; its CI jobs can no longer sign in.")
        return "sources:repositories"
