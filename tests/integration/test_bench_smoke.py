"""The ingest benchmark keeps working: its core, every phase, on a tiny event count."""

from bench.ingest import measure
from kommunepuls.embedded.postgres import EmbeddedPostgres


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
