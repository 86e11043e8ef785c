"""Metrics: counts citizens' cells into indicator read models in PostgreSQL."""

from __future__ import annotations

import faust
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.kafka import topic_name
from kommunepuls.streaming import create_faust_app
from services.metrics.agents import MetricsWorker, register_agents


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> faust.App:
    registry = registry or CollectorRegistry()
    app = create_faust_app(settings, name="metrics", web_port=settings.metrics_web_port,
                           registry=registry)
    source = app.topic(topic_name(settings, settings.topic_cohort_facts), value_type=bytes,
                       value_serializer="raw", key_type=bytes, key_serializer="raw")
    worker = MetricsWorker(settings, registry, topic_name(settings, settings.topic_dead_letters))
    register_agents(app, source, worker)
    return app
