"""Throttle failed sign-ins, in the database so every worker agrees.

Passwords (the sign-in page) and tokens (/token and /v2/ Basic) are counted apart. Password
failures count per (username, address) and per address. Token failures count per address only:
a valid token is always accepted, since its 238 random bits leave nothing to guess, so mistyped
passwords, or someone else's bad tokens, never lock anyone out of the registry.
"""

import ipaddress
import logging
import math
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from accounts.models import FailedLogin

logger = logging.getLogger(__name__)

# The untrusted X-Forwarded-For warning is logged at most this often per process.
PROXY_WARNING_INTERVAL = 3600
_proxy_warned_at: float | None = None
_proxy_warning_lock = threading.Lock()


class LoginThrottled(Exception):
    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__(f"too many failed sign-ins; try again in {retry_after} seconds")


def client_address(request) -> str | None:
    """Return the address a sign-in came from: the proxy's last X-Forwarded-For hop when trusted."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
    if settings.BERTH_TRUST_PROXY_HEADERS:
        if forwarded:
            try:
                return str(ipaddress.ip_address(forwarded))
            except ValueError:
                pass
    elif forwarded:
        warn_untrusted_proxy(request.META.get("REMOTE_ADDR"))
    return request.META.get("REMOTE_ADDR") or None


def warn_untrusted_proxy(address: str | None) -> None:
    """Log, once an interval, that a proxy's client addresses are ignored and every client shares its own."""
    global _proxy_warned_at
    now = time.monotonic()
    with _proxy_warning_lock:
        if _proxy_warned_at is not None and now - _proxy_warned_at < PROXY_WARNING_INTERVAL:
            return
        _proxy_warned_at = now
    logger.warning(
        "requests from %s carry X-Forwarded-For, but BERTH_TRUST_PROXY_HEADERS is false: failed sign-ins "
        "are counted per proxy address, shared by every client behind it. If a reverse proxy you run sets "
        "X-Forwarded-For, set BERTH_TRUST_PROXY_HEADERS=true.", address or "an unknown address")


def _window() -> timedelta:
    return timedelta(seconds=settings.BERTH_LOGIN_FAILURE_WINDOW)


def _raise_until(first, now) -> None:
    raise LoginThrottled(max(1, math.ceil((first + _window() - now).total_seconds())))


def check_password(*, username: str, address: str | None) -> None:
    """Raise LoginThrottled while username from address, or address alone, gave wrong passwords too often."""
    now = timezone.now()
    recent = FailedLogin.objects.filter(kind=FailedLogin.Kind.PASSWORD, address=address,
                                        created_at__gte=now - _window())
    username = username.lower()
    stats = recent.aggregate(
        by_address=Count("id"), first_by_address=Min("created_at"),
        by_user=Count("id", filter=Q(username=username)),
        first_by_user=Min("created_at", filter=Q(username=username)),
    )
    if stats["by_user"] >= settings.BERTH_LOGIN_FAILURES_PER_USER:
        _raise_until(stats["first_by_user"], now)
    if stats["by_address"] >= settings.BERTH_LOGIN_FAILURES_PER_ADDRESS:
        _raise_until(stats["first_by_address"], now)


def check_token(*, address: str | None) -> None:
    """Raise LoginThrottled while address sent invalid tokens too often; ask only after a token failed."""
    now = timezone.now()
    stats = FailedLogin.objects.filter(kind=FailedLogin.Kind.TOKEN, address=address,
                                       created_at__gte=now - _window()).aggregate(count=Count("id"),
                                                                                  first=Min("created_at"))
    if stats["count"] >= settings.BERTH_TOKEN_FAILURES_PER_ADDRESS:
        _raise_until(stats["first"], now)


def record_failure(*, kind: str, username: str, address: str | None) -> None:
    now = timezone.now()
    FailedLogin.objects.create(kind=kind, username=username.lower()[:150], address=address, created_at=now)
    # Forget what no longer counts, so the table stays small.
    FailedLogin.objects.filter(created_at__lt=now - _window()).delete()


def clear_password(*, username: str, address: str | None) -> None:
    """Forget username's wrong passwords from address after a successful sign-in."""
    FailedLogin.objects.filter(kind=FailedLogin.Kind.PASSWORD, username=username.lower(), address=address).delete()
