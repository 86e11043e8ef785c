"""What both HTTP services share: lifespan (DB pool), problem handlers, health, metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kommunepuls.auth import Role
from kommunepuls.config import Settings
from kommunepuls.storage.db import create_pool
from kommunepuls.web.problems import PROBLEM_RESPONSES, Problem, install_problem_handlers
from kommunepuls.web.security import require_roles

Hook = Callable[[FastAPI], Awaitable[None]]


def _route_template(scope: Scope) -> str:
    # Label by route template, never by raw path: paths may carry ids. The router leaves the
    # matched route in the scope (also for routes of included routers).
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class ObserveRequests:
    """Request durations by route and status. A plain ASGI middleware, not
    `@app.middleware("http")`: Starlette's BaseHTTPMiddleware wraps every request and
    response in extra tasks and streams, a large share of a cheap request's cost."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram, service: str) -> None:
        self.app = app
        self.histogram = histogram
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before it answers

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            self.histogram.labels(self.service, scope["method"], _route_template(scope),
                                  str(status)).observe(time.perf_counter() - started)


def create_base_app(
    settings: Settings,
    *,
    service: str,
    title: str,
    description: str,
    registry: CollectorRegistry | None = None,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
    metrics_roles: Sequence[Role] = (),
    before_scrape: Callable[[], Awaitable[None]] | None = None,
) -> FastAPI:
    """The parts both HTTP services share. `metrics_roles`: who may read `/metrics` (empty:
    anyone, for a service whose metrics carry no indicator figures); `before_scrape` runs
    once a scrape is admitted, before the registry is collected."""
    registry = registry or CollectorRegistry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        if on_startup:
            await on_startup(app)
        try:
            yield
        finally:
            if on_shutdown:
                await on_shutdown(app)
            await app.state.pool.close()

    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan,
                  openapi_tags=[{"name": "health", "description": "Probes and metrics"}])
    app.state.settings = settings
    app.state.registry = registry
    app.state.jwt_secret = settings.secret("jwt_secret")
    install_problem_handlers(app)
    app.openapi_components = {"schemas": {"Problem": Problem.model_json_schema()}}  # type: ignore[attr-defined]

    duration = Histogram(
        "kommunepuls_http_request_duration_seconds", "HTTP request duration by route.",
        ["service", "method", "route", "status"], registry=registry,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
    )
    app.state.request_duration = duration  # for a service's own fast paths

    app.add_middleware(ObserveRequests, histogram=duration, service=service)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process serves requests")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", tags=["health"], summary="Readiness: the database answers",
             responses={503: {"model": Problem}})
    async def readyz(request: Request) -> Response:
        try:
            await request.app.state.pool.fetchval("SELECT 1")
        except Exception as exc:  # any failure means "not ready", reported, never raised
            body = Problem(type="https://kommunepuls.dk/problems/not-ready", title="Not ready",
                           status=503, detail=f"database: {type(exc).__name__}")
            return JSONResponse(body.model_dump(exclude_none=True), status_code=503,
                                  media_type="application/problem+json")
        return JSONResponse({"status": "ready", "service": service})

    guard = [Depends(require_roles(*metrics_roles))] if metrics_roles else []
    refusals: dict[int | str, dict[str, Any]] | None = (
        {s: PROBLEM_RESPONSES[s] for s in (401, 403)} if metrics_roles else None)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics",
             response_class=Response, dependencies=guard, responses=refusals)
    async def metrics() -> Response:
        if before_scrape is not None:
            await before_scrape()
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
