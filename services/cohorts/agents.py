"""Agents of the cohorts service."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CollectorRegistry, Counter


def register_agents(app: faust.App, source: faust.TopicT, registry: CollectorRegistry) -> None:
    segments = Counter("kommunepuls_cohorts_segments_consumed_total",
                       "Segments of case events consumed.", registry=registry)

    @app.agent(source, name="track_citizen_state")
    async def track_citizen_state(stream: Any) -> None:
        async for _segment in stream:
            segments.inc()
