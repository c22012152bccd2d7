"""Webhooks, the outbox of events they deliver, and the database queue the worker runs."""

import uuid

from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    # CloudEvents types are these values after "dev.berth." (dev.berth.package.published).
    PUBLISHED = "package.published", "A version was published"
    TAG_MOVED = "package.tag_moved", "A tag moved to another version"
    VERSION_DELETED = "package.version_deleted", "A version was deleted"
    VERSION_RESTORED = "package.version_restored", "A version was restored"
    PACKAGE_DELETED = "package.deleted", "A package was deleted"
    PACKAGE_RESTORED = "package.restored", "A package was restored"
    VISIBILITY_CHANGED = "package.visibility_changed", "A package's visibility changed"


class Webhook(models.Model):
    """A URL told about events of every package of an owner, or of one package."""

    class Format(models.TextChoices):
        CLOUDEVENTS = "cloudevents", "CloudEvents 1.0 (structured JSON)"
        GITHUB = "github", "GitHub registry_package"

    namespace = models.CharField(max_length=64, db_index=True)
    package = models.ForeignKey("registry.Package", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="webhooks")
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=255)
    # Event types (EventType values) it wants; empty means every one.
    events = models.JSONField(default=list, blank=True)
    format = models.CharField(max_length=16, choices=Format.choices, default=Format.CLOUDEVENTS)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["namespace", "id"]

    def __str__(self):
        target = self.package.name if self.package_id else self.namespace
        return f"webhook {self.pk} of {target} to {self.url}"

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class Event(models.Model):
    """Something that happened to a package, written in the transaction of the change (the outbox)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=64, choices=EventType.choices)
    namespace = models.CharField(max_length=64, db_index=True)
    # Kept as a name too: a purged package's events still say what they were about.
    package = models.ForeignKey("registry.Package", null=True, on_delete=models.SET_NULL, related_name="+")
    package_name = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.type} {self.package_name} {self.subject}".strip()


class Delivery(models.Model):
    """One event on its way to one webhook; each try is a DeliveryAttempt."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"delivery {self.pk} of {self.event} ({self.state})"


class DeliveryAttempt(models.Model):
    """One HTTP request to a webhook: what came back, or why nothing did."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts_made")
    status_code = models.IntegerField(null=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Job(models.Model):
    """Background work for `manage.py worker`: a handler name and its arguments, due at run_at.

    Workers claim due jobs with SELECT ... FOR UPDATE SKIP LOCKED and hold the row lock while the
    job runs, so several workers never run one job twice, and a worker that dies mid-job leaves
    the job due for the next one (the lock goes with its connection). Recurring jobs are leased
    instead (run_at moved on before they run, outside that transaction; see events.queue).
    """

    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    run_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.IntegerField(default=0)
    # Recurring jobs (the download-count fold) have a key, so there is one of each, and an interval.
    key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    interval = models.IntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_at", "id"]

    def __str__(self):
        return f"{self.kind} job {self.pk} due {self.run_at:%Y-%m-%d %H:%M:%S}"
