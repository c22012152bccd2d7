"""Container health check: the registry answers /v2/ (200, 401 when it wants a login, or with
BERTH_HTTPS the redirect to https:// that plain HTTP on the container's port gets)."""

import os
import sys
import urllib.error
import urllib.request


class KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hand back redirects as answers: gunicorn in the container speaks no TLS to follow one to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/v2/"
    try:
        urllib.request.build_opener(KeepRedirects).open(url, timeout=4)
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return 0
        return 0 if exc.code == 301 and exc.headers.get("Location", "").startswith("https://") else 1
    except OSError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
