"""The gateway benchmark's servers: uvicorn factories for the real gateway and for the
bare ASGI ceiling, each run in a child process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from bench.uvicorn_child import uvicorn_child
from kommunepuls.embedded.broker import free_port

BODIES_ENV = "KOMMUNEPULS_BENCH_BODIES"
UNCACHED_ENV = "KOMMUNEPULS_BENCH_UNCACHED"


def gateway_app() -> Any:
    """uvicorn factory for the gateway child (settings from the environment)."""
    from kommunepuls.config import load_settings
    from kommunepuls.logs import configure_logging
    from services.gateway.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, service="gateway")
    return create_app(settings, response_cache=os.environ.get(UNCACHED_ENV) != "1")


def bare_app() -> Any:
    """uvicorn factory for the ceiling: a bare ASGI callable with canned JSON per route."""
    return canned_app({route: body.encode() for route, body in
                       orjson.loads(Path(os.environ[BODIES_ENV]).read_bytes()).items()})


def canned_app(canned: dict[str, bytes]) -> Any:
    headers = {route: [(b"content-type", b"application/json"),
                       (b"content-length", str(len(body)).encode())]
               for route, body in canned.items()}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        route = "ranking" if scope["path"].endswith("/ranking") else "values"
        await send({"type": "http.response.start", "status": 200, "headers": headers[route]})
        await send({"type": "http.response.body", "body": canned[route]})

    return app


@contextmanager
def server(factory: str, env: dict[str, str], workers: int = 1,
           http: str = "auto") -> Iterator[tuple[int, int]]:
    """A uvicorn child process; yields its port and pid once it answers."""
    port = free_port()
    with uvicorn_child(f"{__name__}:{factory}", port, env, probe="/healthz",
                       workers=workers, extra=("--http", http)) as pid:
        yield port, pid
