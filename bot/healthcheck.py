"""The container's HEALTHCHECK: exit 0 if /healthz on this host answers 200, else 1."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from bot.config import health_port_from_env


def main() -> int:
    """Probe http://127.0.0.1:$SOCIAL_REVIEW_PORT/healthz once."""
    url = f"http://127.0.0.1:{health_port_from_env()}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as err:
        print(f"unhealthy: {url}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
