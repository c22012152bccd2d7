"""People and what they hold: namespaces, organizations, teams, tokens and package grants."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.names import validate_namespace_name


class Namespace(models.Model):
    """An OWNER name (the first component of HOST/OWNER/IMAGE_NAME), held by one user or one organization.

    Users and organizations share the table so one name can never belong to both.
    """

    name = models.CharField(max_length=64, unique=True, validators=[validate_namespace_name])
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                related_name="namespace")
    organization = models.OneToOneField("Organization", null=True, blank=True, on_delete=models.CASCADE,
                                        related_name="namespace")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, organization__isnull=True)
                           | Q(user__isnull=True, organization__isnull=False)),
                name="namespace_has_one_holder",
            ),
        ]

    def __str__(self):
        return self.name


class Organization(models.Model):
    """A group of people that owns packages under its name."""

    name = models.CharField(max_length=64, unique=True, validators=[validate_namespace_name])
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership",
                                     related_name="organizations")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="unique_membership"),
        ]

    def __str__(self):
        return f"{self.user} in {self.organization} ({self.role})"


class Team(models.Model):
    """A named group of an organization's members, granted access to packages together."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=64, validators=[validate_namespace_name])
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_team_name"),
        ]

    def __str__(self):
        return f"{self.organization.name}/{self.name}"


class Scope(models.TextChoices):
    READ_PACKAGES = "read:packages", "read:packages"
    WRITE_PACKAGES = "write:packages", "write:packages"
    DELETE_PACKAGES = "delete:packages", "delete:packages"


class PersonalAccessToken(models.Model):
    """A token a person uses as a password for docker login; only its SHA-256 is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens")
    note = models.CharField(max_length=100, blank=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, enough for a person to recognise it in a list.
    hint = models.CharField(max_length=24)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.hint}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class Role(models.TextChoices):
    """A role on a package or a source repository: read pulls, write also pushes, admin also deletes."""

    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"


class RoleGrant(models.Model):
    """A role granted to a user or to a team, never both: on a package here, on a source repository in sources.

    Each subclass declares what the role is on and its user and team fields (their related names
    differ), and its constraints under the names its migrations gave them, one of them one_grantee's.
    """

    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @staticmethod
    def one_grantee(name: str) -> models.CheckConstraint:
        """Return the check that a grant names exactly one of a user and a team."""
        return models.CheckConstraint(
            condition=Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False), name=name)


class PackagePermission(RoleGrant):
    """A role on one package, granted to a user or to a team."""

    Role = Role  # as callers name it

    package = models.ForeignKey("registry.Package", on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="package_permissions")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="package_permissions")

    class Meta:
        constraints = [
            RoleGrant.one_grantee("package_permission_has_one_grantee"),
            models.UniqueConstraint(fields=["package", "user"], condition=Q(user__isnull=False),
                                    name="unique_package_user_permission"),
            models.UniqueConstraint(fields=["package", "team"], condition=Q(team__isnull=False),
                                    name="unique_package_team_permission"),
        ]

    def __str__(self):
        return f"{self.user or self.team} {self.role} on {self.package}"

    @property
    def grantee(self) -> str:
        """Return who holds the role as the settings form names them: USERNAME or ORG/TEAM."""
        if self.team_id is not None:
            return f"{self.team.organization.name}/{self.team.name}"
        return self.user.get_username()


class FailedLogin(models.Model):
    """One refused sign-in, kept for a while to throttle guessing across every worker."""

    class Kind(models.TextChoices):
        # A password on the sign-in page, or a token (personal access or refresh) at /token or /v2/:
        # each kind is throttled on its own, so mistyped passwords never refuse a valid token.
        PASSWORD = "password", "Password"
        TOKEN = "token", "Token"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.PASSWORD)
    username = models.CharField(max_length=150)
    address = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "address", "created_at"], name="failed_login_kind_address")]


class IssuerKeySet(models.Model):
    """A CI issuer's published signing keys (its JWKS), cached once for every worker and server.

    The times of the last fetch any process began, and of the last one an unknown key id caused, keep
    fetches rate-limited across all processes (accounts/jwks.py).
    """

    issuer = models.CharField(max_length=500, unique=True)
    jwks = models.JSONField(default=dict)
    fetched_at = models.DateTimeField(null=True)
    attempted_at = models.DateTimeField(null=True)
    refetched_at = models.DateTimeField(null=True)
    # Why the last fetch failed, until one succeeds; shown when there are no keys to fall back on.
    error = models.TextField(blank=True)

    def __str__(self):
        return self.issuer
