"""The bodies and headers of webhook requests: CloudEvents 1.0 structured JSON, or GitHub's registry_package."""

import hashlib
import hmac
import json

from events.models import Event, EventType, Webhook

GITHUB_ACTIONS = {
    # GitHub sends registry_package "published" for a new version and "updated" when its tags change;
    # Berth's other events keep the registry_package shape with an action of their own.
    EventType.PUBLISHED: "published",
    EventType.TAG_MOVED: "updated",
    EventType.VERSION_DELETED: "deleted",
    EventType.VERSION_RESTORED: "restored",
    EventType.PACKAGE_DELETED: "package_deleted",
    EventType.PACKAGE_RESTORED: "package_restored",
    EventType.VISIBILITY_CHANGED: "visibility_changed",
}


def signature(secret: str, body: bytes) -> str:
    """Return the X-Berth-Signature-256 value: sha256=<hex HMAC-SHA256 of body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def cloudevent(event: Event) -> dict:
    return {
        "specversion": "1.0",
        "id": str(event.id),
        "source": f"/{event.package_name}",
        "type": f"dev.berth.{event.type}",
        "time": event.created_at.isoformat().replace("+00:00", "Z"),
        "subject": event.subject,
        "datacontenttype": "application/json",
        "data": event.data,
    }


def github_registry_package(event: Event) -> dict:
    data = event.data
    package, version = data["package"], data.get("version") or {}
    tags = version.get("tags") or []
    image = package["name"].partition("/")[2]
    owner = {"login": package["namespace"], "type": "User"}
    registry_package = {
        "id": event.package_id,
        "name": image,
        "namespace": package["namespace"],
        "ecosystem": "CONTAINER",
        "package_type": "CONTAINER",
        "visibility": package["visibility"],
        "html_url": f"/{package['namespace']}/packages/container/{image}",
        "owner": owner,
        "package_version": {
            "name": version.get("digest", ""),
            "version": version.get("digest", ""),
            "package_url": f"{package['name']}@{version.get('digest', '')}" if version else package["name"],
            "container_metadata": {"tag": {"name": tags[0] if tags else "", "digest": version.get("digest", "")},
                                   "labels": {}, "manifest": {"media_type": version.get("media_type", "")}},
            "metadata": {"package_type": "container", "container": {"tags": tags}},
        } if version else None,
        "registry": {"type": "docker", "vendor": "Berth"},
    }
    payload = {"action": GITHUB_ACTIONS[EventType(event.type)], "registry_package": registry_package,
               "sender": {"login": data.get("pusher") or package["namespace"]}}
    if data.get("repository"):
        payload["repository"] = {"html_url": data["repository"]}
    return payload


def request_for(webhook: Webhook, event: Event, delivery_id: int) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a delivery of event to webhook."""
    if webhook.format == Webhook.Format.GITHUB:
        body = json.dumps(github_registry_package(event), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": "registry_package",
                   "X-GitHub-Delivery": str(event.id), "X-Hub-Signature-256": signature(webhook.secret, body)}
    else:
        body = json.dumps(cloudevent(event), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/cloudevents+json", "ce-id": str(event.id)}
    headers["X-Berth-Signature-256"] = signature(webhook.secret, body)
    headers["X-Berth-Delivery"] = str(delivery_id)
    headers["User-Agent"] = "Berth-Hookshot"
    return body, headers
