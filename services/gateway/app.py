"""Gateway: the monitoring API (port 8000). Reads read models; never recomputes on request."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.web.app import create_base_app
from services.gateway.catalogue import router as catalogue_router
from services.gateway.experiments import router as experiments_router
from services.gateway.experiments_overdue import router as experiments_overdue_router
from services.gateway.indicator_metrics import GatewayCollector, LiveFigures, RefreshOnScrape
from services.gateway.page import install_page
from services.gateway.ranking import router as ranking_router
from services.gateway.revisions import router as revisions_router
from services.gateway.status import router as status_router
from services.gateway.values import router as values_router
from services.gateway.worklist import router as worklist_router

# Freshness and the metrics snapshot are reloaded at most this often: positions only grow,
# so a figure's `events_through` from a slightly older load is still a true guarantee.
CACHE_SECONDS = 2.0


def create_app(settings: Settings, registry: CollectorRegistry | None = None,
               *, cache_seconds: float = CACHE_SECONDS) -> FastAPI:
    registry = registry or CollectorRegistry()
    live = LiveFigures(settings, cache_seconds)

    async def start(app: FastAPI) -> None:
        live.start(app.state.pool)
        app.state.freshness = live.freshness

    app = create_base_app(
        settings, service="gateway", title="Kommunepuls monitoring API",
        description="Indicators per municipality and nationally, minutes after the event. "
                    "Bearer tokens (JWT): `municipality` reads every municipality's "
                    "suppressed figures and its own work lists and revisions; `national` "
                    "reads every figure unsuppressed; `ops` reads /v1/status and /metrics.",
        registry=registry, on_startup=start,
    )
    app.state.live = live
    registry.register(GatewayCollector(live))
    app.add_middleware(RefreshOnScrape, live=live)
    for router in (status_router, catalogue_router, values_router, ranking_router,
                   revisions_router, worklist_router, experiments_router,
                   experiments_overdue_router):
        app.include_router(router)
    install_page(app)
    return app
