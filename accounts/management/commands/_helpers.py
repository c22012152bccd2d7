"""Lookups the account commands share, failing with messages a person can act on."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from accounts.models import Organization, Team
from registry.models import Package


def get_user(username: str):
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"there is no user {username!r}")
    return user


def get_organization(name: str) -> Organization:
    organization = Organization.objects.filter(name=name).first()
    if organization is None:
        raise CommandError(f"there is no organization {name!r}; create it with create_org")
    return organization


def get_team(organization: Organization, name: str) -> Team:
    team = organization.teams.filter(name=name).first()
    if team is None:
        raise CommandError(f"organization {organization} has no team {name!r}; create it with create_team")
    return team


def get_package(name: str) -> Package:
    package = Package.objects.filter(name=name).first()
    if package is None:
        raise CommandError(f"there is no package {name!r}; push to it first")
    return package
