"""Ingest: fagsystems' HTTP entry (port 8001). Validates, pseudonymises, appends."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.web.app import create_base_app


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> FastAPI:
    app = create_base_app(
        settings, service="ingest", title="Kommunepuls ingest API",
        description="Case events from fagsystems: validated, pseudonymised, stored exactly once.",
        registry=registry,
    )
    return app
