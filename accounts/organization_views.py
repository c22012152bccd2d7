"""Organization pages: create one, see its members and teams, and (owners) manage them."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from accounts import access, selectors
from accounts.forms import MemberForm, OrganizationForm, TeamForm, TeamMemberForm
from accounts.models import Organization
from accounts.services import (
    membership_remove,
    membership_set,
    organization_create,
    team_create,
    team_member_add,
    team_member_remove,
)

User = get_user_model()


def organization_for(request, name: str, *, manage: bool = False) -> Organization:
    """Return the organization called name if the visitor belongs to it (owns it, if manage); else 404."""
    organization = Organization.objects.filter(name=name).first()
    if organization is None or access.organization_role(request.user, organization) is None:
        raise Http404(f"No organization {name} that you belong to.")
    if manage and not access.can_manage_organization(request.user, organization):
        raise Http404(f"Only owners of {name} manage its people.")
    return organization


def user_named(form, field: str = "username"):
    user = User.objects.filter(username=form.cleaned_data[field]).first()
    if user is None:
        form.add_error(field, f"There is no user {form.cleaned_data[field]!r}.")
    return user


class OrganizationListView(LoginRequiredMixin, View):
    def get(self, request, form=None, status=200):
        return render(request, "accounts/organization_list.html", {
            "organizations": selectors.organization_list(user=request.user),
            "form": form or OrganizationForm(),
        }, status=status)

    def post(self, request):
        form = OrganizationForm(request.POST)
        if form.is_valid():
            try:
                organization = organization_create(name=form.cleaned_data["name"], owner=request.user)
            except ValidationError as e:
                form.add_error("name", e)
            else:
                messages.success(request, f"Created {organization}. Its members may push to "
                                          f"{request.get_host()}/{organization}/IMAGE.")
                return redirect("accounts:organization", name=organization.name)
        return self.get(request, form=form, status=400)


class OrganizationView(LoginRequiredMixin, View):
    def get(self, request, name, member_form=None, team_form=None, status=200):
        organization = organization_for(request, name)
        return render(request, "accounts/organization.html", {
            "organization": organization,
            "members": selectors.organization_members(organization=organization),
            "teams": selectors.organization_teams(organization=organization),
            "can_manage": access.can_manage_organization(request.user, organization),
            "member_form": member_form or MemberForm(),
            "team_form": team_form or TeamForm(),
            "team_member_form": TeamMemberForm(),
        }, status=status)


class MemberSetView(LoginRequiredMixin, View):
    """Add a member, or change a member's role."""

    def post(self, request, name):
        organization = organization_for(request, name, manage=True)
        form = MemberForm(request.POST)
        if form.is_valid() and (user := user_named(form)) is not None:
            try:
                membership_set(organization=organization, user=user, role=form.cleaned_data["role"])
            except ValidationError as e:
                form.add_error(None, e)
            else:
                messages.success(request, f"{user} is now {form.cleaned_data['role']} of {organization}.")
                return redirect("accounts:organization", name=organization.name)
        return OrganizationView().get(request, name, member_form=form, status=400)


class MemberRemoveView(LoginRequiredMixin, View):
    def post(self, request, name, username):
        organization = organization_for(request, name, manage=True)
        user = get_object_or_404(User, username=username, memberships__organization=organization)
        try:
            membership_remove(organization=organization, user=user)
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        else:
            messages.success(request, f"Removed {user} from {organization}.")
        return redirect("accounts:organization", name=organization.name)


class TeamCreateView(LoginRequiredMixin, View):
    def post(self, request, name):
        organization = organization_for(request, name, manage=True)
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                team = team_create(organization=organization, name=form.cleaned_data["name"])
            except ValidationError as e:
                form.add_error("name", e)
            else:
                messages.success(request, f"Created team {team}.")
                return redirect("accounts:organization", name=organization.name)
        return OrganizationView().get(request, name, team_form=form, status=400)


class TeamMemberAddView(LoginRequiredMixin, View):
    def post(self, request, name, team):
        organization = organization_for(request, name, manage=True)
        team = get_object_or_404(organization.teams, name=team)
        form = TeamMemberForm(request.POST)
        if form.is_valid() and (user := user_named(form)) is not None:
            try:
                team_member_add(team=team, user=user)
            except ValidationError as e:
                messages.error(request, " ".join(e.messages))
            else:
                messages.success(request, f"Added {user} to {team}.")
        else:
            messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("accounts:organization", name=organization.name)


class TeamMemberRemoveView(LoginRequiredMixin, View):
    def post(self, request, name, team, username):
        organization = organization_for(request, name, manage=True)
        team = get_object_or_404(organization.teams, name=team)
        user = get_object_or_404(team.members, username=username)
        team_member_remove(team=team, user=user)
        messages.success(request, f"Removed {user} from {team}.")
        return redirect("accounts:organization", name=organization.name)
