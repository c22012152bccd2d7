"""The request being answered, so services deep below a view can say who acted and from where."""

from contextvars import ContextVar

_request = ContextVar("berth_audit_request", default=None)


class RequestContextMiddleware:
    """Remember the request while it is answered (services record its user and address in the audit log)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def current_request():
    return _request.get()
