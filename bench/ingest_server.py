"""The ingest app under uvicorn in a child process, as `kommunepuls serve ingest` runs it,
for the benchmark's http phases (loopback only; the relay and the Kafka ingress are off)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from bench.ingest_events import JWT_SECRET, PSEUDONYM_KEY
from bench.uvicorn_child import uvicorn_child
from kommunepuls.config import Settings, load_settings
from kommunepuls.embedded.broker import free_port
from services.ingest.app import create_app

# All requests carry one token, and the per-token limit (50 requests/s by default) would
# cap the figure at 50,000 events/s: it is a guard against runaway senders, not the path
# measured here, so the benchmark lifts it (its cost per request stays in the figures).
RATE_LIMIT_OFF = 1e9


def server_app() -> FastAPI:
    """uvicorn factory for the http phase's child process (settings from the environment)."""
    from kommunepuls.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, service="ingest")
    return create_app(settings, relay=False)


@contextmanager
def ingest_server(settings: Settings, workers: int) -> Iterator[tuple[str, int]]:
    """The ingest app under uvicorn in a child process; yields its base URL and pid."""
    port = free_port()
    env = {"KOMMUNEPULS_PROFILE": "embedded", "KOMMUNEPULS_DATA_DIR": str(settings.data_dir),
           "DATABASE_URL": settings.database_url,
           "KOMMUNEPULS_DATABASE_SCHEMA": settings.database_schema or "",
           "KOMMUNEPULS_PSEUDONYM_KEY": PSEUDONYM_KEY, "KOMMUNEPULS_JWT_SECRET": JWT_SECRET,
           "KOMMUNEPULS_LOG_LEVEL": "WARNING", "KOMMUNEPULS_LOG_FORMAT": "console",
           "KOMMUNEPULS_INGEST_RATE_LIMIT_PER_S": str(RATE_LIMIT_OFF),
           "KOMMUNEPULS_INGEST_RATE_LIMIT_BURST": str(RATE_LIMIT_OFF)}
    with uvicorn_child("bench.ingest_server:server_app", port, env, probe="/readyz",
                       workers=workers, need_ok=True) as pid:
        yield f"http://127.0.0.1:{port}", pid

