"""Registry data: packages, blobs, manifests, tags and upload sessions."""

import uuid

from django.db import models
from django.urls import reverse
from django.utils import timezone


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private"
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public"


class Blob(models.Model):
    """A content-addressed blob, stored once however many packages link it."""

    digest = models.CharField(max_length=200, unique=True)
    size = models.BigIntegerField()
    # Where the blob store keeps the bytes when that doesn't follow from the digest (S3 objects
    # are named at the start of an upload, before the digest is known); "" means it does.
    storage_key = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.digest


class LivePackageManager(models.Manager):
    """Packages not deleted from their page: everything but pushes, restores and gc works with these,
    so a deleted package answers like a missing one without every query having to say so."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class Package(models.Model):
    """A repository: OWNER/IMAGE_NAME, where OWNER is the first path component."""

    name = models.CharField(max_length=255, unique=True)
    namespace = models.CharField(max_length=255, db_index=True)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)
    created_at = models.DateTimeField(auto_now_add=True)
    # Manifest GETs of its versions (platform children of an index not counted twice).
    downloads = models.BigIntegerField(default=0)
    # Deleted from the package pages: gone from the API and listings, restorable until gc purges it.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    blobs = models.ManyToManyField(Blob, through="PackageBlob", related_name="packages")
    # The source repository the package is connected to (sources app), and whether the repository's
    # collaborators replace the package's own grants.
    source_repository = models.ForeignKey("sources.SourceRepository", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="packages")
    inherit_access = models.BooleanField(default=False)

    objects = LivePackageManager()
    all_objects = models.Manager()

    class Meta:
        ordering = ["name"]
        # Related lookups (manifest.package) and refresh_from_db() must see deleted packages too.
        base_manager_name = "all_objects"

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("packages_ui:package", kwargs={"owner": self.namespace, "name": self.image_name})

    @property
    def image_name(self) -> str:
        """Return IMAGE_NAME of OWNER/IMAGE_NAME, as the package pages' URLs name it."""
        return self.name.partition("/")[2]


class PackageBlob(models.Model):
    """A blob made visible in one package (pushed there or mounted)."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the link was made or a client last learned from a HEAD that the blob is here (and so
    # may skip uploading it): gc keeps blobs seen within its grace period.
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["package", "blob"], name="unique_package_blob"),
        ]


class Manifest(models.Model):
    """One version of a package: an image manifest, an index or an artifact, byte for byte."""

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="manifests")
    digest = models.CharField(max_length=200)
    media_type = models.CharField(max_length=255)
    artifact_type = models.CharField(max_length=255, blank=True)
    raw = models.BinaryField()
    size = models.BigIntegerField()
    pushed_at = models.DateTimeField(auto_now_add=True)
    config_digest = models.CharField(max_length=200, blank=True)
    subject_digest = models.CharField(max_length=200, blank=True, db_index=True)
    annotations = models.JSONField(default=dict, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    platforms = models.JSONField(default=list, blank=True)
    layers_size = models.BigIntegerField(default=0)
    downloads = models.BigIntegerField(default=0)
    # A version deleted from the package pages: invisible to the API, restorable until gc purges it,
    # with the tags it had, given back on restore unless they have moved on.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_tags = models.JSONField(default=list, blank=True)
    # Who deleted it, when not a person on the pages ("retention policy"); "" for a person.
    deleted_by = models.CharField(max_length=64, blank=True, default="")
    # The last pull folded in from PullCount (registry.services.downloads); retention keeps recently pulled versions.
    pulled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-pushed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["package", "digest"], name="unique_package_manifest"),
        ]

    def __str__(self):
        return f"{self.package.name}@{self.digest}"


class PullCount(models.Model):
    """Manifest GETs not yet added to Manifest.downloads and Package.downloads, one row per shard.

    Every pull adds to the row of its manifest and its worker thread's shard, so concurrent pulls
    of one popular image don't queue on one row's lock; registry.services.downloads folds the rows
    into the two counters whenever a page shows them (and on gc).
    """

    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="+")
    # Kept (as null) when the manifest is deleted, so its pulls still reach the package's total.
    manifest = models.ForeignKey(Manifest, on_delete=models.SET_NULL, null=True, related_name="+")
    shard = models.SmallIntegerField()
    pulls = models.BigIntegerField(default=0)
    # Pulls that count for the package too: not of a platform manifest its index names.
    package_pulls = models.BigIntegerField(default=0)
    # The latest pull counted into this row (set by the upsert itself).
    pulled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["manifest", "shard"], name="unique_pull_count_shard"),
        ]

    def __str__(self):
        return f"{self.pulls} pulls of manifest {self.manifest_id} (shard {self.shard})"


class ManifestReference(models.Model):
    """A blob or child manifest that a manifest names, kept for garbage collection and pages."""

    class Kind(models.TextChoices):
        BLOB = "blob", "Blob"
        MANIFEST = "manifest", "Manifest"

    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="references")
    digest = models.CharField(max_length=200, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["manifest", "digest", "kind"], name="unique_manifest_reference"),
        ]


class Tag(models.Model):
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=128)
    manifest = models.ForeignKey(Manifest, on_delete=models.CASCADE, related_name="tags")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["package", "name"], name="unique_package_tag"),
        ]

    def __str__(self):
        return f"{self.package.name}:{self.name}"


class Upload(models.Model):
    """A blob upload session; its state lives here so any worker can continue it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(Package, on_delete=models.CASCADE, related_name="uploads")
    offset = models.BigIntegerField(default=0)
    storage_state = models.JSONField(default=dict, blank=True)
    # The running SHA-256's midstate after offset bytes (registry.oci.midstate), saved in the same
    # UPDATE as the offset: opaque bytes with a header naming their format, so a BinaryField.
    hash_state = models.BinaryField(default=b"", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"upload {self.id} to {self.package.name}"
