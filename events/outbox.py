"""Record events in the transaction of the change they describe, with a delivery job per webhook."""

from django.db import transaction
from django.db.models import Q

from audit.models import Action
from audit.services import audit_record
from events.models import Delivery, Event, EventType, Job, Webhook
from sources.models import Provenance, SourceRepository
from sources.provenance import published

DELIVER = "webhook.deliver"
SOURCE_LABEL = "org.opencontainers.image.source"
# Package events that the owner's audit log shows too (a tag moving is a push, not a decision).
AUDITED = {
    EventType.PUBLISHED: Action.PACKAGE_PUBLISH,
    EventType.VERSION_DELETED: Action.VERSION_DELETE,
    EventType.VERSION_RESTORED: Action.VERSION_RESTORE,
    EventType.PACKAGE_DELETED: Action.PACKAGE_DELETE,
    EventType.PACKAGE_RESTORED: Action.PACKAGE_RESTORE,
    EventType.VISIBILITY_CHANGED: Action.VISIBILITY_CHANGE,
}


def version_data(manifest, tags=()) -> dict:
    """Return what an event says about a version (a Manifest).

    repository is the package's connected repository, else the version's source label; provenance
    is where a CI job built it (sources.provenance), None for a person's push.
    """
    source = (manifest.annotations or {}).get(SOURCE_LABEL) or (manifest.labels or {}).get(SOURCE_LABEL, "")
    connected = SourceRepository.objects.filter(packages=manifest.package_id).values_list("url", flat=True).first()
    provenance = published(Provenance.objects.filter(manifest_id=manifest.pk).first())
    return {"digest": manifest.digest, "media_type": manifest.media_type, "tags": list(tags),
            "size": manifest.size, "repository": connected or source, "source": source,
            "connected_repository": connected or "",
            "provenance": provenance.as_dict() if provenance is not None else None}


def event_record(*, type: EventType, package, subject: str = "", version: dict | None = None,
                 actor: str = "", extra: dict | None = None) -> Event:
    """Write an event about package and queue its delivery to every webhook that wants it.

    Callers are inside the change's own transaction: the event commits, or rolls back, with it.
    """
    data = {
        "package": {"name": package.name, "namespace": package.namespace, "visibility": package.visibility},
        "version": version,
        "pusher": actor,
        "repository": (version or {}).get("repository", ""),
        **(extra or {}),
    }
    with transaction.atomic():
        event = Event.objects.create(type=type, namespace=package.namespace, package=package,
                                     package_name=package.name, subject=subject, data=data)
        hooks = Webhook.objects.filter(Q(package=package) | Q(package__isnull=True, namespace=package.namespace),
                                       active=True)
        for hook in hooks:
            if hook.wants(type):
                delivery = Delivery.objects.create(webhook=hook, event=event)
                Job.objects.create(kind=DELIVER, payload={"delivery": delivery.pk})
        if type in AUDITED:
            details = {key: data[key] for key in ("previous_visibility",) if key in data}
            if version:
                details.update(digest=version["digest"], tags=version["tags"])
            if type == EventType.VISIBILITY_CHANGED:
                details["visibility"] = package.visibility
            audit_record(action=AUDITED[type], namespace=package.namespace, package=package.name, data=details)
    return event
