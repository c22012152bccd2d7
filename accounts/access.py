"""The one place that decides who may do what with a package.

Actions are the distribution API's: pull (read), push (write) and delete. A caller may do an
action when three things agree: the credentials' scopes (a personal access token's, or all
of them for a signed-in page visitor), a registry token's grant for that repository, and the
person's role on the package (owner, organization owner, member creating a new package,
a user or team grant) or its visibility (public: anyone pulls; internal: anyone signed in).
A package connected to a source repository that inherits its access takes its roles from the
repository's collaborators instead of its own grants. A CI job acts for its repository: the
rules for jobs are in accounts.job_access.

A package the caller can't read answers exactly like a missing one.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, Subquery
from django.urls import reverse

from accounts import job_access
from accounts.authentication import Credential, challenge
from accounts.models import Membership, Namespace, PackagePermission
from accounts.registry_tokens import RegistryGrant
from accounts.roles import ALL_ACTIONS, ROLE_ACTIONS, ROLE_FOR_ACTION, ROLE_ORDER
from accounts.tokens import scope_actions
from registry.models import Package, Visibility
from registry.oci.errors import Denied, OCIError, Unauthorized
from registry.oci.names import validate_name
from registry.selectors import name_unknown
from sources.identity import JobIdentity
from sources.models import RepositoryPermission

Role = PackagePermission.Role
SCOPE_FOR_ACTION = {"pull": "read:packages", "push": "write:packages", "delete": "delete:packages"}
VERBS = {"pull": "pull", "push": "push to", "delete": "delete versions of"}


@dataclass(frozen=True)
class Caller:
    user: object
    scopes: frozenset[str]
    grant: RegistryGrant | None
    has_credentials: bool
    # A CI job signed in with its OIDC identity (user is then anonymous): sources.identity.JobIdentity.
    job: JobIdentity | None = None


def caller_for(request) -> Caller:
    """Return who is asking and what their credentials allow."""
    user = getattr(request, "user", None) or AnonymousUser()
    auth = getattr(request, "auth", None)
    if isinstance(auth, Credential):
        return credential_caller(user, auth)
    if user.is_authenticated:
        # A signed-in page visitor: the session carries every scope.
        return Caller(user, ALL_ACTIONS, None, True)
    return Caller(user, frozenset({"pull"}), None, False)


def credential_caller(user, auth: Credential) -> Caller:
    """Return the caller user and the credential they proved make."""
    if auth.job is not None:
        # A CI job: no person and no token scopes, its repository's role decides.
        return Caller(AnonymousUser(), ALL_ACTIONS, auth.grant, True, job=auth.job)
    return token_caller(user, auth.pat.scopes if auth.pat is not None else None, auth.grant)


def token_caller(user, scopes, grant: RegistryGrant | None) -> Caller:
    """Return the caller a token makes: a personal access token's scopes, or None for an anonymous registry token."""
    actions = frozenset(scope_actions(scopes)) if scopes is not None else frozenset({"pull"})
    return Caller(user, actions, grant, True)


def unauthorized(request, name: str | None = None, action: str | None = None, error: str | None = None
                 ) -> Unauthorized:
    host = request.get_host()
    return Unauthorized(
        f"authentication required: run `docker login {host}` with your username and a personal access token",
        headers={"WWW-Authenticate": challenge(request, name, action, error)},
    )


def holder_annotations(namespace: str = "namespace") -> dict:
    """Return the annotations that read who holds a package's namespace (the field path namespace names)."""
    holder = Namespace.objects.filter(name=OuterRef(namespace))
    return {
        "holder_found": Exists(holder),
        "holder_user_id": Subquery(holder.values("user_id")[:1]),
        "holder_organization_id": Subquery(holder.values("organization_id")[:1]),
    }


def package_with_holder(name: str) -> Package | None:
    """Return the package called name with its namespace's holder read in the same query.

    Every /v2/ request asks for both; one database round trip instead of two.
    """
    return Package.objects.filter(name=name).annotate(**holder_annotations()).first()


def namespace_holder(namespace: str, package: Package | None = None) -> dict | None:
    """Return who holds namespace as {"user_id", "organization_id"}, or None; package_with_holder() read it already."""
    if package is not None and package.namespace == namespace and hasattr(package, "holder_found"):
        if not package.holder_found:
            return None
        return {"user_id": package.holder_user_id, "organization_id": package.holder_organization_id}
    return Namespace.objects.filter(name=namespace).values("user_id", "organization_id").first()


def namespace_role(user, namespace: str, package: Package | None = None) -> str | None:
    """Return admin if user holds namespace (as its user or an organization owner), member if a member."""
    if not user.is_authenticated:
        return None
    holder = namespace_holder(namespace, package)
    if holder is None:
        # A user made outside Berth's sign-up (createsuperuser) still owns their own name.
        return Role.ADMIN if user.get_username() == namespace else None
    if holder["user_id"] is not None:
        return Role.ADMIN if holder["user_id"] == user.pk else None
    membership = Membership.objects.filter(organization_id=holder["organization_id"], user=user).first()
    if membership is None:
        return None
    return Role.ADMIN if membership.role == Membership.Role.OWNER else "member"


def package_role(user, package: Package | None, namespace: str) -> str | None:
    """Return user's role (read, write, admin) on package; package is None for a name not yet pushed."""
    held = namespace_role(user, namespace, package)
    if held == Role.ADMIN:
        return Role.ADMIN
    if package is None:
        # Members of an organization may create packages in it.
        return Role.WRITE if held == "member" else None
    if not user.is_authenticated:
        return None
    if inherits(package):
        # The repository's collaborators replace the package's own grants.
        roles = RepositoryPermission.objects.filter(
            Q(user=user) | Q(team__members=user), repository_id=package.source_repository_id)
    else:
        roles = PackagePermission.objects.filter(Q(user=user) | Q(team__members=user), package=package)
    return max(roles.values_list("role", flat=True), key=ROLE_ORDER.__getitem__, default=None)


def inherits(package: Package) -> bool:
    """Return True if package takes its access from its connected repository."""
    return package.inherit_access and package.source_repository_id is not None


def visible(user, package: Package | None, role: str | None) -> bool:
    """Return True if user can see that package exists."""
    if package is None:
        return False
    if package.visibility == Visibility.PUBLIC:
        return True
    if package.visibility == Visibility.INTERNAL and user.is_authenticated:
        return True
    return role is not None


def permitted_actions(user, package: Package | None, namespace: str) -> frozenset[str]:
    """Return what user's role and the package's visibility allow, before any credential's limits."""
    role = package_role(user, package, namespace)
    actions = set(ROLE_ACTIONS[role]) if role else set()
    if visible(user, package, role):
        actions.add("pull")
    return frozenset(actions)


def caller_permitted(caller: Caller, package: Package | None, namespace: str | None = None) -> frozenset[str]:
    """Return what caller's role (a person's, or a CI job's repository's) and package's visibility allow on it,
    before the credentials' scopes and grant; package is None for a name nobody pushed yet (give namespace)."""
    namespace = namespace if package is None else package.namespace
    if caller.job is not None:
        return job_access.job_actions(caller.job, package, namespace)
    return permitted_actions(caller.user, package, namespace)


def allowed_actions(caller: Caller, name: str) -> frozenset[str]:
    """Return the actions on name that caller may take with their credentials' scopes (for /token)."""
    package = Package.objects.filter(name=name).first()
    actions = caller_permitted(caller, package, name.split("/", 1)[0]) & frozenset(caller.scopes)
    if package is not None and package.visibility == Visibility.PUBLIC:
        actions |= {"pull"}
    return actions


def grant(caller: Caller, wanted: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    """Return, per repository, the asked-for actions caller may take; refused ones are left out."""
    granted = {}
    for name, asked in wanted.items():
        actions = frozenset(asked) & allowed_actions(caller, name)
        if actions:
            granted[name] = actions
    return granted


def check_registry(request) -> None:
    """Raise UNAUTHORIZED (with the challenge docker follows to /token) if the caller sent no credentials."""
    if not caller_for(request).has_credentials:
        raise unauthorized(request)


def refusal(request, caller: Caller, name: str, action: str, package: Package | None) -> OCIError | None:
    """Return the error that refuses action on name to caller, or None if it is allowed."""
    user = caller.user
    if action == "pull" and package is not None and package.visibility == Visibility.PUBLIC:
        return None
    if not caller.has_credentials:
        return unauthorized(request, name, action)
    if caller.job is not None:
        error = job_access.job_refusal(request, caller.job, name, action, package)
        if error is None and caller.grant is not None and action not in caller.grant.actions(name):
            return unauthorized(request, name, action, error="insufficient_scope")
        return error
    if action not in caller.scopes:
        if not user.is_authenticated:
            return unauthorized(request, name, action)
        scope = SCOPE_FOR_ACTION[action]
        create = request.build_absolute_uri(reverse("accounts:token-new")) + f"?scopes={scope}"
        return Denied(f"this personal access token lacks the {scope} scope needed to {action}; "
                      f"create one that has it at {create}",
                      detail={"name": name, "action": action, "scope": scope})
    permitted = permitted_actions(user, package, name.split("/", 1)[0])
    if action in permitted:
        if caller.grant is not None and action not in caller.grant.actions(name):
            # The person may, but this registry token was issued for less: ask for a new one.
            return unauthorized(request, name, action, error="insufficient_scope")
        return None
    if not user.is_authenticated:
        return unauthorized(request, name, action)
    if "pull" in permitted:
        return Denied(f"you may pull {name} but not {VERBS[action]} it; "
                      f"ask an admin of {name} for the {ROLE_FOR_ACTION[action]} role",
                      detail={"name": name, "action": action})
    if action == "pull":
        return name_unknown(name)
    return Denied(f"requested access to {name} is denied: you may not {VERBS[action]} it",
                  detail={"name": name, "action": action})


def check_repository(request, name: str, action: str, find=package_with_holder) -> Package | None:
    """Raise UNAUTHORIZED, DENIED or NAME_UNKNOWN unless the caller may do action on name.

    Return the package row (None for a name nobody pushed yet, which a push may create), so
    the view need not read it again. It writes nothing: the views that start a push create the
    package (accounts.services.package_create). find(name) reads that row (live packages only,
    with holder_annotations()); a view may pass one that reads what it needs in the same query.
    """
    validate_name(name)
    package = find(name)
    error = refusal(request, caller_for(request), name, action, package)
    if error is not None:
        raise error
    return package


def allows(request, name: str, action: str) -> bool:
    """Return True if the caller may do action (pull, push, delete) on name (a name nobody pushed yet included)."""
    try:
        validate_name(name)
    except OCIError:
        return False
    package = Package.objects.filter(name=name).first()
    return refusal(request, caller_for(request), name, action, package) is None


def can_read(request, name: str) -> bool:
    """Return True if the caller may pull from the package called name."""
    return allows(request, name, "pull")


def administers(user, package: Package) -> bool:
    """Return True if user administers package (its visibility, grants, deletion, restore); deleted ones too."""
    return package_role(user, package, package.namespace) == Role.ADMIN


def caller_administers(caller: Caller, package: Package) -> bool:
    """Return True if caller administers package: a person with the admin role, or a CI job whose
    repository is admin on it and whose ref may push (deleted packages too)."""
    if caller.job is not None:
        return job_access.job_administers(caller.job, package)
    return administers(caller.user, package)


def can_admin(request, name: str) -> bool:
    """Return True if the caller administers the live package called name."""
    package = Package.objects.filter(name=name).first()
    return package is not None and caller_administers(caller_for(request), package)


def holds_namespace(user, namespace: str) -> bool:
    """Return True if user holds namespace: their own name, or an organization they own."""
    return namespace_role(user, namespace) == Role.ADMIN


def can_view_repositories(user, namespace: str) -> bool:
    """Return True if user may see namespace's source repositories: its holder, or its organization's members."""
    return namespace_role(user, namespace) in (Role.ADMIN, "member")


def settled_by_holder(user, package: Package) -> bool:
    """Return True if package's row and its namespace holder settle user's pull without reading memberships.

    True for a public package, one whose namespace nobody holds, or one user holds as its user;
    an organization's packages need membership reads. package carries holder_annotations().
    The manifest pull fast path (registry/api/pull.py) answers only these and leaves the rest
    to the full stack, which reads what they need.
    """
    return (package.visibility == Visibility.PUBLIC or not package.holder_found
            or (user.is_authenticated and package.holder_user_id == user.pk))


def organization_role(user, organization) -> str | None:
    """Return user's role in organization (owner or member), None for outsiders."""
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(organization=organization, user=user).values_list("role", flat=True).first()


def can_manage_organization(user, organization) -> bool:
    """Return True if user may change organization's members and teams (its owners may)."""
    return organization_role(user, organization) == Membership.Role.OWNER


def visible_packages(user):
    """Return the packages user may read (every credential aside)."""
    packages = Package.objects.all()
    if not user.is_authenticated:
        return packages.filter(visibility=Visibility.PUBLIC)
    owned = Namespace.objects.filter(user=user).values("name")
    owned_orgs = Membership.objects.filter(user=user, role=Membership.Role.OWNER).values("organization__name")
    granted = PackagePermission.objects.filter(Q(user=user) | Q(team__members=user)).values("package_id")
    repositories = RepositoryPermission.objects.filter(Q(user=user) | Q(team__members=user)).values("repository_id")
    inheriting = Q(inherit_access=True, source_repository__isnull=False)
    return packages.filter(
        Q(visibility__in=[Visibility.PUBLIC, Visibility.INTERNAL])
        | Q(namespace=user.get_username())
        | Q(namespace__in=owned)
        | Q(namespace__in=owned_orgs)
        | (Q(pk__in=granted) & ~inheriting)
        | (inheriting & Q(source_repository_id__in=repositories))
    )


def readable_packages(request):
    """Return the packages the caller may read."""
    caller = caller_for(request)
    if caller.job is not None:
        return job_access.job_packages(caller.job)
    if "pull" not in caller.scopes:
        return Package.objects.filter(visibility=Visibility.PUBLIC)
    return visible_packages(caller.user)
