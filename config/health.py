"""/-/health (the process answers), /-/ready (database and blob storage reachable) and /metrics."""

import hmac
import os

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse

from config import metrics
from registry.storage import get_store


def health(request):
    return JsonResponse({"status": "ok"})


def ready(request):
    """Answer 200 when the database and the blob store answer, 503 naming what doesn't."""
    problems = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        problems["database"] = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    try:
        get_store().check()
        if settings.BERTH_STORAGE == "filesystem" and not os.access(settings.BERTH_DATA_DIR, os.W_OK):
            raise OSError(f"{settings.BERTH_DATA_DIR} is not writable")
    except Exception as exc:  # any failure of the store means not ready
        problems["storage"] = str(exc) or type(exc).__name__
    if problems:
        response = JsonResponse({"status": "unavailable", "problems": problems}, status=503)
        response["Retry-After"] = str(settings.BERTH_RETRY_AFTER)
        return response
    return JsonResponse({"status": "ready"})


def metrics_view(request):
    token = settings.BERTH_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            response = HttpResponse("a bearer token is needed for /metrics\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body, content_type = metrics.render()
    return HttpResponse(body, content_type=content_type)
