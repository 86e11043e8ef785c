"""Stream throughput (issue 10): case-events pre-loaded, then one cohorts + one metrics
worker until the read models are caught up; in the same run two peers on the same events:
a bare aiokafka loop doing the same fold (the ceiling) and the batch recompute; and, if
quixstreams is installed (`make bench`), the same fold in Quix Streams twice: on the same
segments, and on the same events one per record (how the issue measured Quix).

    .venv/bin/python -m bench.stream [--citizens 15000] [--write]

The events are the simulator's (seed 5, faults on), stored through the real intake, then
published as segments by the relay's own code. Live must equal batch at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import psutil
from aiokafka import AIOKafkaConsumer
from prometheus_client import CollectorRegistry

from bench import stream_quix
from bench.cpu import tree_cpu_seconds
from bench.sections import machine, write_section
from kommunepuls import segments
from kommunepuls.auth import Principal, Role
from kommunepuls.config import Settings
from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import contributions, tally
from kommunepuls.domain.records import StoredEvent
from kommunepuls.embedded.broker import TansuBroker, free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import spawn_service
from kommunepuls.embedded.supervisor import health_url
from kommunepuls.kafka import consumer_options, ensure_topics, make_producer, topic_name
from kommunepuls.recompute import compare, live_counts, recompute_counts
from kommunepuls.reference import municipalities
from kommunepuls.replay import replay_store
from kommunepuls.simulator.generator import SimConfig, generate
from kommunepuls.storage.db import connect, create_pool
from kommunepuls.storage.event_store import iter_all
from kommunepuls.storage.migrate import migrate
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items

TODAY = date(2020, 1, 15)


async def load_store(settings: Settings, citizens: int) -> tuple[int, float]:
    pool = await create_pool(settings, max_size=2)
    principal = Principal("bench", Role.fagsystem, frozenset(municipalities()))
    metrics = IntakeMetrics(CollectorRegistry())
    started = time.perf_counter()
    chunk: list[RawItem] = []
    stored = 0
    for emission in generate(SimConfig(seed=5, citizens=citizens)):
        chunk.append(RawItem(emission.envelope))
        if len(chunk) == 5_000:
            stored += (await ingest_items(chunk, principal=principal, pool=pool,
                                          pseudonym_key=settings.secret("pseudonym_key"),
                                          metrics=metrics)).accepted
            chunk = []
    if chunk:
        stored += (await ingest_items(chunk, principal=principal, pool=pool,
                                      pseudonym_key=settings.secret("pseudonym_key"),
                                      metrics=metrics)).accepted
    await pool.close()
    return stored, time.perf_counter() - started


async def bare_loop(settings: Settings, expected: int) -> tuple[float, int]:
    """The ceiling: getmany + orjson segments + the same fold and contributions, in memory."""
    consumer = AIOKafkaConsumer(topic_name(settings, settings.topic_case_events),
                                group_id=f"{settings.topic_prefix}bare",
                                **consumer_options(settings))
    await consumer.start()
    by_citizen: dict[str, list[StoredEvent]] = {}
    seen = 0
    started = time.perf_counter()
    try:
        while seen < expected:
            for records in (await consumer.getmany(timeout_ms=500, max_records=200)).values():
                for record in records:
                    for event in segments.decode(record.value):
                        by_citizen.setdefault(event.citizen_id, []).append(event)
                        seen += 1
        counts = tally(c for events in by_citizen.values()
                       for c in contributions(fold(events), TODAY))
    finally:
        await consumer.stop()
    return time.perf_counter() - started, len(counts)


async def quix_peer(settings: Settings, expected: int, topic: str,
                    label: str) -> stream_quix.QuixResult | None:
    """The same fold in Quix Streams (own process), if quixstreams is installed."""
    if not stream_quix.available():
        print(f"Quix Streams peer skipped: quixstreams not installed ({stream_quix.INSTALL_HINT})")
        return None
    quix = await stream_quix.quix_peer(settings.kafka_bootstrap_servers, topic,
                                       f"{settings.topic_prefix}quix-{label}", expected, TODAY)
    print(f"Quix Streams on {label}: {quix.seconds:.1f} s (+ {quix.join_s:.1f} s start and "
          f"join), {quix.cells:,} cells")
    return quix


async def publish_one_per_record(settings: Settings, pool: asyncpg.Pool) -> str:
    """The store again, one event per record (each a segment of one, same partitions), on a
    topic of its own: the framing the issue measured Quix in (26-31k events/s)."""
    topic = topic_name(settings, "case-events-single")
    await ensure_topics(settings, [topic])
    producer = make_producer(settings)
    await producer.start()
    try:
        pending = []
        async for batch in iter_all(pool):
            for event in batch:
                pending.append(await producer.send(
                    topic, segments.encode([event]),
                    partition=segments.partition_for(event.citizen_id, settings.kafka_partitions)))
            await asyncio.gather(*pending)
            pending = []
    finally:
        await producer.stop()
    return topic


async def pipeline(settings: Settings, head_by_partition: dict[int, int], logs: Path,
                   servers: dict[str, int]) -> dict[str, float]:
    pool = await create_pool(settings, max_size=2)
    workers = [spawn_service(settings, n, logs / f"{n}.log") for n in ("cohorts", "metrics")]
    started = time.perf_counter()
    peak_rss = {n: 0 for n in ("cohorts", "metrics")}
    # The clock starts when both workers have joined their groups (healthy = assigned): from
    # then on they only process. The first fact or checkpoint would be later, after the
    # first batch's work, which would then go uncounted.
    joined_at = None
    # CPU from both joined to caught up, per process tree: unlike seconds, other load on
    # the machine hardly moves it, so it is what compares two versions of the code.
    cpu_at_join: dict[str, float] = {}
    waiting = {n: health_url(settings, n) for n in ("cohorts", "metrics")}
    client = httpx.AsyncClient(timeout=1)
    try:
        while True:
            for name, url in list(waiting.items()):
                try:
                    if (await client.get(url)).status_code == 200:
                        del waiting[name]
                except httpx.HTTPError:
                    pass
            if not waiting and joined_at is None:
                joined_at = time.perf_counter()
                cpu_at_join = cpu_by_process(workers, servers)
            rows = await pool.fetch("SELECT name, position FROM checkpoints "
                                    "WHERE name LIKE 'metrics:p%'")
            reached = {r["name"]: r["position"] for r in rows}
            if all(reached.get(f"metrics:p{p}", 0) >= head for p, head in
                   head_by_partition.items()):
                break
            for name, worker in zip(peak_rss, workers, strict=True):
                if worker.poll() is not None:
                    raise RuntimeError(f"{name} died: {(logs / f'{name}.log').read_text()[-2000:]}")
                peak_rss[name] = max(peak_rss[name], psutil.Process(worker.pid).memory_info().rss)
            await asyncio.sleep(0.05 if waiting else 0.2)
        done = time.perf_counter()
        cpu = {n: s - cpu_at_join.get(n, 0.0)
               for n, s in cpu_by_process(workers, servers).items()}
    finally:
        await client.aclose()
        for worker in workers:
            worker.terminate()
            worker.wait(20)
        await pool.close()
    return {"total_s": done - started,
            "processing_s": done - (joined_at or started),
            "rss_cohorts_mb": peak_rss["cohorts"] / 2**20,
            "rss_metrics_mb": peak_rss["metrics"] / 2**20,
            **{f"cpu_{n}_s": s for n, s in cpu.items()}}


def cpu_by_process(workers: list[subprocess.Popen[bytes]], servers: dict[str, int]
                   ) -> dict[str, float]:
    pids = {"cohorts": workers[0].pid, "metrics": workers[1].pid, **servers}
    return {name: tree_cpu_seconds(pid) for name, pid in pids.items()}


async def run(citizens: int, write: bool) -> str:
    root = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-stream-"))
    postgres = EmbeddedPostgres(root / "pg", delete_on_stop=True).start()
    broker = TansuBroker(free_port(), log_file=root / "broker.log").start()
    try:
        await postgres.ensure_database()
        settings = Settings(profile="embedded", data_dir=root / "data",
                            database_url=postgres.url(), database_schema="bench",
                            kafka_bootstrap_servers=broker.bootstrap_servers,
                            kafka_idempotence=False, pseudonym_key="b" * 40, jwt_secret="j" * 40,
                            today=TODAY, cohorts_web_port=free_port(),
                            metrics_web_port=free_port(), log_format="console",
                            log_level="WARNING")
        conn = await connect(settings)
        await migrate(conn, "bench")
        await conn.close()
        await ensure_topics(settings)
        stored, load_s = await load_store(settings, citizens)
        print(f"stored {stored:,} events in {load_s:.1f} s")
        pool = await create_pool(settings, max_size=2)
        head_by_partition: dict[int, int] = {}
        async for batch in iter_all(pool):
            for event in batch:
                p = segments.partition_for(event.citizen_id, settings.kafka_partitions)
                head_by_partition[p] = event.position
        t = time.perf_counter()
        published = await replay_store(settings, 0, None)
        publish_s = time.perf_counter() - t
        print(f"published {published:,} events as segments in {publish_s:.1f} s")
        gc.collect()
        t = time.perf_counter()
        batch_counts, _ = await recompute_counts(pool, TODAY)
        recompute_s = time.perf_counter() - t
        print(f"batch recompute: {recompute_s:.1f} s, {len(batch_counts):,} cells")
        bare_s, _ = await bare_loop(settings, stored)
        print(f"bare aiokafka loop: {bare_s:.1f} s")
        quix = await quix_peer(settings, stored,
                               topic_name(settings, settings.topic_case_events), "segments")
        quix_single = None
        if stream_quix.available():
            t = time.perf_counter()
            single_topic = await publish_one_per_record(settings, pool)
            print(f"published {stored:,} events one per record in {time.perf_counter() - t:.1f} s")
            quix_single = await quix_peer(settings, stored, single_topic, "single")
        logs = root / "logs"
        logs.mkdir()
        assert broker.process is not None
        live = await pipeline(settings, head_by_partition, logs,
                              {"postgresql": postgres.pid, "tansu": broker.process.pid})
        print(f"pipeline: {live}")
        differences = compare(await live_counts(pool), batch_counts)
        await pool.close()
    finally:
        broker.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
    rate = stored / live["processing_s"]
    cpu_total = sum(v for k, v in live.items() if k.startswith("cpu_"))
    lines = [
        f"{machine()}; command `.venv/bin/python -m bench.stream --citizens {citizens}`",
        "",
        f"{stored:,} stored events (simulator seed 5, {citizens:,} citizens, faults on), "
        f"{settings.kafka_partitions} partitions, one cohorts + one metrics worker, "
        f"Tansu in memory, today = {TODAY}.",
        "",
        "| what | seconds | events/s | vs pipeline |",
        "|---|---|---|---|",
        f"| pipeline: cohorts + metrics until read models caught up (from both joined) | "
        f"{live['processing_s']:.1f} | {rate:,.0f} | 1.00 |",
        f"| pipeline incl. worker start and group join | {live['total_s']:.1f} | "
        f"{stored / live['total_s']:,.0f} | |",
        f"| bare aiokafka loop, same fold, in memory (ceiling) | {bare_s:.1f} | "
        f"{stored / bare_s:,.0f} | {(stored / bare_s) / rate:.2f} |",
        f"| batch recompute from the store | {recompute_s:.1f} | {stored / recompute_s:,.0f} | "
        f"{(stored / recompute_s) / rate:.2f} |",
        *(stream_quix.table_rows(quix, stored, rate) if quix else []),
        *(stream_quix.table_rows(quix_single, stored, rate, "one event per record")
          if quix_single else []),
        "",
        "",
        "CPU from both joined to caught up: " + ", ".join(
            f"{n} {live[f'cpu_{n}_s']:.1f} s ({live[f'cpu_{n}_s'] / stored * 1e6:.0f} µs/event)"
            for n in ("cohorts", "metrics", "postgresql", "tansu"))
        + f"; all {cpu_total:.1f} s = {cpu_total / stored * 1e6:.0f} µs per event "
        f"({cpu_total / live['processing_s']:.2f} cores busy).",
        "",
        f"Live vs batch: {len(differences)} differing cells of {len(batch_counts):,}. "
        f"Peak RSS: cohorts {live['rss_cohorts_mb']:.0f} MB, "
        f"metrics {live['rss_metrics_mb']:.0f} MB.",
    ]
    text = "\n".join(lines)
    if write:
        write_section("Stream (issue 10)", text)
    return text


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--citizens", type=int, default=15_000)
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.citizens, args.write)))


if __name__ == "__main__":
    main()
