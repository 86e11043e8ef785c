"""CPU per request of the gateway (without and with its response cache) and of the bare
ASGI ceiling, each app called in-process: no sockets, `time.process_time`, so the figures
a busy machine disturbs least."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.gateway_apps import canned_app
from bench.gateway_setup import JWT_SECRET, RANKING, SCHEMA, VALUES


async def asgi_get(app: Any, path: str, query: bytes,
                   headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request straight into an ASGI app (no socket, no server)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query, "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    status, body = 0, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        status = message.get("status", status)
        body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def cpu_per_request(url: str, token: str, requests: int) -> list[tuple[str, float]]:
    """CPU seconds per request of the gateway without and with its cache, and of the bare
    app, each called in-process."""
    from kommunepuls.config import Settings
    from services.gateway.app import create_app

    settings = Settings(profile="embedded", database_url=url, database_schema=SCHEMA,
                        jwt_secret=JWT_SECRET, pseudonym_key=JWT_SECRET,
                        data_dir=Path(tempfile.mkdtemp(prefix="kommunepuls-bench-gw-")))
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()),
               (b"accept", b"application/json")]
    targets = {route: (path, query.encode()) for route, (path, _, query) in
               (("values", VALUES.format("851").partition("?")),
                ("ranking", RANKING.partition("?")))}
    canned: dict[str, bytes] = {}
    rows = []

    async def per_request(label: str, app: Any) -> None:
        for route, (path, query) in targets.items():
            for _ in range(20):  # warm: prepared statements, caches
                status, canned[route] = await asgi_get(app, path, query, headers)
                assert status == 200, canned[route]
            before = time.process_time()
            for _ in range(requests):
                await asgi_get(app, path, query, headers)
            rows.append((f"{label} {route}", (time.process_time() - before) / requests))

    for cached in (False, True):
        app = create_app(settings, response_cache=cached)
        async with app.router.lifespan_context(app):
            await per_request("gateway" if cached else "gateway uncached", app)
    await per_request("bare ASGI", canned_app(dict(canned)))
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    return rows
