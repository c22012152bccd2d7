"""Writes on source repositories: adding and removing them, their push refs and grants, packages' connections
and CI access, packages a CI job creates, and the job identities /token and /v2/ build from job tokens.

The views and commands check who may call these (accounts.access); the services trust their caller.
"""

import dataclasses

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Namespace, Team
from audit.models import Action
from audit.services import audit_record
from registry.models import Package
from registry.services.packages import package_get_or_create
from sources.identity import JobIdentity
from sources.models import PackageRepositoryAccess, RepositoryPermission, Role, SourceRepository


def normalize_url(url: str) -> str:
    """Return url as Berth keeps it: no surrounding spaces, no trailing slash, no .git."""
    url = url.strip().rstrip("/")
    if url.endswith(".git"):
        url = url[:-len(".git")].rstrip("/")
    return url


def normalize_push_refs(push_refs) -> list[str]:
    """Return the push ref globs as a list without blanks or repeats, from a list or a comma-separated string."""
    if isinstance(push_refs, str):
        push_refs = push_refs.split(",")
    refs = []
    for ref in push_refs or ():
        ref = ref.strip()
        if ref and ref not in refs:
            if any(c.isspace() for c in ref):
                raise ValidationError(f"{ref!r} is not a ref glob; write globs like refs/heads/main,refs/tags/*.")
            refs.append(ref)
    return refs


def templates_text() -> str:
    """Return the configured issuers' repository URL templates, for messages."""
    from accounts.oidc import issuers

    templates = [issuer.repository_url for issuer in issuers()]
    return ", ".join(templates) if templates else "none: set BERTH_CI_ISSUERS first"


def repository_find(url: str) -> SourceRepository | None:
    """Return the registered repository with that URL (as people write it), or None."""
    return SourceRepository.objects.filter(url__iexact=normalize_url(url)).select_related("namespace").first()


@transaction.atomic
def repository_add(*, namespace: str, url: str, push_refs=(), by=None) -> SourceRepository:
    """Register the repository at url to namespace, so its CI jobs may sign in; push_refs limit who pushes."""
    from accounts.oidc import issuer_for_url

    holder = Namespace.objects.filter(name=namespace).first()
    if holder is None:
        raise ValidationError(f"There is no user or organization called {namespace!r}.")
    url = normalize_url(url)
    found = issuer_for_url(url)
    if found is None:
        raise ValidationError(f"{url} matches no trusted CI issuer's repository URL; "
                              f"the configured templates are: {templates_text()}.")
    issuer, claim = found
    refs = normalize_push_refs(push_refs)
    existing = SourceRepository.objects.select_for_update().filter(url__iexact=url).select_related("namespace")
    existing = existing.first() or SourceRepository.objects.filter(
        issuer=issuer.issuer, claim__iexact=claim).select_related("namespace").first()
    if existing is not None:
        if existing.namespace_id != holder.pk:
            raise ValidationError(f"{url} is already registered by another owner ({existing.namespace.name}); "
                                  f"a repository belongs to one owner.")
        raise ValidationError(f"{url} is already registered to {namespace}.")
    try:
        with transaction.atomic():
            repository = SourceRepository.objects.create(namespace=holder, url=url, issuer=issuer.issuer,
                                                         claim=claim, push_refs=refs, created_by=by)
    except IntegrityError:
        # Someone registered it between the check and the insert.
        raise ValidationError(f"{url} is already registered.") from None
    audit_record(action=Action.REPOSITORY_ADD, namespace=namespace, actor=by,
                 data={"repository": url, "push_refs": refs})
    return repository


@transaction.atomic
def repository_remove(*, repository: SourceRepository, by=None) -> None:
    """Forget repository: its jobs can no longer sign in, its packages are disconnected and keep their own grants."""
    owner, url = repository.namespace.name, repository.url
    connected = Package.all_objects.filter(source_repository=repository)
    disconnected = list(connected.order_by("name").values_list("namespace", "name"))
    # Its CI access to other packages goes with it (on delete cascade): their owners' logs say so.
    ci_access = list(PackageRepositoryAccess.objects.filter(repository=repository).order_by("package__name")
                     .values_list("package__namespace", "package__name"))
    connected.update(source_repository=None, inherit_access=False)
    repository.delete()
    audit_record(action=Action.REPOSITORY_REMOVE, namespace=owner, actor=by,
                 data={"repository": url, "packages": [name for _, name in disconnected]})
    for namespace, name in disconnected:
        audit_record(action=Action.REPOSITORY_DISCONNECT, namespace=namespace, actor=by, package=name,
                     data={"repository": url})
    for namespace, name in ci_access:
        audit_record(action=Action.ACCESS_REVOKE, namespace=namespace, actor=by, package=name,
                     data={"grantee": url, "repository": url})


@transaction.atomic
def push_refs_set(*, repository: SourceRepository, push_refs, by=None) -> SourceRepository:
    """Limit the refs whose jobs may push (globs); none: every ref may."""
    previous = list(repository.push_refs)
    repository.push_refs = normalize_push_refs(push_refs)
    repository.save(update_fields=["push_refs"])
    if repository.push_refs != previous:
        # It changes which CI jobs may push to the repository's packages: as much a grant as a role is.
        audit_record(action=Action.REPOSITORY_PUSH_REFS_CHANGE, namespace=repository.namespace.name, actor=by,
                     data={"repository": repository.url, "previous_push_refs": previous,
                           "push_refs": repository.push_refs})
    return repository


@transaction.atomic
def repository_grant(*, repository: SourceRepository, role: str, user=None, team: Team | None = None, by=None
                     ) -> RepositoryPermission:
    """Give a user or a team (of the owning organization) role on repository, replacing an earlier grant."""
    if (user is None) == (team is None):
        raise ValueError("grant to exactly one of user or team")
    if role not in Role.values:
        raise ValidationError("Choose read, write or admin.")
    if team is not None and team.organization_id != repository.namespace.organization_id:
        raise ValidationError(f"Only teams of {repository.namespace.name} can be given access to {repository.url}.")
    grantee = {"user": user} if user is not None else {"team": team}
    permission, _ = RepositoryPermission.objects.update_or_create(repository=repository, **grantee,
                                                                  defaults={"role": Role(role)})
    audit_record(action=Action.ACCESS_GRANT, namespace=repository.namespace.name, actor=by,
                 data={"repository": repository.url, "grantee": _grantee(repository, user, team), "role": role})
    return permission


@transaction.atomic
def repository_revoke(*, repository: SourceRepository, user=None, team: Team | None = None, by=None) -> None:
    grantee = {"user": user} if user is not None else {"team": team}
    if RepositoryPermission.objects.filter(repository=repository, **grantee).delete()[0]:
        audit_record(action=Action.ACCESS_REVOKE, namespace=repository.namespace.name, actor=by,
                     data={"repository": repository.url, "grantee": _grantee(repository, user, team)})


def _grantee(repository: SourceRepository, user, team: Team | None) -> str:
    """Return how the audit log names a repository's grantee, as package grants do: USERNAME or ORG/TEAM."""
    return user.get_username() if user is not None else f"{repository.namespace.name}/{team.name}"


@transaction.atomic
def package_connect(*, package: Package, repository: SourceRepository, inherit_access: bool | None = None,
                    by=None) -> Package:
    """Connect package to one of its owner's repositories, which then has admin on it."""
    if repository.namespace.name != package.namespace:
        raise ValidationError(f"{repository.url} belongs to {repository.namespace.name}, not {package.namespace}; "
                              f"connect {package.name} to one of {package.namespace}'s repositories.")
    previous = package.source_repository
    package.source_repository = repository
    fields = ["source_repository"]
    if inherit_access is not None:
        package.inherit_access = inherit_access
        fields.append("inherit_access")
    package.save(update_fields=fields)
    # The connected repository is admin anyway; a separate CI access row would only confuse the list.
    PackageRepositoryAccess.objects.filter(package=package, repository=repository).delete()
    data = {"repository": repository.url, "inherit_access": package.inherit_access}
    if previous is not None and previous.pk != repository.pk:
        data["previous_repository"] = previous.url
    audit_record(action=Action.REPOSITORY_CONNECT, namespace=package.namespace, actor=by, package=package.name,
                 data=data)
    return package


@transaction.atomic
def package_disconnect(*, package: Package, by=None) -> Package:
    """Disconnect package from its repository; its own grants apply again."""
    previous = package.source_repository
    package.source_repository = None
    package.inherit_access = False
    package.save(update_fields=["source_repository", "inherit_access"])
    if previous is not None:
        audit_record(action=Action.REPOSITORY_DISCONNECT, namespace=package.namespace, actor=by,
                     package=package.name, data={"repository": previous.url})
    return package


@transaction.atomic
def package_inherit_set(*, package: Package, inherit_access: bool, by=None) -> Package:
    """Turn on or off whether package's access comes from its connected repository's collaborators."""
    if inherit_access and package.source_repository_id is None:
        raise ValidationError(f"Connect {package.name} to a repository before it can inherit its access.")
    was = package.inherit_access
    package.inherit_access = inherit_access
    package.save(update_fields=["inherit_access"])
    if was != inherit_access:
        # Who may use the package changes: its own grants or the repository's collaborators.
        audit_record(action=Action.INHERIT_ACCESS_CHANGE, namespace=package.namespace, actor=by,
                     package=package.name,
                     data={"repository": package.source_repository.url, "inherit_access": inherit_access})
    return package


@transaction.atomic
def package_repository_access_set(*, package: Package, repository: SourceRepository, role: str, by=None
                                  ) -> PackageRepositoryAccess:
    """Give repository's CI jobs role on package ("Manage CI access"), replacing an earlier role."""
    if role not in Role.values:
        raise ValidationError("Choose read, write or admin.")
    if package.source_repository_id == repository.pk:
        raise ValidationError(f"{repository.url} is connected to {package.name} and has admin on it already.")
    access, _ = PackageRepositoryAccess.objects.update_or_create(package=package, repository=repository,
                                                                 defaults={"role": Role(role)})
    # The grantee is the repository's CI jobs, named as its URL.
    audit_record(action=Action.ACCESS_GRANT, namespace=package.namespace, actor=by, package=package.name,
                 data={"grantee": repository.url, "repository": repository.url, "role": role})
    return access


@transaction.atomic
def package_repository_access_remove(*, package: Package, repository: SourceRepository, by=None) -> None:
    if package.source_repository_id == repository.pk:
        raise ValidationError(f"{repository.url} is connected to {package.name}; disconnect it instead.")
    if PackageRepositoryAccess.objects.filter(package=package, repository=repository).delete()[0]:
        audit_record(action=Action.ACCESS_REVOKE, namespace=package.namespace, actor=by, package=package.name,
                     data={"grantee": repository.url, "repository": repository.url})


@transaction.atomic
def package_create_for_job(*, name: str, job: JobIdentity) -> Package:
    """Return the package a CI job's push to name goes to, creating it connected to the job's repository.

    The caller (accounts.access) has checked that the job may push there. A package someone
    created a moment earlier is returned as it is.
    """
    package, created = package_get_or_create(name=name)
    if not created:
        return package
    package.source_repository_id = job.repository_id
    package.inherit_access = True
    package.save(update_fields=["source_repository", "inherit_access"])
    audit_record(action=Action.PACKAGE_CREATE, namespace=package.namespace, actor_name=job.username,
                 package=package.name, data={"repository": job.repository_url, "ref": job.ref})
    audit_record(action=Action.REPOSITORY_CONNECT, namespace=package.namespace, actor_name=job.username,
                 package=package.name, data={"repository": job.repository_url, "inherit_access": True})
    return package


@transaction.atomic
def connect_from_source(*, package: Package, source_url: str, user) -> bool:
    """Connect package to its owner's repository at source_url (an image's source label) if it is not yet
    connected and user administers it; return True if it was connected."""
    from accounts import access

    if package.source_repository_id is not None or not source_url or user is None:
        return False
    repository = SourceRepository.objects.filter(namespace__name=package.namespace,
                                                 url__iexact=normalize_url(source_url)).first()
    if repository is None or not access.administers(user, package):
        return False
    package_connect(package=package, repository=repository, by=user)
    return True


def _registration_help(url: str, claim: str) -> str:
    owner = claim.split("/", 1)[0] if claim else ""
    namespace = owner if owner and Namespace.objects.filter(name=owner).exists() else "NAMESPACE"
    page = reverse("sources:repositories", kwargs={"owner": namespace}) if namespace != "NAMESPACE" \
        else "/OWNER/repositories"
    return (f"an owner of {namespace} adds it at {page} "
            f"or with `manage.py add_repository {namespace} {url}`")


def job_identity(claims) -> JobIdentity:
    """Return the identity of the CI job whose verified token carried claims; raise InvalidJobToken if its
    repository is not registered with Berth."""
    from accounts.oidc import InvalidJobToken

    repository = SourceRepository.objects.filter(issuer=claims.issuer, claim__iexact=claims.repository
                                                 ).select_related("namespace").first()
    if repository is None:
        raise InvalidJobToken(f"repository {claims.repository_url} is not registered with Berth; "
                              f"{_registration_help(claims.repository_url, claims.repository)}")
    return JobIdentity(repository_id=repository.pk, repository_url=repository.url,
                       namespace=repository.namespace.name, issuer=repository.issuer, ref=claims.ref or "",
                       sha=claims.sha or "", workflow=claims.workflow or "", run_id=str(claims.run_id or ""),
                       push_refs=tuple(repository.push_refs or ()), expires_at=int(claims.expires_at or 0))


def job_identity_current(job: JobIdentity) -> JobIdentity:
    """Return job as its repository's row says now (owner, push refs); raise InvalidJobToken if it was removed."""
    from accounts.oidc import InvalidJobToken

    repository = SourceRepository.objects.filter(pk=job.repository_id).select_related("namespace").first()
    if repository is None:
        raise InvalidJobToken(f"repository {job.repository_url} is no longer registered with Berth; "
                              f"{_registration_help(job.repository_url, job.username)}")
    return dataclasses.replace(job, repository_url=repository.url, namespace=repository.namespace.name,
                               push_refs=tuple(repository.push_refs or ()))
