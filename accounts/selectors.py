"""Reads on accounts, for pages and commands."""

from django.contrib.auth import get_user_model
from django.db.models import F, Prefetch

from accounts.models import Organization, PersonalAccessToken

User = get_user_model()


def token_list(*, user):
    """Return user's tokens, newest first."""
    return PersonalAccessToken.objects.filter(user=user).order_by("-created_at", "-id")


def organization_list(*, user):
    """Return the organizations user belongs to, with user's role on each as `role`."""
    return Organization.objects.filter(memberships__user=user).annotate(role=F("memberships__role")).order_by("name")


def organization_members(*, organization: Organization):
    return organization.memberships.select_related("user").order_by("user__username")


def organization_teams(*, organization: Organization):
    return organization.teams.prefetch_related(Prefetch("members", queryset=User.objects.order_by("username")))
