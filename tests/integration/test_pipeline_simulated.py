"""Live equals batch on simulated traffic with late events, duplicates and retractions —
also when a cohorts worker and a metrics worker are killed mid-stream and restarted.

Events enter through the ingest service's intake (the code behind POST /v1/events, whose
HTTP layer tests/integration/test_ingest.py covers) and its relay, in-process, so the
suite's time goes to the stream rather than to HTTP round trips."""

import asyncio
import time
from datetime import date
from pathlib import Path

import asyncpg
from prometheus_client import CollectorRegistry

from kommunepuls.auth import Principal, Role
from kommunepuls.config import Settings
from kommunepuls.kafka import ensure_topics
from kommunepuls.recompute import compare, live_counts, recompute_counts
from kommunepuls.reference import municipalities
from kommunepuls.simulator.generator import SimConfig, generate
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items
from services.ingest.relay import Relay
from tests.integration.pipeline import (
    start_worker,
    stop,
    wait_caught_up,
    wait_healthy,
    worker_settings,
)

TODAY = date(2019, 3, 15)
CITIZENS = 5_000


def simulated_batches(size: int = 2_000) -> list[list[dict]]:
    config = SimConfig(seed=11, citizens=CITIZENS, end=TODAY, late_share=0.05,
                       duplicate_share=0.02, retraction_share=0.01, invalid_share=0.002)
    envelopes = [e.envelope for e in generate(config) if e.emit_at.date() <= TODAY]
    return [envelopes[i:i + size] for i in range(0, len(envelopes), size)]


async def wait_for_agreement(db: asyncpg.Pool, budget_s: float) -> tuple[int, float]:
    started = time.monotonic()
    await wait_caught_up(db, 4, budget_s)
    while True:
        batch, _ = await recompute_counts(db, TODAY)
        differences = compare(await live_counts(db), batch)
        if not differences:
            return len(batch), time.monotonic() - started
        if time.monotonic() - started > budget_s:
            raise AssertionError(f"{len(differences)} differences, e.g. {differences[:3]}")
        await asyncio.sleep(1.0)


async def test_live_equals_batch_across_worker_kills(settings: Settings, db: asyncpg.Pool,
                                                     tmp_path: Path) -> None:
    settings = worker_settings(settings.model_copy(update={"today": TODAY}))
    await ensure_topics(settings)
    batches = simulated_batches()
    events = sum(len(b) for b in batches)
    logs = tmp_path / "logs"
    logs.mkdir()
    workers = {n: start_worker(settings, n, logs / f"{n}.log") for n in ("cohorts", "metrics")}
    try:
        wait_healthy(settings.cohorts_web_port, workers["cohorts"], logs / "cohorts.log")
        wait_healthy(settings.metrics_web_port, workers["metrics"], logs / "metrics.log")
        accepted = duplicates = rejected = 0
        principal = Principal("sim", Role.fagsystem, frozenset(municipalities()))
        metrics = IntakeMetrics(CollectorRegistry())
        stop_relay = asyncio.Event()
        relay = asyncio.create_task(Relay(settings, db, CollectorRegistry()).run(stop_relay))
        try:
            for n, batch in enumerate(batches):
                body = await ingest_items([RawItem(e) for e in batch], principal=principal,
                                          pool=db, pseudonym_key=settings.secret("pseudonym_key"),
                                          metrics=metrics)
                accepted += body.accepted
                duplicates += body.duplicates
                rejected += body.rejected
                if n == len(batches) // 3:
                    stop(workers["cohorts"], kill=True)  # SIGKILL mid-stream
                    workers["cohorts"] = start_worker(settings, "cohorts", logs / "cohorts.log")
                if n == 2 * len(batches) // 3:
                    stop(workers["metrics"], kill=True)
                    workers["metrics"] = start_worker(settings, "metrics", logs / "metrics.log")
            cells, caught_up_s = await wait_for_agreement(db, budget_s=180)
        finally:
            stop_relay.set()
            await relay
        print(f"{events} envelopes: {accepted} accepted, {duplicates} duplicates, "
              f"{rejected} rejected; live == batch on {cells} cells, "
              f"caught up {caught_up_s:.1f} s after the last post")
        assert duplicates > 0 and rejected > 0
        assert await db.fetchval("SELECT count(*) FROM events") == accepted
        assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'event_retracted'") > 0
        assert cells > 1_000
    finally:
        for process in workers.values():
            stop(process)
