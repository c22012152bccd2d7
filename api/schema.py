"""drf-spectacular hooks: describe /api/v3/ only, not the distribution API's views."""


def only_rest_api(endpoints):
    """Keep the endpoints under /api/v3/ (the preprocessing hook SPECTACULAR_SETTINGS names)."""
    return [e for e in endpoints if e[0].startswith("/api/v3/")]
