"""What both HTTP services share: lifespan (DB pool), problem handlers, health, metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from kommunepuls.config import Settings
from kommunepuls.storage.db import create_pool
from kommunepuls.web.problems import Problem, install_problem_handlers

Hook = Callable[[FastAPI], Awaitable[None]]


def _route_template(request: Request) -> str:
    # Label by route template, never by raw path: paths may carry ids. The router leaves the
    # matched route in the scope (also for routes of included routers).
    route = request.scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


def create_base_app(
    settings: Settings,
    *,
    service: str,
    title: str,
    description: str,
    registry: CollectorRegistry | None = None,
    on_startup: Hook | None = None,
    on_shutdown: Hook | None = None,
) -> FastAPI:
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

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        duration.labels(service, request.method, _route_template(request),
                         str(response.status_code)).observe(time.perf_counter() - started)
        # No server version in responses (uvicorn's header is switched off at start).
        return response

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

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics",
             response_class=Response)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
