"""Gateway: the monitoring API (port 8000). Reads read models; never recomputes on request."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.web.app import create_base_app
from services.gateway.status import router as status_router


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> FastAPI:
    app = create_base_app(
        settings, service="gateway", title="Kommunepuls monitoring API",
        description="Indicators per municipality and nationally, minutes after the event.",
        registry=registry,
    )
    app.include_router(status_router)
    return app
