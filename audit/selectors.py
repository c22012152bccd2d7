"""Reads of the audit log: whose log a person may read, and its entries filtered."""

from datetime import datetime

from accounts.models import Membership
from audit.models import AuditEntry


def namespace_administered(*, user, namespace: str, organization: bool) -> bool:
    """Return whether user runs namespace: it is theirs, or an organization they own.

    They read its audit log and manage its webhooks.
    """
    if user is None or not user.is_authenticated:
        return False
    if not organization:
        return user.get_username() == namespace
    return Membership.objects.filter(organization__name=namespace, user=user, role=Membership.Role.OWNER).exists()


def audit_entries(*, namespace: str, action: str | None = None, after: datetime | None = None,
                  before: datetime | None = None):
    """Return namespace's entries, newest first; action may end in * (package.* for every package action)."""
    entries = AuditEntry.objects.filter(namespace=namespace)
    if action:
        entries = (entries.filter(action__startswith=action[:-1]) if action.endswith("*")
                   else entries.filter(action=action))
    if after is not None:
        entries = entries.filter(created_at__gte=after)
    if before is not None:
        entries = entries.filter(created_at__lt=before)
    return entries.order_by("-created_at", "-id")


audit_log_readable = namespace_administered
