"""The benchmarks keep working: their cores on a tiny event count."""

from datetime import date

import pytest

from bench import stream_quix
from bench.ingest import measure
from kommunepuls.config import Settings
from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import contributions, tally
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.kafka import ensure_topics, make_producer, topic_name
from services.ingest.relay import publish
from tests.unit.factories import History, Store


async def test_the_ingest_benchmark_measures_every_phase(postgres: EmbeddedPostgres) -> None:
    report = await measure(postgres.url(), events=300, batch=100, clients=2, workers=(1,))
    assert list(report.phases) == ["copy", "copy, one COPY of all rows", "store append",
                                   "intake, in-process", "asgi, in-process",
                                   "http, 1 uvicorn worker"]
    for name, phase in report.phases.items():
        # measure() also checks that every phase stored exactly its events.
        assert phase.events == 300 and phase.rate > 0, name
    assert set(report.phases["http, 1 uvicorn worker"].cpu) == {"ingest", "postgres", "client"}
    assert report.breakdown["sum of the steps"] > 0
    assert report.best_http()[1].rate > 0 and report.ceiling > 0
    assert any("of COPY ceiling" in line for line in report.lines())


@pytest.mark.skipif(not stream_quix.available(),
                    reason=f"quixstreams not installed ({stream_quix.INSTALL_HINT})")
async def test_the_quix_stream_peer_folds_every_event(settings: Settings) -> None:
    # Segments of 2 events: the 7 events arrive as several records over several partitions.
    settings = settings.model_copy(update={"segment_max_events": 2})
    store = Store()
    a, b = History("A", "461", store), History("B", "851", store)
    a.visitation("2019-02-01", group=1)
    a.tilbud("2019-03-01", "virksomhedspraktik", ended="2019-04-01")
    a.hours("2019-05", 40)
    b.visitation("2019-06-01", group=2)
    b.afklaret("2019-09-01")
    b.hours("2019-10", 12.5)
    events = a.events + b.events
    assert len(events) == 7
    topic = topic_name(settings, settings.topic_case_events)
    await ensure_topics(settings, [topic])
    producer = make_producer(settings)
    await producer.start()
    try:
        await publish(producer, topic, sorted(events, key=lambda e: e.position), settings)
    finally:
        await producer.stop()
    today = date(2020, 1, 15)
    expected_cells = len(tally(c for h in (a, b) for c in contributions(fold(h.events), today)))
    result = await stream_quix.quix_peer(settings.kafka_bootstrap_servers, topic,
                                         f"{settings.topic_prefix}quix", len(events), today,
                                         timeout_s=60)
    assert result.events == 7
    assert expected_cells > 0 and result.cells == expected_cells
    assert result.seconds > 0 and result.join_s > 0 and result.cpu_s > 0
