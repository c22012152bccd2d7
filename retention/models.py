"""Retention policies (what to delete and when), the record of each run, and storage quotas."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class RetentionPolicy(models.Model):
    """Rules for an owner's packages (package null) or for one package, which override its owner's.

    A rule left null does not apply. Platform manifests of an index and referrers are never judged
    on their own: they follow the version they belong to.
    """

    owner = models.CharField(max_length=64, db_index=True)
    package = models.OneToOneField("registry.Package", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="retention_policy")
    # Off keeps the row (and an override of the owner's policy): a package with an off policy keeps everything.
    enabled = models.BooleanField(default=True)
    keep_last = models.PositiveIntegerField(null=True, blank=True)
    keep_tags = models.CharField(max_length=255, blank=True, default="")
    delete_untagged_after_days = models.PositiveIntegerField(null=True, blank=True)
    delete_tagged_after_days = models.PositiveIntegerField(null=True, blank=True)
    keep_pulled_within_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner"], condition=Q(package__isnull=True),
                                    name="unique_owner_retention_policy"),
        ]

    def __str__(self):
        return f"retention for {self.package.name if self.package_id else self.owner}"


class RetentionRun(models.Model):
    """One application of the policies (or a dry run), with what it deleted or would have."""

    owner = models.CharField(max_length=64, db_index=True)
    # The package the run was limited to, by name ("" for all the owner's packages).
    package_name = models.CharField(max_length=255, blank=True, default="")
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    deleted_count = models.PositiveIntegerField(default=0)
    freed_bytes = models.BigIntegerField(default=0)
    # name@digest (and tags) of each version deleted, platforms and referrers included.
    deleted = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"retention run for {self.owner} at {self.started_at:%Y-%m-%d %H:%M}"


class Quota(models.Model):
    """The most bytes an owner's packages may hold: their live versions' unique blobs and manifests."""

    owner = models.CharField(max_length=64, unique=True)
    limit_bytes = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.owner}: {self.limit_bytes} bytes"
