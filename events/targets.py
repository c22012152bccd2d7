"""Which URLs a webhook may call: no loopback, link-local or private addresses unless allowed."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(Exception):
    """A webhook URL Berth won't call, with the reason."""


def check_target(url: str) -> None:
    """Raise TargetRefused unless url is http(s) to a public address (or BERTH_WEBHOOK_ALLOW_PRIVATE)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(f"{url!r} is not an http:// or https:// URL")
    if settings.BERTH_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"{parts.hostname} does not resolve: {exc}")
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise TargetRefused(f"{parts.hostname} is {address}, a loopback, link-local or private address; "
                                "set BERTH_WEBHOOK_ALLOW_PRIVATE=true to allow it")
