"""Database and blob storage outages answered 503 with Retry-After, wherever in Django they surface.

registry.api.errors decides what an outage is and answers the DRF views under /v2/ itself. The
rest reaches Django: a view's exception reaches OutageMiddleware.process_exception, and one
raised in a middleware (sessions and authentication read the database) reaches handler500,
server_error below, because Django turns it into a response inside the middleware that raised it.
Registry clients (/v2/, /token) get the spec's JSON error; people get templates/503.html.
"""

import sys

from django.http import HttpResponse
from django.template import loader
from django.views import defaults

from registry.api.errors import error_response, log_outage, unavailable
from registry.oci.errors import Unavailable


class OutageMiddleware:
    """Answer a view's database or blob storage outage with a 503 instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        outage = unavailable(exception)
        if outage is None:
            return None
        return outage_response(request, outage, exception)


def server_error(request):
    """handler500: a 503 for an outage met outside a view, Django's 500 page for anything else."""
    exception = sys.exc_info()[1]
    outage = unavailable(exception) if exception is not None else None
    if outage is None:
        return defaults.server_error(request)
    return outage_response(request, outage, exception)


def outage_response(request, outage: Unavailable, exception: BaseException) -> HttpResponse:
    """Log the outage; return the spec's JSON error to registry clients, the plain 503 page to everyone else."""
    log_outage(request, exception)
    path = request.path_info
    if path == "/token" and request.method == "POST":
        # The OAuth2 form's clients read RFC 6749's fields beside the spec's; this is its code for it.
        response = error_response(outage, error="temporarily_unavailable", error_description=outage.message)
    elif path in ("/v2", "/token") or path.startswith("/v2/"):
        response = error_response(outage)
    else:
        # Rendered without the request: its context processors would read the user from the database.
        response = HttpResponse(loader.render_to_string("503.html"), status=503)
        for header, value in outage.headers.items():
            response[header] = value
    # Django logs every 5xx again as an error (with the traceback, from handler500); log_outage said it.
    response._has_been_logged = True
    return response
