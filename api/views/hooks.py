"""Webhooks of a user or an organization, GitHub's /orgs/{org}/hooks routes (and /users/{username}/hooks beside them).

A hook on one package is an owner's hook with "package": "NAME" in its body; "format" picks CloudEvents
(the default) or GitHub's registry_package payload.
"""

from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response

from accounts.access import caller_for
from api.base import ApiView, documented
from api.errors import Forbidden, NotFound, RequiresAuthentication, Unprocessable
from audit.selectors import namespace_administered
from events.models import Delivery, Webhook
from events.services import WebhookInvalid, delivery_redeliver, webhook_create, webhook_delete, webhook_update
from events.targets import TargetRefused
from registry.models import Package


class HookConfigSerializer(serializers.Serializer):
    url = serializers.URLField()
    content_type = serializers.CharField(required=False)
    insecure_ssl = serializers.CharField(required=False)
    secret = serializers.CharField(required=False)


class HookBodySerializer(serializers.Serializer):
    config = HookConfigSerializer()
    events = serializers.ListField(child=serializers.CharField(), required=False)
    format = serializers.ChoiceField(choices=Webhook.Format.values, required=False)
    active = serializers.BooleanField(required=False)
    package = serializers.CharField(required=False, help_text="IMAGE_NAME: a hook on this package only")


class HookSerializer(HookBodySerializer):
    type = serializers.CharField()
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    url = serializers.URLField()
    deliveries_url = serializers.URLField()


class AttemptSerializer(serializers.Serializer):
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    response = serializers.CharField()
    duration_ms = serializers.IntegerField()
    at = serializers.DateTimeField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    guid = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    state = serializers.ChoiceField(choices=Delivery.State.values)
    status_code = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    event = serializers.CharField()
    attempts = AttemptSerializer(many=True)


class RedeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()


def hook_json(request, hook: Webhook, organization: bool) -> dict:
    base = request.build_absolute_uri(request.path.split("/hooks")[0] + f"/hooks/{hook.pk}")
    return {
        "type": "Organization" if organization else "User",
        "id": hook.pk,
        "name": "web",
        "active": hook.active,
        "events": hook.events or ["*"],
        "config": {"url": hook.url, "content_type": "json", "insecure_ssl": "0", "secret": "********"},
        "format": hook.format,
        "package": hook.package.image_name if hook.package_id else None,
        "created_at": hook.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": hook.updated_at.isoformat().replace("+00:00", "Z"),
        "url": base,
        "deliveries_url": f"{base}/deliveries",
    }


def delivery_json(delivery: Delivery) -> dict:
    attempts = list(delivery.attempts_made.all())
    last = attempts[0] if attempts else None
    return {
        "id": delivery.pk,
        "guid": str(delivery.event_id),
        "delivered_at": last.created_at.isoformat().replace("+00:00", "Z") if last else None,
        "state": delivery.state,
        "status_code": last.status_code if last else None,
        "status": (last.error or str(last.status_code)) if last else "pending",
        "event": delivery.event.type,
        "attempts": [{"status_code": a.status_code, "error": a.error, "response": a.response_excerpt,
                      "duration_ms": a.duration_ms, "at": a.created_at.isoformat().replace("+00:00", "Z")}
                     for a in attempts],
    }


class HookBase(ApiView):
    def namespace(self, *, write: bool) -> tuple[str, bool]:
        """Return the route's owner and whether it is an organization, or refuse a caller who doesn't run it."""
        organization = self.kwargs["owner_kind"] == "orgs"
        namespace = self.kwargs.get("org") or self.kwargs.get("username")
        caller = caller_for(self.request)
        if not caller.user.is_authenticated:
            raise RequiresAuthentication()
        if not namespace_administered(user=caller.user, namespace=namespace, organization=organization):
            raise NotFound()
        if write and "push" not in caller.scopes:
            raise Forbidden("changing webhooks needs a token with write:packages")
        return namespace, organization

    def hook(self, namespace: str) -> Webhook:
        hook = Webhook.objects.select_related("package").filter(namespace=namespace, pk=self.kwargs["hook_id"]).first()
        if hook is None:
            raise NotFound()
        return hook

    def body(self) -> dict:
        data = self.request.data if isinstance(self.request.data, dict) else {}
        config = data.get("config") or {}
        return {"url": config.get("url"), "secret": config.get("secret"), "events": data.get("events"),
                "format": data.get("format"), "active": data.get("active"), "package": data.get("package")}


def _events(events):
    return None if events is None else [e for e in events if e != "*"]


class HookListView(HookBase):
    operation_ids = {"get": "list-webhooks-for-{short}", "post": "create-webhook-for-{short}"}

    @documented(responses=HookSerializer(many=True))
    def get(self, request, **kwargs):
        """List the owner's webhooks."""
        namespace, organization = self.namespace(write=False)
        hooks = Webhook.objects.filter(namespace=namespace).select_related("package")
        return self.page_response(hooks, lambda page: [hook_json(request, h, organization) for h in page])

    @documented(request=HookBodySerializer, responses={201: HookSerializer})
    def post(self, request, **kwargs):
        """Create a webhook on the owner, or on one of its packages."""
        namespace, organization = self.namespace(write=True)
        body = self.body()
        if not body["url"]:
            raise Unprocessable("config.url is required")
        package = None
        if body["package"]:
            package = Package.objects.filter(name=f"{namespace}/{body['package']}").first()
            if package is None:
                raise Unprocessable(f"{namespace} has no package {body['package']!r}")
        try:
            hook = webhook_create(namespace=namespace, package=package, url=body["url"], secret=body["secret"] or "",
                                  events=_events(body["events"]) or [], format=body["format"] or "cloudevents")
        except (WebhookInvalid, TargetRefused) as exc:
            raise Unprocessable(str(exc))
        return Response(hook_json(request, hook, organization), status=201)


class HookView(HookBase):
    operation_ids = {"get": "get-webhook-for-{short}", "patch": "update-webhook-for-{short}",
                     "delete": "delete-webhook-for-{short}"}

    @documented(responses=HookSerializer)
    def get(self, request, **kwargs):
        """Get a webhook."""
        namespace, organization = self.namespace(write=False)
        return Response(hook_json(request, self.hook(namespace), organization))

    @documented(request=HookBodySerializer, responses=HookSerializer)
    def patch(self, request, **kwargs):
        """Change a webhook's URL, secret, events, format or whether it is active."""
        namespace, organization = self.namespace(write=True)
        body = self.body()
        try:
            hook = webhook_update(webhook=self.hook(namespace), url=body["url"], secret=body["secret"],
                                  events=_events(body["events"]), format=body["format"], active=body["active"])
        except (WebhookInvalid, TargetRefused) as exc:
            raise Unprocessable(str(exc))
        return Response(hook_json(request, hook, organization))

    @documented(request=None, responses={204: None})
    def delete(self, request, **kwargs):
        """Delete a webhook."""
        namespace, _ = self.namespace(write=True)
        webhook_delete(webhook=self.hook(namespace))
        return Response(status=204)


class DeliveryListView(HookBase):
    operation_ids = {"get": "list-webhook-deliveries-for-{short}"}

    @documented(responses=DeliverySerializer(many=True))
    def get(self, request, **kwargs):
        """List a webhook's deliveries, newest first, each with its attempts."""
        namespace, _ = self.namespace(write=False)
        deliveries = (self.hook(namespace).deliveries.select_related("event").prefetch_related("attempts_made")
                      .order_by("-created_at", "-id"))
        return self.page_response(deliveries, lambda page: [delivery_json(d) for d in page])


class RedeliverView(HookBase):
    operation_ids = {"post": "redeliver-webhook-delivery-for-{short}"}

    @documented(request=None, responses={202: RedeliverySerializer})
    def post(self, request, delivery_id, **kwargs):
        """Send a delivery's event again (GitHub's redeliver route)."""
        namespace, _ = self.namespace(write=True)
        delivery = self.hook(namespace).deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFound()
        again = delivery_redeliver(delivery=delivery)
        return Response({"id": again.pk}, status=202)


def hook_routes() -> list:
    routes = []
    for kind, prefix in (("users", "users/<str:username>/"), ("orgs", "orgs/<str:org>/")):
        extra = {"owner_kind": kind}
        hook = f"{prefix}hooks/<int:hook_id>"
        routes += [
            path(f"{prefix}hooks", HookListView.as_view(), extra, name=f"{kind}-hooks"),
            path(hook, HookView.as_view(), extra, name=f"{kind}-hook"),
            path(f"{hook}/deliveries", DeliveryListView.as_view(), extra, name=f"{kind}-hook-deliveries"),
            path(f"{hook}/deliveries/<int:delivery_id>/attempts", RedeliverView.as_view(), extra,
                 name=f"{kind}-hook-redeliver"),
        ]
    return routes
