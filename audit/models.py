"""The audit log: who did what to which package or token, when, and from where."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    LOGIN = "user.login", "Signed in"
    LOGIN_FAILED = "user.failed_login", "Failed to sign in"
    TOKEN_CREATE = "personal_access_token.create", "Created a token"
    TOKEN_REVOKE = "personal_access_token.revoke", "Revoked a token"
    PACKAGE_CREATE = "package.create", "Created a package"
    PACKAGE_PUBLISH = "package.publish", "Published a version"
    PACKAGE_DELETE = "package.delete", "Deleted a package"
    PACKAGE_RESTORE = "package.restore", "Restored a package"
    VERSION_DELETE = "package_version.delete", "Deleted a version"
    VERSION_RESTORE = "package_version.restore", "Restored a version"
    VISIBILITY_CHANGE = "package.visibility_change", "Changed a package's visibility"
    # Also a repository's grants (data names the repository) and a repository's CI access to a package.
    ACCESS_GRANT = "package.access_grant", "Granted access to a package or repository"
    ACCESS_REVOKE = "package.access_revoke", "Revoked access to a package or repository"
    WEBHOOK_CREATE = "hook.create", "Created a webhook"
    WEBHOOK_UPDATE = "hook.config_changed", "Changed a webhook"
    WEBHOOK_DELETE = "hook.destroy", "Deleted a webhook"
    RETENTION_RUN = "package.retention_run", "Ran a retention policy"
    REPOSITORY_ADD = "package.repository_add", "Added a source repository"
    REPOSITORY_REMOVE = "package.repository_remove", "Removed a source repository"
    REPOSITORY_CONNECT = "package.repository_connect", "Connected a package to a repository"
    REPOSITORY_DISCONNECT = "package.repository_disconnect", "Disconnected a package from its repository"
    INHERIT_ACCESS_CHANGE = "package.inherit_access_change", "Changed whether a package inherits access"
    REPOSITORY_PUSH_REFS_CHANGE = "package.repository_push_refs_change", "Changed which refs of a repository may push"


class AuditEntry(models.Model):
    action = models.CharField(max_length=64, choices=Action.choices, db_index=True)
    # The owner whose log shows the entry: the user signing in or holding the token, or the package's owner.
    namespace = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    # Kept as text too: the entry outlives a deleted account, and a failed sign-in has no user.
    actor_name = models.CharField(max_length=150, blank=True)
    package = models.CharField(max_length=255, blank=True)
    token_hint = models.CharField(max_length=24, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["namespace", "-created_at"], name="audit_namespace_time")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action} {self.package}".strip()
