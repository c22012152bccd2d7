"""Reads for the source repository pages and the package settings page's repository sections."""

from accounts import access
from accounts.models import Team
from registry.models import Package
from sources.models import PackageRepositoryAccess, RepositoryPermission, SourceRepository


def repositories(*, namespace: str) -> list[SourceRepository]:
    """Return namespace's registered repositories."""
    return list(SourceRepository.objects.filter(namespace__name=namespace).select_related("namespace"))


def repository_get(*, namespace: str, repository_id: int) -> SourceRepository | None:
    return SourceRepository.objects.filter(namespace__name=namespace, pk=repository_id).select_related(
        "namespace").first()


def repository_grants(*, repository: SourceRepository) -> list[RepositoryPermission]:
    return list(RepositoryPermission.objects.filter(repository=repository).select_related("user", "team")
                .order_by("team__name", "user__username"))


def grantee_name(permission: RepositoryPermission) -> str:
    """Return who holds a repository role as the page names them: USERNAME or ORG/TEAM."""
    if permission.team_id is not None:
        return f"{permission.repository.namespace.name}/{permission.team.name}"
    return permission.user.get_username()


def connected_packages(*, repository: SourceRepository, user) -> list[Package]:
    """Return the live packages connected to repository that user may see."""
    return list(access.visible_packages(user).filter(source_repository=repository))


def ci_access(*, package: Package) -> list[PackageRepositoryAccess]:
    """Return the repositories given a role on package (the connected one is admin without a row)."""
    return list(PackageRepositoryAccess.objects.filter(package=package).select_related("repository")
                .order_by("repository__url"))


def namespace_teams(*, namespace: str) -> list[Team]:
    return list(Team.objects.filter(organization__name=namespace).order_by("name"))
