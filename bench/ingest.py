"""Ingest throughput (issue 11): HTTP batches of 1,000 events into the store, against the
raw COPY ceiling of the same rows, measured in one run on this machine.

    .venv/bin/python -m bench.ingest [--events N] [--rounds R] [--quick] [--clients C]
                                     [--workers 1,2] [--json FILE]

Every phase writes the same events (valid envelopes built from the contract's examples:
distinct event_ids, ~30 per citizen, a realistic mix of types) into a freshly migrated
schema of its own (same table and indexes, empty at the start), in batches of `--batch`:

  copy     raw asyncpg `copy_records_to_table` of the already pseudonymised rows, one COPY
           (and one transaction) per batch: the ceiling the issue asks for. One COPY of all
           rows is reported beside it, for reference.
  store    `event_store.append` of the same rows: + duplicate lookup, head-row lock and
           positions (what the event store adds to a bare COPY).
  intake   `ingest_items` in-process: + validation, pseudonym, body hash, per-event results.
  asgi     the whole FastAPI app called in-process (no socket): + routing, token, body,
           response, middleware.
  http     the real app under uvicorn (uvloop, h11, no access log: as `kommunepuls serve
           ingest`) in a child process with 1 and 2 workers, `--clients` concurrent httpx
           clients in this process, loopback only. The relay (and the Kafka ingress) are
           off: the relay reads the store back and publishes to Kafka and is measured on
           its own; here it would only share the two cores.

`intake`, `asgi` and `http` keep `--clients` requests in flight, so one batch's validation
overlaps another's COPY, as in production. All phases run `--rounds` times, interleaved,
and the best round of each is reported (with every round's figure): on a shared machine
other load only ever slows a phase down, and the ceiling and the HTTP figure should both
be what the machine does when left alone. Each phase also reports the CPU each process
group used (/proc utime + stime: the ingest process(es), PostgreSQL, the client), per event.
The breakdown then times each CPU step of a request (process time, 20 batches, fresh data)
in microseconds per event: what limits the HTTP figure.

The parts, one job each: `ingest_events` (the events and rows), `ingest_phases` (the
phases), `ingest_server` (uvicorn in a child process), `ingest_breakdown` (CPU per step),
`ingest_report` (the figures and their table), `cpu` (/proc accounting); this module runs
them and prints the report.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from bench.cpu import CpuMeter, family
from bench.ingest_breakdown import breakdown
from bench.ingest_events import (
    JWT_SECRET,
    MUNICIPALITIES,
    PSEUDONYM_KEY,
    batches,
    copy_rows,
    make_events,
    new_event,
)
from bench.ingest_phases import (
    Database,
    asgi_phase,
    copy_phase,
    http_phase,
    intake_phase,
    store_phase,
)
from bench.ingest_report import Report
from bench.ingest_server import ingest_server
from kommunepuls.auth import Principal, Role, issue_token
from kommunepuls.embedded.broker import free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres

# bench.ingress builds on these (the same events, token and accounting).
__all__ = [
    "JWT_SECRET",
    "MUNICIPALITIES",
    "CpuMeter",
    "Database",
    "family",
    "main",
    "make_events",
    "measure",
]


async def measure(database_url: str, *, events: int, batch: int = 1000, clients: int = 4,
                  workers: Sequence[int] = (1, 2), rounds: int = 1,
                  log: Callable[[str], None] = lambda _: None) -> Report:
    """Every phase on `events` events against the PostgreSQL at `database_url` (which must
    run on this machine for its CPU to be counted), `rounds` times, interleaved, so that
    the ceiling and the HTTP figures are measured under the same conditions."""
    report = Report(events=events, batch=batch, clients=clients, rounds=rounds)
    load_before = os.getloadavg()[0]
    data_dir = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-"))
    database = Database(database_url, uuid.uuid4().hex[:8], data_dir)
    key, secret = PSEUDONYM_KEY.encode(), JWT_SECRET.encode()
    token = issue_token(secret, subject="bench", role=Role.fagsystem,
                        municipalities=list(MUNICIPALITIES))
    principal = Principal(subject="bench", role=Role.fagsystem,
                          municipalities=frozenset(MUNICIPALITIES))
    try:
        log(f"preparing {events:,} events")
        values = make_events(events)
        bodies = [orjson.dumps(b) for b in batches(values, batch)]
        new_events = [new_event(v, key) for v in values]
        rows = copy_rows(new_events)
        warm_count = clients * 2 * 200
        warm_up = [orjson.dumps(b) for b in batches(make_events(warm_count, seed=7), 200)]
        del values
        # What this process prepared lives to the end: keep the collector from re-scanning it
        # in every phase (a server process does not hold 100,000 prepared events).
        gc.collect()
        gc.freeze()
        for number in range(1, rounds + 1):
            log(f"round {number}: copy (the ceiling), one COPY of all rows, store append")
            report.add("copy", await copy_phase(
                database, await database.fresh(f"r{number}_copy"), rows, batch))
            report.add("copy, one COPY of all rows", await copy_phase(
                database, await database.fresh(f"r{number}_copy_all"), rows, len(rows)))
            report.add("store append", await store_phase(
                database, await database.fresh(f"r{number}_store"), new_events, batch))

            log(f"round {number}: intake and asgi in-process")
            settings = await database.fresh(f"r{number}_intake")
            report.add("intake, in-process",
                       await intake_phase(database, settings, bodies, clients, principal))
            _check(await database.count(settings), events, "intake")
            settings = await database.fresh(f"r{number}_asgi")
            report.add("asgi, in-process",
                       await asgi_phase(database, settings, bodies, clients, token))
            _check(await database.count(settings), events, "asgi")

            for count in workers:
                name = f"http, {count} uvicorn worker{'s' if count > 1 else ''}"
                log(f"round {number}: {name}")
                settings = await database.fresh(f"r{number}_http{count}")
                with ingest_server(settings, count) as (url, pid):
                    report.add(name, await http_phase(database, url, pid, bodies, warm_up,
                                                      clients, token))
                _check(await database.count(settings), events + warm_count, name)

        log("breakdown")
        report.breakdown = breakdown(bodies[:20], key, principal,
                                     report.phases["store append"],
                                     report.phases["asgi, in-process"])
    finally:
        gc.unfreeze()
        await database.drop_all()
        shutil.rmtree(data_dir, ignore_errors=True)
    report.load = (load_before, os.getloadavg()[0])
    return report


def _check(stored: int, expected: int, phase: str) -> None:
    if stored != expected:
        raise RuntimeError(f"{phase}: {stored} events stored, expected {expected}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000, help="events per phase")
    parser.add_argument("--batch", type=int, default=1000, help="events per request / COPY")
    parser.add_argument("--clients", type=int, default=4, help="concurrent requests")
    parser.add_argument("--workers", default="1,2",
                        help="uvicorn worker counts to measure, comma-separated")
    parser.add_argument("--rounds", type=int, default=3,
                        help="repeat every phase, interleaved; report the best of each")
    parser.add_argument("--quick", action="store_true",
                        help="20,000 events per phase, 2 rounds")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--no-ingress", action="store_true",
                        help="skip the Kafka ingress figure (issue 9) beside the HTTP one")
    args = parser.parse_args(argv)
    events, rounds = (20_000, 2) if args.quick else (args.events, args.rounds)
    workers = [int(w) for w in args.workers.split(",") if w]

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    root = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-pg-"))
    log("starting PostgreSQL")
    server = EmbeddedPostgres(root / "data", delete_on_stop=True).start()
    try:
        asyncio.run(server.ensure_database())
        report = asyncio.run(measure(server.url(), events=events, batch=args.batch,
                                     clients=args.clients, workers=workers,
                                     rounds=rounds, log=log))
        ingress = None if args.no_ingress else _ingress_figure(server.url(), events, log)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("\n".join(report.lines()))
    if args.json:
        args.json.write_bytes(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2))
    name, best = report.best_http()
    print(f"\nbest HTTP: {best.rate:,.0f} events/s ({name}) = "
          f"{best.rate / report.ceiling:.0%} of the COPY ceiling "
          f"({report.ceiling:,.0f} events/s)")
    if ingress is not None:
        print(f"Kafka ingress (client -> topic -> store, same run): {ingress:,.0f} events/s = "
              f"{ingress / best.rate:.2f} x the best HTTP figure")


def _ingress_figure(database_url: str, events: int, log: Callable[[str], None]) -> float:
    """The same store fed through the Kafka ingress, measured by bench.ingress."""
    from bench.ingress import measure as measure_ingress
    from kommunepuls.embedded.broker import TansuBroker

    log("starting the broker for the ingress figure")
    broker = TansuBroker(free_port()).start()
    try:
        assert broker.process is not None
        report = asyncio.run(measure_ingress(database_url, broker.bootstrap_servers,
                                             events=min(events, 50_000),
                                             broker_pid=broker.process.pid, log=log))
    finally:
        broker.stop()
    return report.rate


if __name__ == "__main__":
    main()
