"""Ingest: fagsystems' HTTP entry (port 8001). Validates, pseudonymises, appends, relays."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.domain.events import event_adapter
from kommunepuls.web.app import create_base_app
from services.ingest.intake import IntakeMetrics
from services.ingest.relay import Relay
from services.ingest.routes import router as events_router


def create_app(settings: Settings, registry: CollectorRegistry | None = None,
               *, relay: bool = True) -> FastAPI:
    registry = registry or CollectorRegistry()

    async def start(app: FastAPI) -> None:
        app.state.relay_stop = asyncio.Event()
        app.state.relay_task = None
        if relay:
            runner = Relay(settings, app.state.pool, registry)
            app.state.relay_task = asyncio.create_task(runner.run(app.state.relay_stop))

    async def stop(app: FastAPI) -> None:
        app.state.relay_stop.set()
        if app.state.relay_task is not None:
            await app.state.relay_task

    app = create_base_app(
        settings, service="ingest", title="Kommunepuls ingest API",
        description="Case events from fagsystems: validated, pseudonymised (the CPR number is "
                    "replaced by an HMAC pseudonym before anything is stored or logged), stored "
                    "exactly once in order, and published to Kafka.",
        registry=registry, on_startup=start, on_shutdown=stop,
    )
    app.state.pseudonym_key = settings.secret("pseudonym_key")
    app.state.intake_metrics = IntakeMetrics(registry)
    app.include_router(events_router)
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
