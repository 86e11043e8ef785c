"""Ingest: fagsystems' HTTP entry (port 8001). Validates, pseudonymises, appends, relays."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.domain.events import event_adapter
from kommunepuls.sealing import Opener, ingress_private_key
from kommunepuls.web.app import create_base_app
from services.ingest.appender import GroupAppender
from services.ingest.gc_tuning import restore_gc, tune_gc
from services.ingest.ingest_key import router as ingest_key_router
from services.ingest.ingress import Ingress
from services.ingest.intake import IntakeMetrics
from services.ingest.ratelimit import RateLimit
from services.ingest.relay import Relay
from services.ingest.routes import router as events_router


def create_app(settings: Settings, registry: CollectorRegistry | None = None,
               *, relay: bool = True, ingress: bool | None = None) -> FastAPI:
    """The ingest API; `relay` and `ingress` start its Kafka background work: the relay
    (store -> case-events) and the ingress consumer (fagsystem-events -> store). The
    ingress follows `relay` unless told otherwise, so `relay=False` (HTTP only: tests,
    benchmarks) needs no broker."""
    registry = registry or CollectorRegistry()
    ingress = (relay and settings.ingress_enabled) if ingress is None else ingress
    # Resolved here, not in the background task: a missing key stops the start (ConfigError).
    opener = Opener(ingress_private_key(settings)) if ingress else None

    async def start(app: FastAPI) -> None:
        app.state.gc_thresholds = tune_gc()
        app.state.appender = GroupAppender(app.state.pool, max_events=settings.ingest_max_events)
        app.state.relay_stop = asyncio.Event()
        app.state.relay_task = None
        if relay:
            runner = Relay(settings, app.state.pool, registry)
            app.state.relay_task = asyncio.create_task(runner.run(app.state.relay_stop))
        app.state.ingress_stop = asyncio.Event()
        app.state.ingress_task = None
        if opener is not None:
            consumer = Ingress(settings, app.state.pool, registry, opener=opener,
                               intake_metrics=app.state.intake_metrics)
            app.state.ingress_task = asyncio.create_task(consumer.run(app.state.ingress_stop))

    async def stop(app: FastAPI) -> None:
        app.state.relay_stop.set()
        app.state.ingress_stop.set()
        try:
            if app.state.relay_task is not None:
                await app.state.relay_task
            if app.state.ingress_task is not None:
                # Past the grace, cancel: uncommitted records are re-read and absorbed as
                # duplicates.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(app.state.ingress_task, 10)
        finally:
            restore_gc(app.state.gc_thresholds)

    app = create_base_app(
        settings, service="ingest", title="Kommunepuls ingest API",
        description="Case events from fagsystems: validated, pseudonymised (the CPR number is "
                    "replaced by an HMAC pseudonym before anything is stored or logged), stored "
                    "exactly once in order, and published to Kafka.",
        registry=registry, on_startup=start, on_shutdown=stop,
        # /metrics stays open (no metrics_roles): request and event counters, no indicator
        # figures; only the gateway's needs a token.
    )
    app.state.pseudonym_key = settings.secret("pseudonym_key")
    app.state.intake_metrics = IntakeMetrics(registry)
    app.state.ingress_opener = opener
    app.add_middleware(RateLimit, secret=settings.secret("jwt_secret"),
                       rate_per_s=settings.ingest_rate_limit_per_s,
                       burst=settings.ingest_rate_limit_burst)
    app.include_router(events_router)
    app.include_router(ingest_key_router)
    _document_event_contract(app)
    return app


def _document_event_contract(app: FastAPI) -> None:
    """Put the contract's JSON Schema (EventIn and its parts) into the OpenAPI components."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = original()
        schema = event_adapter().json_schema(ref_template="#/components/schemas/{model}")
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        components.update(schema.pop("$defs", {}))
        components["EventIn"] = schema
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
