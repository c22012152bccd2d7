"""Prometheus metrics, counted in every process (gunicorn workers, the worker) through prometheus-client's
multiprocess mode: each process writes its values to mmap'd files under BERTH_METRICS_DIR, /metrics adds them up.

Counting costs a dictionary lookup and an mmap write (microseconds), so the WSGI wrapper that counts
every request (MetricsApp, config/wsgi.py) keeps the manifest fast path fast.
"""

import os
import threading
import time
from pathlib import Path

from django.conf import settings

_made: dict[str, object] = {}
_making = threading.Lock()


def _metrics() -> dict[str, object]:
    """Return the metrics, made once per process: the first requests arrive on several threads at once,
    and prometheus-client refuses a second metric of the same name (a 500 for every thread but one)."""
    if not _made:
        with _making:
            if not _made:
                _made.update(_make())
    return _made


def _make() -> dict[str, object]:
    # prometheus-client picks its multiprocess value class when first imported: the folder must be set first.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = settings.BERTH_METRICS_DIR
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    from prometheus_client import Counter, Gauge, Histogram, values

    # Imported earlier (its parser, say), prometheus-client chose single-process values: choose again.
    values.ValueClass = values.get_value_class()
    # registry=None: /metrics collects every process's files (multiprocess mode), not the global registry,
    # so the metrics needn't be registered there (and can't clash with a second registration).

    unregistered = {"registry": None}
    return {
        "requests": Counter("berth_http_requests", "HTTP requests answered", ["route", "method", "status"],
                            **unregistered),
        "duration": Histogram("berth_http_request_duration_seconds", "Time to answer a request (until the "
                              "response headers)", ["route", "method"],
                              buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60),
                              **unregistered),
        "received": Counter("berth_http_received_bytes", "Request bytes received (by Content-Length)", ["route"],
                            **unregistered),
        "sent": Counter("berth_http_sent_bytes", "Response bytes sent (by Content-Length)", ["route"], **unregistered),
        "uploads": Gauge("berth_uploads_in_progress", "Blob upload requests being received",
                         multiprocess_mode="livesum", **unregistered),
        "webhooks": Counter("berth_webhook_deliveries", "Webhook delivery attempts by result", ["result"],
                            **unregistered),
        "outages": Counter("berth_backend_errors", "Database and storage errors answered 503", ["backend"],
                           **unregistered),
    }


_children: dict[tuple, object] = {}


def child(name: str, *labels: str):
    """Return metric name's child for labels, cached: prometheus-client's labels() costs more than the count."""
    key = (name, *labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = _metrics()[name].labels(*labels)
    return found


def webhook_delivery(*, result: str) -> None:
    _metrics()["webhooks"].labels(result).inc()


def backend_error(exc: BaseException) -> None:
    """Count an outage answered 503, as the database's when a database error is behind it, else storage's."""
    from registry.api.errors import DATABASE_ERRORS, causes

    database = any(isinstance(cause, DATABASE_ERRORS) for cause in causes(exc))
    _metrics()["outages"].labels("database" if database else "storage").inc()


def route_of(path: str) -> str:
    """Return a few-valued name for the kind of URL path is (a label must not grow with the packages)."""
    if path.startswith("/v2/"):
        if "/manifests/" in path:
            return "manifests"
        if "/blobs/uploads" in path:
            return "uploads"
        if "/blobs/" in path:
            return "blobs"
        if path.endswith("/tags/list"):
            return "tags"
        if "/referrers/" in path:
            return "referrers"
        return "v2"
    if path == "/v2":
        return "v2"
    if path.startswith("/api/v3/"):
        return "api"
    if path.startswith("/token"):
        return "token"
    if path.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
        return "static"
    if path in ("/metrics", "/-/health", "/-/ready"):
        return path.lstrip("/")
    return "pages"


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class MetricsApp:
    """WSGI middleware around the whole application (the fast path too) that counts each request."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        route = route_of(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in METHODS:
            method = "other"  # a client's made-up method must not grow the label set
        uploading = route == "uploads" and method in ("PATCH", "PUT", "POST")
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit():
            child("received", route).inc(int(length))

        def counting_start_response(status, headers, exc_info=None):
            child("requests", route, method, status[:3]).inc()
            child("duration", route, method).observe(time.perf_counter() - started)
            for name, value in headers:
                if name.lower() == "content-length" and value.isdigit():
                    child("sent", route).inc(int(value))
                    break
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        if not uploading:
            return self.application(environ, counting_start_response)
        # The request body is read while the application runs, before it returns its response.
        uploads = _metrics()["uploads"]
        uploads.inc()
        try:
            return self.application(environ, counting_start_response)
        finally:
            uploads.dec()


def render() -> tuple[bytes, str]:
    """Return every process's metrics, added up, in Prometheus' text format."""
    _metrics()
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST

