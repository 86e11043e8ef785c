"""The stream workers' consumers wait at most FETCH_MAX_WAIT_MS for a fetch, not faust's
hard-coded 1.5 s (which Tansu serves in full: every stage would add up to 1.5 s)."""

from pathlib import Path

from prometheus_client import CollectorRegistry

from kommunepuls.config import Settings
from kommunepuls.embedded.broker import free_port
from kommunepuls.streaming import FETCH_MAX_WAIT_MS, create_faust_app


async def test_a_worker_consumer_waits_briefly_for_a_fetch(tmp_path: Path) -> None:
    settings = Settings(profile="embedded", data_dir=tmp_path, pseudonym_key="p" * 40,
                        jwt_secret="j" * 40, kafka_bootstrap_servers="127.0.0.1:1")
    app = create_faust_app(settings, name="fetchwait", web_port=free_port(),
                           registry=CollectorRegistry())
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    try:
        assert FETCH_MAX_WAIT_MS <= 100
        assert consumer._fetch_max_wait_ms == FETCH_MAX_WAIT_MS
    finally:
        await consumer.stop()
