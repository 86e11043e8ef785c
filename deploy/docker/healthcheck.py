#!/usr/bin/env python3
"""Container HEALTHCHECK for the one Kommunepuls image, whichever service it runs.

Finds the service from the running `kommunepuls serve <service>` process (or takes it as
the first argument) and asks that service's health endpoint on 127.0.0.1. Exit 0 when
healthy, 1 when not. A container that runs no service (`kommunepuls migrate`, a shell)
counts as healthy: there is nothing long-running to check. Standard library only.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path

# service -> (port variable, default port, path). HTTP services report readiness (the
# database is reachable); the faust workers report having joined their consumer group.
ENDPOINTS: dict[str, tuple[str, int, str]] = {
    "ingest": ("KOMMUNEPULS_INGEST_PORT", 8001, "/readyz"),
    "gateway": ("KOMMUNEPULS_GATEWAY_PORT", 8000, "/readyz"),
    "cohorts": ("KOMMUNEPULS_COHORTS_WEB_PORT", 6066, "/healthz"),
    "metrics": ("KOMMUNEPULS_METRICS_WEB_PORT", 6067, "/healthz"),
}


def service_from_argv(argv: list[str]) -> str | None:
    """The service named after `serve` in a command line, if any."""
    for i, arg in enumerate(argv[:-1]):
        if arg == "serve" and argv[i + 1] in ENDPOINTS:
            return argv[i + 1]
    return None


def running_service(proc: Path = Path("/proc")) -> str | None:
    """The service some process in this container runs (PID 1 may be an init)."""
    for cmdline in sorted(proc.glob("[0-9]*/cmdline")):
        try:
            argv = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue  # the process ended meanwhile
        if service := service_from_argv(argv):
            return service
    return None


def health_url(service: str, environ: Mapping[str, str] = os.environ) -> str:
    variable, default, path = ENDPOINTS[service]
    return f"http://127.0.0.1:{environ.get(variable, default)}{path}"


def main(argv: list[str]) -> int:
    service = argv[1] if len(argv) > 1 else running_service()
    if service is None:
        return 0
    if service not in ENDPOINTS:
        print(f"unknown service {service!r}; expected one of {sorted(ENDPOINTS)}", file=sys.stderr)
        return 1
    url = health_url(service)
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as exc:  # URLError and HTTPError (4xx/5xx) are OSErrors
        print(f"{url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
