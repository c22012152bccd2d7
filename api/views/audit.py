"""An owner's audit log, shaped like GitHub's entries: GET /users/{username}/audit-log and /orgs/{org}/audit-log."""

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from api import permissions
from api.base import ApiView, documented
from api.errors import NotFound, RequiresAuthentication, Unprocessable
from audit.selectors import audit_entries, audit_log_readable

PARAMETERS = [
    OpenApiParameter("action", str, description="An action (package.publish), or a prefix and * (package.*)"),
    OpenApiParameter("after", str, description="ISO 8601 time: entries at or after it"),
    OpenApiParameter("before", str, description="ISO 8601 time: entries before it"),
    OpenApiParameter("page", int), OpenApiParameter("per_page", int, description="At most 100; 30 by default"),
]


class AuditEntrySerializer(serializers.Serializer):
    """GitHub's audit log entry: times in milliseconds since the epoch, the owner as user or org."""

    def to_representation(self, entry):
        milliseconds = int(entry.created_at.timestamp() * 1000)
        owner_key = "org" if self.context["organization"] else "user"
        row = {
            "@timestamp": milliseconds,
            "_document_id": str(entry.pk),
            "action": entry.action,
            "actor": entry.actor_name or None,
            "actor_ip": entry.address,
            "user_agent": entry.user_agent or None,
            "created_at": milliseconds,
            owner_key: entry.namespace,
        }
        if entry.package:
            row["package"] = entry.package
        if entry.token_hint:
            row["token_hint"] = entry.token_hint
        return {**entry.data, **row}


class AuditLogView(ApiView):
    operation_ids = {"get": "get-audit-log-for-{short}"}

    def _time(self, name: str):
        value = self.request.query_params.get(name)
        if not value:
            return None
        parsed = parse_datetime(value)
        if parsed is None:
            raise Unprocessable(f"{name}={value!r} is not an ISO 8601 time")
        return parsed

    @documented(parameters=PARAMETERS, responses=AuditEntrySerializer(many=True))
    def get(self, request, **kwargs):
        """List the audit log of the caller, or of an organization the caller owns."""
        organization = self.kwargs["owner_kind"] == "orgs"
        namespace = self.kwargs.get("org") or self.kwargs.get("username")
        user = permissions.caller_user(request)
        if user is None or not user.is_authenticated:
            raise RequiresAuthentication()
        if not audit_log_readable(user=user, namespace=namespace, organization=organization):
            raise NotFound()
        entries = audit_entries(namespace=namespace, action=request.query_params.get("action"),
                                after=self._time("after"), before=self._time("before"))

        def serialize(page):
            return AuditEntrySerializer(page, many=True, context={"organization": organization}).data

        return self.page_response(entries, serialize)


def audit_routes() -> list:
    from django.urls import path

    return [
        path("users/<str:username>/audit-log", AuditLogView.as_view(), {"owner_kind": "users"}, name="users-audit-log"),
        path("orgs/<str:org>/audit-log", AuditLogView.as_view(), {"owner_kind": "orgs"}, name="orgs-audit-log"),
    ]


