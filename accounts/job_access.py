"""What a CI job may do with a package, for accounts.access (which decides; this module only answers for jobs).

A job acts for its registered source repository: admin on the packages connected to it, the role
"Manage CI access" gives it on others, and a new package in its repository owner's namespace
(created connected). It pulls public and internal packages too: a registered repository's job is a
member of this instance. Pushing and deleting also need a ref the repository's push refs allow.
"""

from django.db.models import Q
from django.urls import reverse

from accounts.roles import ROLE_ACTIONS, ROLE_FOR_ACTION, ROLE_ORDER
from registry.models import Package, Visibility
from registry.oci.errors import Denied, OCIError
from registry.selectors import name_unknown
from sources.identity import JobIdentity
from sources.models import PackageRepositoryAccess, Role


def job_role(job: JobIdentity, package: Package | None, namespace: str) -> str | None:
    """Return job's role on package (None for a name nobody pushed yet, which it may create in its namespace)."""
    if package is None:
        return Role.ADMIN if namespace == job.namespace else None
    if package.source_repository_id == job.repository_id:
        return Role.ADMIN
    return PackageRepositoryAccess.objects.filter(package=package, repository_id=job.repository_id
                                                  ).values_list("role", flat=True).first()


def job_visible(package: Package | None, role: str | None) -> bool:
    """Return True if a job with role on package can see it exists."""
    if package is None:
        return False
    return package.visibility in (Visibility.PUBLIC, Visibility.INTERNAL) or role is not None


def job_actions(job: JobIdentity, package: Package | None, namespace: str) -> frozenset[str]:
    """Return what job may do with package: its role's actions, pull if visible, push and delete only on a push ref."""
    role = job_role(job, package, namespace)
    actions = set(ROLE_ACTIONS[role]) if role else set()
    if job_visible(package, role):
        actions.add("pull")
    if not job.may_push:
        actions -= {"push", "delete"}
    return frozenset(actions)


def job_administers(job: JobIdentity, package: Package) -> bool:
    """Return True if job may delete and restore package: admin, on a ref that may push."""
    return job.may_push and job_role(job, package, package.namespace) == Role.ADMIN


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


def settings_url(request, package: Package) -> str:
    return _absolute(request, reverse("packages_ui:settings",
                                      kwargs={"owner": package.namespace, "name": package.image_name}))


def repository_url(request, job: JobIdentity) -> str:
    return _absolute(request, reverse("sources:repository",
                                      kwargs={"owner": job.namespace, "repository_id": job.repository_id}))


def job_refusal(request, job: JobIdentity, name: str, action: str, package: Package | None) -> OCIError | None:
    """Return the error refusing action on name to job, or None if its repository's role allows it.

    The registry token's grant is checked by the caller (accounts.access.refusal).
    """
    namespace = name.split("/", 1)[0]
    role = job_role(job, package, namespace)
    detail = {"name": name, "action": action, "repository": job.repository_url}
    if action == "pull":
        return None if job_visible(package, role) else name_unknown(name)
    if namespace != job.namespace and (package is None or not job_visible(package, role)):
        # A hidden package of another owner answers as a missing one there would.
        return Denied(f"a CI job of {job.repository_url} may create packages only under {job.namespace}/",
                      detail=detail)
    if package is not None and (role is None or ROLE_ORDER[role] < ROLE_ORDER[ROLE_FOR_ACTION[action]]):
        if role is None:
            return Denied(f"{name} is not connected to {job.repository_url} and does not give it write access; "
                          f"an admin of {name} connects it on {settings_url(request, package)} "
                          f"(Source repository / Manage CI access)", detail=detail)
        return Denied(f"{job.repository_url} has the {role} role on {name}, not {ROLE_FOR_ACTION[action]}; "
                      f"an admin of {name} changes it on {settings_url(request, package)} (Manage CI access)",
                      detail=detail)
    if not job.may_push:
        return Denied(f"this job runs on {job.ref or 'no ref'}; {job.repository_url} allows pushes only from "
                      f"{','.join(job.push_refs)} (change them on {repository_url(request, job)})", detail=detail)
    return None


def job_packages(job: JobIdentity):
    """Return the live packages job may read."""
    granted = PackageRepositoryAccess.objects.filter(repository_id=job.repository_id).values("package_id")
    return Package.objects.filter(Q(visibility__in=[Visibility.PUBLIC, Visibility.INTERNAL])
                                  | Q(source_repository_id=job.repository_id) | Q(pk__in=granted))
