"""Cohorts: folds case events into citizen state and emits their cell contributions."""

from __future__ import annotations

import faust
from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.kafka import topic_name
from kommunepuls.streaming import create_faust_app
from services.cohorts.agents import register_agents


def create_app(settings: Settings, registry: CollectorRegistry | None = None) -> faust.App:
    registry = registry or CollectorRegistry()
    app = create_faust_app(settings, name="cohorts", web_port=settings.cohorts_web_port,
                           registry=registry)
    source = app.topic(topic_name(settings, settings.topic_case_events), value_type=bytes,
                       value_serializer="raw", key_type=bytes, key_serializer="raw")
    register_agents(app, source, registry)
    return app
