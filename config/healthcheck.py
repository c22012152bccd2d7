"""Container health check: /-/ready answers 200 (the database and blob storage are reachable).

A redirect to https:// (BERTH_HTTPS in front of a server that exempts no path) still counts as
healthy: gunicorn in the container speaks no TLS to follow it.
"""

import os
import sys
import urllib.error
import urllib.request


class KeepRedirects(urllib.request.HTTPRedirectHandler):
    """Hand back redirects as answers: gunicorn in the container speaks no TLS to follow one to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/-/ready"
    try:
        urllib.request.build_opener(KeepRedirects).open(url, timeout=4)
    except urllib.error.HTTPError as exc:
        return 0 if exc.code == 301 and exc.headers.get("Location", "").startswith("https://") else 1
    except OSError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
