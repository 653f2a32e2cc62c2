"""`python -m fer_runtime.serve.healthcheck [PATH]`: exit 0 when the fer-serve on this machine answers
200 on PATH (default /readyz), else 1 with the reason on one line. For a container's HEALTHCHECK, where
there is no curl; it reads the port from FER_SERVE_PORT as fer-serve does."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from fer_runtime.serve.settings import ENVIRONMENT_PREFIX, PORT

TIMEOUT_S = 3.0


def check(path: str = "/readyz", port: int | None = None) -> str | None:
    """None when http://127.0.0.1:PORT/PATH answers 200, else why not."""
    port = port or int(os.environ.get(f"{ENVIRONMENT_PREFIX}_PORT", PORT))
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            return None if answer.status == 200 else f"{url} answered {answer.status}"
    except urllib.error.HTTPError as error:
        return f"{url} answered {error.code}"
    except OSError as error:
        return f"{url}: {error}"


def main(argv: list[str]) -> int:
    problem = check(argv[0]) if argv else check()
    if problem:
        print(problem, file=sys.stderr)
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
