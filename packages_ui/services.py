"""Writes the package settings page makes, by name, on top of the accounts and registry services."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.models import PackagePermission, Team
from accounts.services import package_grant, package_revoke
from registry.models import Package

User = get_user_model()


def grantee_find(*, package: Package, grantee: str) -> dict:
    """Return {"user": ...} or {"team": ...} for a username or a TEAM / ORG/TEAM of the package's owner."""
    grantee = grantee.strip()
    if not grantee:
        raise ValidationError("Enter a username, or a team as ORGANIZATION/TEAM.")
    if "/" in grantee:
        organization, _, team_name = grantee.partition("/")
        team = Team.objects.filter(organization__name=organization, name=team_name).first()
        if team is None:
            raise ValidationError(f"There is no team {grantee}; teams are written ORGANIZATION/TEAM.")
        if organization != package.namespace:
            raise ValidationError(f"Only teams of {package.namespace} can be given access to {package.name}.")
        return {"team": team}
    user = User.objects.filter(username=grantee).first()
    if user is None:
        team = Team.objects.filter(organization__name=package.namespace, name=grantee).first()
        if team is not None:
            return {"team": team}
        raise ValidationError(f"There is no user called {grantee}.")
    return {"user": user}


def grant_by_name(*, package: Package, grantee: str, role: str) -> PackagePermission:
    """Give a user or team (named as typed on the settings page) role on package, or change their role."""
    if role not in PackagePermission.Role.values:
        raise ValidationError("Choose read, write or admin.")
    return package_grant(package=package, role=role, **grantee_find(package=package, grantee=grantee))


def grant_remove(*, package: Package, permission_id: int) -> None:
    permission = PackagePermission.objects.filter(package=package, pk=permission_id).first()
    if permission is None:
        raise ValidationError("That access was already removed.")
    package_revoke(package=package, user=permission.user, team=permission.team)
