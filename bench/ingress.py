"""Kafka ingress throughput (issue 9): events/s from the fagsystem client through the
ingress topic into the event store, on the embedded PostgreSQL and Tansu broker.

    .venv/bin/python -m bench.ingress [--events N] [--batch 1000]

The client (`publish_kafka`: validate, seal each citizen's CPR once per record, NDJSON,
publish, await every receipt) runs in this process; the ingress consumer runs in a child
process as it does inside `kommunepuls serve ingest` (uvloop; the relay and HTTP are idle
there, so they are left out). The clock runs from the first event handed to the client to
the last receipt received, so it covers validate -> seal -> topic -> open -> pseudonymise
-> store -> receipt. The events are bench/ingest.py's (same mix, ~30 per citizen), so the
figure stands beside its HTTP one. CPU seconds per process group come from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from nacl.public import PrivateKey
from prometheus_client import CollectorRegistry

from bench.ingest import JWT_SECRET, MUNICIPALITIES, CpuMeter, Database, family, make_events
from kommunepuls.auth import Role, issue_token
from kommunepuls.client import publish_kafka, seal_batch, validate
from kommunepuls.config import Settings, load_settings
from kommunepuls.domain.examples import EXAMPLE_CPR
from kommunepuls.embedded.broker import TansuBroker, free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import die_with_parent, stop_process
from kommunepuls.kafka import ensure_topics, topic_name
from kommunepuls.sealing import Opener, encode_key, ingress_private_key, seal_cpr
from kommunepuls.storage.db import create_pool

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 200


@dataclass(slots=True)
class IngressReport:
    events: int
    batch: int
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    micros: dict[str, float] = field(default_factory=dict)  # step -> µs
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "batch": self.batch, "seconds": self.seconds,
                "rate": self.rate, "cpu": self.cpu, "micros": self.micros, "load": self.load}

    def lines(self) -> Iterator[str]:
        yield (f"{self.events:,} events in records of {self.batch:,}: {self.rate:,.0f} "
               f"events/s through the Kafka ingress ({self.seconds:.2f} s, client -> topic "
               "-> store, every receipt awaited)")
        yield (f"load average {self.load[0]:.2f} before, {self.load[1]:.2f} after, on "
               f"{os.cpu_count()} cores")
        yield ""
        yield "| process | CPU µs/event | cores busy |"
        yield "|---|---:|---:|"
        for group, seconds in self.cpu.items():
            yield (f"| {group} | {seconds / self.events * 1e6:,.0f} | "
                   f"{seconds / self.seconds:.2f} |")
        yield ""
        yield "| step (this process, one core) | µs |"
        yield "|---|---:|"
        for step, micros in self.micros.items():
            yield f"| {step} | {micros:,.1f} |"


def micro_costs(values: list[dict[str, Any]], key: PrivateKey, batch: int) -> dict[str, float]:
    """CPU of the client's and the ingress's crypto and validation, per unit."""
    sample = values[:2000]
    costs: dict[str, float] = {}
    started = time.process_time()
    validate(sample)
    costs["validate, per event (client)"] = (time.process_time() - started) / len(sample) * 1e6
    started = time.process_time()
    for start in range(0, len(sample), batch):
        seal_batch(sample[start:start + batch], key.public_key)
    costs["seal + NDJSON, per event (client, ~30 events/citizen)"] = (
        (time.process_time() - started) / len(sample) * 1e6)
    sealed = [seal_cpr(key.public_key, EXAMPLE_CPR) for _ in range(300)]
    started = time.process_time()
    for _ in range(300):
        seal_cpr(key.public_key, EXAMPLE_CPR)
    costs["seal one CPR (X25519 sealed box)"] = (time.process_time() - started) / 300 * 1e6
    opener = Opener(key)
    started = time.process_time()
    for value in sealed:
        opener.open(value)
    costs["open one sealed CPR (ingress)"] = (time.process_time() - started) / 300 * 1e6
    return costs


@contextmanager
def ingress_process(settings: Settings, key: PrivateKey) -> Iterator[int]:
    """The ingress consumer in a child process; yields its pid."""
    env = {**os.environ, **settings.to_env(),
           "KOMMUNEPULS_INGRESS_PRIVATE_KEY": encode_key(key), "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-m", "bench.ingress", "--serve"], env=env,
                             cwd=ROOT, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    try:
        yield child.pid
    finally:
        stop_process(child, grace_s=15)


async def serve() -> None:
    """The child: one Ingress on the settings in the environment, until SIGTERM."""
    from services.ingest.ingress import Ingress
    from services.ingest.intake import IntakeMetrics

    settings = load_settings()
    pool = await create_pool(settings)
    registry = CollectorRegistry()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await Ingress(settings, pool, registry, opener=Opener(ingress_private_key(settings)),
                      intake_metrics=IntakeMetrics(registry)).run(stop)
    finally:
        await pool.close()


async def measure(database_url: str, bootstrap_servers: str, *, events: int,
                  batch: int = 1000, broker_pid: int | None = None,
                  log: Callable[[str], None] = lambda _: None) -> IngressReport:
    """End-to-end events/s through the ingress against these servers (both on this
    machine, for their CPU to be counted)."""
    report = IngressReport(events=events, batch=batch)
    load_before = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    data_dir = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-"))
    database = Database(database_url, tag, data_dir)
    try:
        settings = (await database.fresh("ingress")).model_copy(update={
            "kafka_bootstrap_servers": bootstrap_servers, "kafka_idempotence": False,
            "topic_prefix": f"bench-{tag}-"})
        await ensure_topics(settings)
        key = PrivateKey.generate()
        token = issue_token(JWT_SECRET.encode(), subject="bench", role=Role.fagsystem,
                            municipalities=list(MUNICIPALITIES))
        log(f"preparing {events:,} events")
        values = make_events(events)
        report.micros = micro_costs(values, key, batch)

        async def publish(evs: list[dict[str, Any]]) -> int:
            result = await publish_kafka(
                evs, bootstrap_servers=bootstrap_servers, token=token,
                public_key=encode_key(key.public_key),
                topic=topic_name(settings, settings.topic_ingress),
                receipts_topic=topic_name(settings, settings.topic_receipts),
                batch_size=batch, receipt_timeout_s=600)
            return result.accepted

        with ingress_process(settings, key) as pid:
            log("warming up (the consumer joins its group)")
            if await publish(make_events(WARM_UP, seed=7)) != WARM_UP:
                raise RuntimeError("warm-up events were not all accepted")
            groups: dict[str, Callable[[], list[int]]] = {
                "ingress": lambda: family(pid), "postgres": database.postgres_pids,
                "client": lambda: [os.getpid()]}
            if broker_pid is not None:
                groups["broker"] = lambda: [broker_pid]
            meter = CpuMeter(groups)
            log(f"publishing {events:,} events")
            meter.start()
            started = time.perf_counter()
            accepted = await publish(values)
            report.seconds = time.perf_counter() - started
            report.cpu = meter.stop()
        if accepted != events or await database.count(settings) != events + WARM_UP:
            raise RuntimeError(f"{accepted} of {events} accepted; the store disagrees")
    finally:
        await database.drop_all()
        shutil.rmtree(data_dir, ignore_errors=True)
    report.load = (load_before, os.getloadavg()[0])
    return report


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per Kafka record")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        import uvloop

        uvloop.run(serve())
        return

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    root = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-pg-"))
    log("starting PostgreSQL and the broker")
    server = EmbeddedPostgres(root / "data", delete_on_stop=True).start()
    broker = TansuBroker(free_port()).start()
    try:
        asyncio.run(server.ensure_database())
        report = asyncio.run(measure(
            server.url(), broker.bootstrap_servers, events=args.events, batch=args.batch,
            broker_pid=broker.process.pid if broker.process else None, log=log))
    finally:
        broker.stop()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n".join(report.lines()))
    if args.json:
        args.json.write_bytes(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
