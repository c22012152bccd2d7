"""Container health check: the registry answers /v2/ (200, or 401 when it wants a login)."""

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/v2/"
    try:
        urllib.request.urlopen(url, timeout=4)
    except urllib.error.HTTPError as exc:
        return 0 if exc.code == 401 else 1
    except OSError:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
