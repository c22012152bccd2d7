"""Source repositories: the code repositories whose CI jobs may sign in with their own OIDC identity.

A repository belongs to an owner (a user's or an organization's namespace) and is named by its URL,
which matches one trusted issuer's `repository_url` template (settings.BERTH_CI_ISSUERS). A package
may be connected to one repository (registry.Package.source_repository); repositories get roles on
packages ("Manage CI access"), and users and teams get roles on repositories, which a connected
package inherits when its inherit_access is on.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Role, RoleGrant  # Role: the same roles as a package's grants


class SourceRepository(models.Model):
    namespace = models.ForeignKey("accounts.Namespace", on_delete=models.CASCADE,
                                  related_name="source_repositories")
    # As people write it: https://github.com/alice/app (no trailing slash, no .git).
    url = models.CharField(max_length=500, unique=True)
    # The trusted issuer whose repository_url template the URL matched, and the value of that
    # issuer's repository claim a job of this repository carries (alice/app).
    issuer = models.CharField(max_length=500)
    claim = models.CharField(max_length=255)
    # Globs over the job's ref (refs/heads/main, refs/tags/*); empty: every ref may push.
    push_refs = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["url"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "claim"], name="unique_repository_claim"),
        ]

    def __str__(self):
        return self.url


class RepositoryPermission(RoleGrant):
    """A role on one source repository, granted to a user or a team; connected packages may inherit it."""

    repository = models.ForeignKey(SourceRepository, on_delete=models.CASCADE, related_name="permissions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="repository_permissions")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="repository_permissions")

    class Meta:
        constraints = [
            RoleGrant.one_grantee("repository_permission_has_one_grantee"),
            models.UniqueConstraint(fields=["repository", "user"], condition=Q(user__isnull=False),
                                    name="unique_repository_user_permission"),
            models.UniqueConstraint(fields=["repository", "team"], condition=Q(team__isnull=False),
                                    name="unique_repository_team_permission"),
        ]

    def __str__(self):
        return f"{self.user or self.team} {self.role} on {self.repository}"


class PackageRepositoryAccess(models.Model):
    """A repository's CI jobs' role on a package (GitHub's "Manage Actions access")."""

    package = models.ForeignKey("registry.Package", on_delete=models.CASCADE, related_name="repository_access")
    repository = models.ForeignKey(SourceRepository, on_delete=models.CASCADE, related_name="package_access")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "repository"], name="unique_package_repository_access"),
        ]

    def __str__(self):
        return f"{self.repository} {self.role} on {self.package}"


class Provenance(models.Model):
    """Where a version a CI job pushed came from, copied from the job token's claims."""

    manifest = models.OneToOneField("registry.Manifest", on_delete=models.CASCADE, related_name="provenance")
    repository = models.ForeignKey(SourceRepository, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    # Kept as text too: provenance outlives a removed repository.
    repository_url = models.CharField(max_length=500)
    issuer = models.CharField(max_length=500)
    ref = models.CharField(max_length=255, blank=True)
    sha = models.CharField(max_length=64, blank=True)
    workflow = models.CharField(max_length=255, blank=True)
    run_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.manifest_id} from {self.repository_url}@{self.sha[:7]}"
