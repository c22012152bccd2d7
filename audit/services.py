"""Write audit entries, and forget them after BERTH_AUDIT_RETENTION_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit.context import current_request
from audit.models import Action, AuditEntry


def _address(request) -> str | None:
    if settings.BERTH_TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return request.META.get("REMOTE_ADDR") or None


def audit_record(*, action: Action, namespace: str, actor=None, actor_name: str = "", package: str = "",
                 token=None, data: dict | None = None, request=None) -> AuditEntry:
    """Record action on namespace's log; the actor and address default to the request being answered's."""
    request = request or current_request()
    if actor is None and request is not None:
        # The session's user, or the token's: DRF's authentication sets it on the Django request it wraps.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    return AuditEntry.objects.create(
        action=action, namespace=namespace, actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        package=package, token_hint=token.hint if token is not None else "", data=data or {},
        address=_address(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else "",
    )


def audit_purge(*, now=None) -> int:
    """Delete entries older than BERTH_AUDIT_RETENTION_DAYS; return how many went."""
    before = (now or timezone.now()) - timedelta(days=settings.BERTH_AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEntry.objects.filter(created_at__lt=before).delete()
    return deleted
