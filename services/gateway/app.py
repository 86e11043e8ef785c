"""Gateway: the monitoring API (port 8000). Reads read models; never recomputes on request.

`values`, `series` and `ranking` answers are kept in memory per read-model version and
caller role (`response_cache.py`): an answer reflects every metrics flush committed more
than 250 ms (`FRESHNESS_SECONDS`, or `cache_seconds` if smaller) before the request.
"""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.web.app import create_base_app
from services.gateway.catalogue import router as catalogue_router
from services.gateway.experiments import router as experiments_router
from services.gateway.experiments_overdue import router as experiments_overdue_router
from services.gateway.indicator_metrics import SCRAPERS, GatewayCollector, LiveFigures
from services.gateway.page import install_page
from services.gateway.queries import read_model_watermark
from services.gateway.ranking import router as ranking_router
from services.gateway.response_cache import FRESHNESS_SECONDS, GatewayCache, ResponseCache
from services.gateway.revisions import router as revisions_router
from services.gateway.status import router as status_router
from services.gateway.values import router as values_router
from services.gateway.worklist import router as worklist_router

# Freshness and the metrics snapshot are reloaded at most this often: positions only grow,
# so a figure's `events_through` from a slightly older load is still a true guarantee. Kept
# short because it adds to the end-to-end latency a user sees (bench/latency.py).
CACHE_SECONDS = 0.25


def create_app(settings: Settings, registry: CollectorRegistry | None = None,
               *, cache_seconds: float = CACHE_SECONDS, response_cache: bool = True) -> FastAPI:
    """The gateway; `response_cache=False` builds every answer anew (bench/gateway.py's
    peer, to measure what the cache saves)."""
    registry = registry or CollectorRegistry()
    live = LiveFigures(settings, cache_seconds)
    cache = GatewayCache(settings.secret("jwt_secret"), min(FRESHNESS_SECONDS, cache_seconds))

    async def start(app: FastAPI) -> None:
        pool = app.state.pool
        live.start(pool)
        app.state.freshness = live.freshness
        assert live.freshness is not None
        cache.start(lambda: read_model_watermark(pool), live.freshness)

    app = create_base_app(
        settings, service="gateway", title="Kommunepuls monitoring API",
        description="Indicators per municipality and nationally, minutes after the event. "
                    "Bearer tokens (JWT): `municipality` reads every municipality's "
                    "suppressed figures and its own work lists and revisions; `national` "
                    "reads every figure unsuppressed; `ops` reads /v1/status and /metrics.",
        registry=registry, on_startup=start,
        metrics_roles=SCRAPERS, before_scrape=live.refresh_before_scrape,
    )
    app.state.live = live
    registry.register(GatewayCollector(live))
    # Outermost, so a kept answer costs none of the app's machinery (it records its own
    # request duration in the shared histogram).
    cache.duration = app.state.request_duration
    app.state.response_cache = cache
    if response_cache:
        app.add_middleware(ResponseCache, cache=cache)
    for router in (status_router, catalogue_router, values_router, ranking_router,
                   revisions_router, worklist_router, experiments_router,
                   experiments_overdue_router):
        app.include_router(router)
    install_page(app)
    return app
