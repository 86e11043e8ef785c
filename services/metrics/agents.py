"""Agents of the metrics service."""

from __future__ import annotations

from typing import Any

import faust
from prometheus_client import CollectorRegistry, Counter


def register_agents(app: faust.App, source: faust.TopicT, registry: CollectorRegistry) -> None:
    segments = Counter("kommunepuls_metrics_segments_consumed_total",
                       "Segments of cohort facts consumed.", registry=registry)

    @app.agent(source, name="count_indicator_members")
    async def count_indicator_members(stream: Any) -> None:
        async for _segment in stream:
            segments.inc()
