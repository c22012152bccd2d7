"""What the repository pages' forms post, read into the services' arguments with messages a person can act on."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.models import Team
from sources.models import Role, SourceRepository
from sources.services import repository_find

User = get_user_model()


def role_field(value: str) -> str:
    if value not in Role.values:
        raise ValidationError("Choose read, write or admin.")
    return value


def grantee_field(*, repository: SourceRepository, value: str) -> dict:
    """Return {"user": ...} or {"team": ...} for a username, or a TEAM or ORG/TEAM of the repository's owner."""
    value = value.strip()
    owner = repository.namespace.name
    if not value:
        raise ValidationError("Enter a username, or a team as ORGANIZATION/TEAM.")
    if "/" in value:
        organization, _, team_name = value.partition("/")
        if organization != owner:
            raise ValidationError(f"Only teams of {owner} can be given access to {repository.url}.")
        team = Team.objects.filter(organization__name=organization, name=team_name).first()
        if team is None:
            raise ValidationError(f"There is no team {value}; teams are written ORGANIZATION/TEAM.")
        return {"team": team}
    user = User.objects.filter(username=value).first()
    if user is not None:
        return {"user": user}
    team = Team.objects.filter(organization__name=owner, name=value).first()
    if team is not None:
        return {"team": team}
    raise ValidationError(f"There is no user called {value}.")


def repository_field(value: str) -> SourceRepository:
    """Return the registered repository a form names by URL."""
    repository = repository_find(value) if value.strip() else None
    if repository is None:
        raise ValidationError(f"{value.strip() or 'That'} is not a registered repository; "
                              f"its owner adds it on their Repositories page.")
    return repository
