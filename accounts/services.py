"""Writes on accounts: people, organizations, teams, tokens, grants and visibility."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import tokens
from accounts.models import Membership, Namespace, Organization, PackagePermission, PersonalAccessToken, Team
from accounts.names import validate_namespace_name
from audit.models import Action
from audit.services import audit_record
from events.models import EventType
from events.outbox import event_record
from registry.models import Package, Visibility
from registry.services.packages import package_get_or_create

User = get_user_model()


def _claim_namespace(name: str) -> None:
    validate_namespace_name(name)
    if Namespace.objects.filter(name=name).exists() or User.objects.filter(username__iexact=name).exists() \
            or Organization.objects.filter(name=name).exists():
        raise ValidationError(f"The name {name!r} is already taken.", code="taken")


def user_create(*, username: str, password: str | None = None, email: str = "") -> User:
    """Create a user and claim their namespace; without a password they sign in with tokens only."""
    _claim_namespace(username)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email, password=password)
            Namespace.objects.create(name=username, user=user)
    except IntegrityError:
        # Someone claimed the name between the check and the insert.
        raise ValidationError(f"The name {username!r} is already taken.", code="taken")
    return user


def organization_create(*, name: str, owner: User) -> Organization:
    """Create an organization whose first owner is owner."""
    _claim_namespace(name)
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name=name)
            Namespace.objects.create(name=name, organization=organization)
            Membership.objects.create(organization=organization, user=owner, role=Membership.Role.OWNER)
    except IntegrityError:
        raise ValidationError(f"The name {name!r} is already taken.", code="taken")
    return organization


def _keep_an_owner(organization: Organization, user: User) -> None:
    # Lock the owners' rows so two owners can't demote each other at the same time.
    owners = list(Membership.objects.select_for_update().filter(
        organization=organization, role=Membership.Role.OWNER).values_list("user_id", flat=True))
    if owners == [user.pk]:
        raise ValidationError(f"{user} is the last owner of {organization}; make someone else an owner first.")


@transaction.atomic
def membership_set(*, organization: Organization, user: User, role: str = Membership.Role.MEMBER) -> Membership:
    """Add user to organization with role, or change the role of a member (an owner must remain)."""
    role = Membership.Role(role)
    if role != Membership.Role.OWNER:
        _keep_an_owner(organization, user)
    membership, _ = Membership.objects.update_or_create(organization=organization, user=user,
                                                        defaults={"role": role})
    return membership


@transaction.atomic
def membership_remove(*, organization: Organization, user: User) -> None:
    """Remove user from organization and from its teams (an owner must remain)."""
    _keep_an_owner(organization, user)
    Membership.objects.filter(organization=organization, user=user).delete()
    for team in organization.teams.filter(members=user):
        team.members.remove(user)


def team_create(*, organization: Organization, name: str) -> Team:
    validate_namespace_name(name)
    try:
        with transaction.atomic():
            return Team.objects.create(organization=organization, name=name)
    except IntegrityError:
        raise ValidationError(f"{organization} already has a team {name!r}.", code="taken")


def team_member_add(*, team: Team, user: User) -> None:
    """Add user to team; only members of the team's organization can join it."""
    if not Membership.objects.filter(organization=team.organization, user=user).exists():
        raise ValidationError(f"{user} is not a member of {team.organization}; add them to it first.")
    team.members.add(user)


def team_member_remove(*, team: Team, user: User) -> None:
    team.members.remove(user)


@transaction.atomic
def package_grant(*, package: Package, role: str, user: User | None = None, team: Team | None = None
                  ) -> PackagePermission:
    """Give a user or a team role (read, write or admin) on package, replacing an earlier grant."""
    if (user is None) == (team is None):
        raise ValueError("grant to exactly one of user or team")
    role = PackagePermission.Role(role)
    if team is not None and team.organization.name != package.namespace:
        raise ValidationError(f"team {team} belongs to another organization than {package.name}.")
    grantee = {"user": user} if user is not None else {"team": team}
    permission, _ = PackagePermission.objects.update_or_create(package=package, **grantee,
                                                               defaults={"role": role})
    audit_record(action=Action.ACCESS_GRANT, namespace=package.namespace, package=package.name,
                 data={"grantee": permission.grantee, "role": role})
    return permission


@transaction.atomic
def package_revoke(*, package: Package, user: User | None = None, team: Team | None = None) -> None:
    grantee = {"user": user} if user is not None else {"team": team}
    if PackagePermission.objects.filter(package=package, **grantee).delete()[0]:
        who = user.get_username() if user is not None else f"{team.organization.name}/{team.name}"
        audit_record(action=Action.ACCESS_REVOKE, namespace=package.namespace, package=package.name,
                     data={"grantee": who})


@transaction.atomic
def package_visibility_set(*, package: Package, visibility: str) -> Package:
    was = package.visibility
    package.visibility = Visibility(visibility)
    package.save(update_fields=["visibility"])
    if was != package.visibility:
        event_record(type=EventType.VISIBILITY_CHANGED, package=package, extra={"previous_visibility": was})
    return package


@transaction.atomic
def package_create(*, name: str, creator: User) -> Package:
    """Return the package a push to name goes to, creating it on the first push with its creator as admin.

    The namespace's owners are admins anyway; a plain organization member who publishes a
    package must be able to keep pushing to it and to manage it. Pushing to a package someone
    else created a moment earlier grants nothing. The caller has checked that creator may push.
    """
    package, created = package_get_or_create(name=name)
    if not created:
        return package
    audit_record(action=Action.PACKAGE_CREATE, namespace=package.namespace, actor=creator, package=package.name)
    holder = Namespace.objects.filter(name=package.namespace).first()
    if holder is None or holder.user_id != creator.pk:
        PackagePermission.objects.get_or_create(package=package, user=creator,
                                                defaults={"role": PackagePermission.Role.ADMIN})
    return package


@transaction.atomic
def token_create(*, user: User, scopes, note: str = "", expires_at: datetime | None = None
                 ) -> tuple[PersonalAccessToken, str]:
    """Create a personal access token and return it with its value, which is never stored."""
    scopes = tokens.normalize_scopes(scopes)
    if not scopes:
        raise ValueError("choose at least one scope")
    value = tokens.generate()
    pat = PersonalAccessToken.objects.create(user=user, note=note, token_hash=tokens.hash_token(value),
                                             hint=value[:tokens.HINT_LENGTH], scopes=scopes,
                                             expires_at=expires_at)
    audit_record(action=Action.TOKEN_CREATE, namespace=user.get_username(), token=pat,
                 data={"note": note, "scopes": scopes})
    return pat, value


@transaction.atomic
def token_revoke(*, token: PersonalAccessToken) -> None:
    """Revoke token; registry tokens issued from it stop working on their next request."""
    if PersonalAccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        audit_record(action=Action.TOKEN_REVOKE, namespace=token.user.get_username(), token=token,
                     data={"note": token.note})
