"""Write audit entries, and forget them after BERTH_AUDIT_RETENTION_DAYS."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Namespace
from accounts.throttling import client_address
from audit.context import current_request
from audit.models import Action, AuditEntry


def audit_record(*, action: Action, namespace: str, actor=None, actor_name: str = "", package: str = "",
                 token=None, data: dict | None = None, request=None, anonymous: bool = False) -> AuditEntry:
    """Record action on namespace's log; the actor and address default to the request being answered's.

    anonymous: the action had no signed-in actor (a failed sign-in), whoever the session's user is.
    """
    request = request or current_request()
    if actor is None and request is not None and not anonymous:
        # The session's user, or the token's: DRF's authentication sets it on the Django request it wraps.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    return AuditEntry.objects.create(
        action=action, namespace=namespace, actor=actor,
        actor_name=actor_name or (actor.get_username() if actor is not None else ""),
        package=package, token_hint=token.hint if token is not None else "", data=data or {},
        # The address the sign-in throttle counts: the proxy's last X-Forwarded-For hop, which a client can't forge.
        address=client_address(request) if request is not None else None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255] if request is not None else "",
    )


def audit_failed_login(*, username: str, via: str, request=None) -> AuditEntry:
    """Record a failed sign-in (via "password" or "token") on the log of the user username names.

    A name that is no user's is recorded under no owner: its log must not be handed to whoever
    later signs up with that name, nor to the organization that holds it.
    """
    username = str(username)[:150]
    namespace = (Namespace.objects.filter(name__iexact=username, user__isnull=False)
                 .values_list("name", flat=True).first() if username else None)
    return audit_record(action=Action.LOGIN_FAILED, namespace=namespace or "", actor_name=username,
                        data={"via": via}, request=request, anonymous=True)


def audit_purge(*, now=None) -> int:
    """Delete entries older than BERTH_AUDIT_RETENTION_DAYS; return how many went."""
    before = (now or timezone.now()) - timedelta(days=settings.BERTH_AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEntry.objects.filter(created_at__lt=before).delete()
    return deleted
