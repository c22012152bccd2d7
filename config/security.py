"""The Content-Security-Policy of Berth's pages."""

from django.conf import settings

# Pages load only Berth's own CSS and JS (templates/ has no inline script, style or handler), so
# the policy needs no 'unsafe-inline': an injected <script> or style attribute does nothing.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    """Give HTML answers the Content-Security-Policy header.

    Only HTML: /v2/ JSON and blob downloads are no documents, and a blob is never sniffed into one
    (SecurityMiddleware sends X-Content-Type-Options: nosniff). Under DEBUG the policy only
    reports: Django's technical error pages are built of inline styles and scripts.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            header = "Content-Security-Policy-Report-Only" if settings.DEBUG else "Content-Security-Policy"
            response.headers.setdefault(header, CONTENT_SECURITY_POLICY)
        return response
