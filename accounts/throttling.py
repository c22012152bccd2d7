"""Throttle failed sign-ins per username and address, in the database so every worker agrees."""

import ipaddress
import math
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.models import FailedLogin


class LoginThrottled(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")


def client_address(request) -> str | None:
    """Return the address a sign-in came from: the proxy's last X-Forwarded-For hop when trusted."""
    if settings.BERTH_TRUST_PROXY_HEADERS:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            try:
                return str(ipaddress.ip_address(forwarded))
            except ValueError:
                pass
    return request.META.get("REMOTE_ADDR") or None


def _window() -> timedelta:
    return timedelta(seconds=settings.BERTH_LOGIN_FAILURE_WINDOW)


def check(*, username: str, address: str | None) -> None:
    """Raise LoginThrottled while username from address, or address alone, failed too often lately."""
    now = timezone.now()
    since = now - _window()
    username = username.lower()
    recent = FailedLogin.objects.filter(address=address, created_at__gte=since)
    stats = recent.aggregate(
        by_address=Count("id"), first_by_address=Min("created_at"),
        by_user=Count("id", filter=Q(username=username)),
        first_by_user=Min("created_at", filter=Q(username=username)),
    )
    first = None
    if stats["by_user"] >= settings.BERTH_LOGIN_FAILURES_PER_USER:
        first = stats["first_by_user"]
    elif stats["by_address"] >= settings.BERTH_LOGIN_FAILURES_PER_ADDRESS:
        first = stats["first_by_address"]
    if first is not None:
        raise LoginThrottled(max(1, math.ceil((first + _window() - now).total_seconds())))


def record_failure(*, username: str, address: str | None) -> None:
    now = timezone.now()
    FailedLogin.objects.create(username=username.lower()[:150], address=address, created_at=now)
    # Forget what no longer counts, so the table stays small.
    FailedLogin.objects.filter(created_at__lt=now - _window()).delete()


def clear(*, username: str, address: str | None) -> None:
    """Forget username's failures from address after a successful sign-in."""
    FailedLogin.objects.filter(username=username.lower(), address=address).delete()
