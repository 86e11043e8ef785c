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
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from kommunepuls.auth import Principal, Role, issue_token
from kommunepuls.config import Settings, load_settings
from kommunepuls.domain.events import EXAMPLES, data_json, parse_event
from kommunepuls.domain.identifiers import citizen_id
from kommunepuls.embedded.broker import free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import die_with_parent
from kommunepuls.storage.db import connect, create_pool
from kommunepuls.storage.event_store import COLUMNS, NewEvent, append, body_hash
from kommunepuls.storage.migrate import migrate
from services.ingest.app import create_app
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items, pseudonymiser

ROOT = Path(__file__).resolve().parent.parent
PSEUDONYM_KEY = "bench-pseudonym-key-" + "k" * 32
JWT_SECRET = "bench-jwt-secret-" + "s" * 32
# No 751 here: the relocated example moves to 751, which must differ from municipality.
MUNICIPALITIES = ("851", "101", "461", "561", "147")
# A jobcentre's traffic, roughly: monthly hours reports and samtaler dominate.
TYPE_WEIGHTS = {
    "ordinary_hours": 25, "samtale": 20, "tilbud_started": 8, "tilbud_ended": 8,
    "caseworker_assigned": 6, "visitation": 5, "visitation_ended": 3, "sygemelding": 5,
    "raskmelding": 5, "exemption_started": 2, "exemption_ended": 2, "afklaret": 3,
    "relocated": 1, "cvr_registered": 1, "cvr_ceased": 1, "event_retracted": 1,
}
EVENTS_PER_CITIZEN = 30
# All requests carry one token, and the per-token limit (50 requests/s by default) would
# cap the figure at 50,000 events/s: it is a guard against runaway senders, not the path
# measured here, so the benchmark lifts it (its cost per request stays in the figures).
RATE_LIMIT_OFF = 1e9
TODAY = date(2021, 1, 1)  # the receiving day for in-process validation (events are 2018-20)
SUMMARY_ROWS = ("sum of the steps", "whole request, ASGI in-process (measured)",
                "append: PostgreSQL (measured, other processes)")


# --- the events -----------------------------------------------------------------------

def make_events(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """`count` valid envelopes from the contract's examples, with distinct event_ids,
    ~30 events per citizen (CPR), each citizen in one municipality, dates in 2018-2020."""
    rng = random.Random(seed)
    citizens = [(_cpr(rng), rng.choice(MUNICIPALITIES))
                for _ in range(max(1, count // EVENTS_PER_CITIZEN))]
    kinds, weights = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    events = []
    for kind in rng.choices(kinds, weights, k=count):
        event: dict[str, Any] = orjson.loads(orjson.dumps(EXAMPLES[kind]))  # a deep copy
        cpr, municipality = rng.choice(citizens)
        event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event["cpr"] = cpr
        event["municipality"] = municipality
        event["occurred_at"] = (date(2018, 1, 1) + timedelta(days=rng.randrange(1096))).isoformat()
        event["case_ref"] = f"SAG-{rng.randrange(100_000)}"
        events.append(event)
    return events


def _cpr(rng: random.Random) -> str:
    # Day 1-28 keeps every DDMMYY a real date; the serial is free (no modulus-11 check).
    return (f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(40, 99):02d}"
            f"{rng.randrange(10_000):04d}")


def batches(events: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(events[i:i + size]) for i in range(0, len(events), size)]


def new_event(value: dict[str, Any], key: bytes) -> NewEvent:
    """The row ingest would store for `value`: validated, pseudonymised, hashed."""
    event = parse_event(value, today=TODAY)
    pseudonym = citizen_id(event.cpr, key)
    data = data_json(event)
    return _new_event(event, pseudonym, data,
                      body_hash(key, stored_fields(event, pseudonym, data)))


def copy_rows(events: Sequence[NewEvent]) -> list[tuple[Any, ...]]:
    """The tuples `append` hands to COPY, in COLUMNS order, positions 1..n."""
    now = datetime.now(UTC)
    return [(n, e.event_id, e.citizen_id, e.municipality, e.type, e.schema_version,
             e.occurred_at, now, e.source, e.case_ref, dict(e.data), e.body_hash)
            for n, e in enumerate(events, start=1)]


# --- the report -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Phase:
    """One measured phase: events stored, wall seconds, request latencies, and the CPU
    seconds each process group spent meanwhile (ingest, PostgreSQL, client; /proc)."""

    events: int
    seconds: float
    latencies: tuple[float, ...] = ()
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def percentiles(self) -> tuple[float, float] | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1,
                                                         int(len(ordered) * 0.95))]

    def cpu_per_event(self, group: str) -> float | None:
        seconds = self.cpu.get(group)
        return None if seconds is None else seconds / self.events * 1e6


@dataclass(slots=True)
class Report:
    events: int
    batch: int
    clients: int
    rounds: int = 1
    phases: dict[str, Phase] = field(default_factory=dict)  # the best round of each phase
    rates: dict[str, list[float]] = field(default_factory=dict)  # every round's events/s
    breakdown: dict[str, float] = field(default_factory=dict)  # step -> µs per event
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after

    def add(self, name: str, phase: Phase) -> None:
        # Best of the rounds: on a shared machine other load only ever slows a phase down.
        self.rates.setdefault(name, []).append(phase.rate)
        if name not in self.phases or phase.rate > self.phases[name].rate:
            self.phases[name] = phase

    @property
    def ceiling(self) -> float:
        return self.phases["copy"].rate

    def best_http(self) -> tuple[str, Phase]:
        http = {k: v for k, v in self.phases.items() if k.startswith("http")}
        name = max(http, key=lambda k: http[k].rate)
        return name, http[name]

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "batch": self.batch, "clients": self.clients,
                "rounds": self.rounds, "load": self.load, "ceiling": self.ceiling,
                "breakdown": self.breakdown,
                "phases": {name: {"rate": p.rate, "rates": self.rates[name],
                                  "seconds": p.seconds, "cpu": p.cpu,
                                  "p50_p95": p.percentiles()}
                           for name, p in self.phases.items()}}

    def lines(self) -> Iterator[str]:
        yield (f"{self.events:,} events per phase, batches of {self.batch:,}, "
               f"{self.clients} concurrent clients, best of {self.rounds} round(s); load "
               f"average {self.load[0]:.2f} before, {self.load[1]:.2f} after")
        yield ""
        yield ("| phase | events/s (best) | of COPY ceiling | all rounds | request p50 / p95 "
               "| CPU µs/event: ingest / PostgreSQL / client | cores busy |")
        yield "|---|---:|---:|---:|---:|---:|---:|"
        for name, phase in self.phases.items():
            lat = phase.percentiles()
            lat_text = f"{lat[0] * 1000:.0f} / {lat[1] * 1000:.0f} ms" if lat else ""
            cpu = [phase.cpu_per_event(g) for g in ("ingest", "postgres", "client")]
            cpu_text = " / ".join("–" if c is None else f"{c:.0f}" for c in cpu)
            busy = sum(phase.cpu.values()) / phase.seconds
            every = ", ".join(f"{r / 1000:.1f}k" for r in self.rates[name])
            yield (f"| {name} | {phase.rate:,.0f} | {phase.rate / self.ceiling:.0%} | "
                   f"{every} | {lat_text} | {cpu_text} | {busy:.2f} |")
        if self.breakdown:
            yield ""
            yield "| step of POST /v1/events (CPU, in-process) | µs/event | share |"
            yield "|---|---:|---:|"
            total = self.breakdown["sum of the steps"]
            for name, micros in self.breakdown.items():
                share = f"{micros / total:.0%}" if name not in SUMMARY_ROWS else ""
                yield f"| {name} | {micros:.1f} | {share} |"


# --- CPU accounting -------------------------------------------------------------------

def _proc_stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # the fields after "(comm)"; comm may hold spaces


def family(root: int) -> list[int]:
    """`root` and all its descendants (uvicorn's workers, PostgreSQL's backends)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))):
            children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the live processes in `pids` (0 off Linux)."""
    ticks = 0
    for pid in pids:
        if stat := _proc_stat(pid):
            ticks += int(stat[11]) + int(stat[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds of the process groups of a phase between `start()` and `stop()`."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self._start: dict[str, dict[int, float]] = {}

    def start(self) -> None:
        self._start = {name: {pid: cpu_seconds([pid]) for pid in pids()}
                       for name, pids in self.groups.items()}

    def stop(self) -> dict[str, float]:
        # A process that started during the phase (a pool's new backend) counts in full;
        # one that ended during it is lost, which none of ours does.
        return {name: sum(cpu_seconds([pid]) - self._start[name].get(pid, 0.0)
                          for pid in pids())
                for name, pids in self.groups.items()}


# --- phases ---------------------------------------------------------------------------

class Database:
    """Fresh migrated schemas on one PostgreSQL database, dropped at the end."""

    def __init__(self, url: str, tag: str, data_dir: Path) -> None:
        self.url, self.tag, self.data_dir = url, tag, data_dir
        self.schemas: list[str] = []
        self.postmaster: int | None = None

    def settings(self, schema: str) -> Settings:
        return Settings(profile="embedded", data_dir=self.data_dir, database_url=self.url,
                        database_schema=schema, pseudonym_key=PSEUDONYM_KEY,  # type: ignore[arg-type]
                        jwt_secret=JWT_SECRET, log_level="WARNING",  # type: ignore[arg-type]
                        log_format="console", ingest_rate_limit_per_s=RATE_LIMIT_OFF,
                        ingest_rate_limit_burst=RATE_LIMIT_OFF)

    async def fresh(self, phase: str) -> Settings:
        schema = f"bench_{self.tag}_{phase}"
        settings = self.settings(schema)
        conn = await connect(settings)
        try:
            await migrate(conn, schema)
            # The server runs here (loopback or a Unix socket): its postmaster is the parent
            # of our backend, and the root of the processes whose CPU we count.
            stat = _proc_stat(int(await conn.fetchval("SELECT pg_backend_pid()")))
            self.postmaster = int(stat[1]) if stat else None
        finally:
            await conn.close()
        self.schemas.append(schema)
        return settings

    def postgres_pids(self) -> list[int]:
        return family(self.postmaster) if self.postmaster else []

    async def count(self, settings: Settings) -> int:
        conn = await connect(settings)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM events"))
        finally:
            await conn.close()

    async def drop_all(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            for schema in self.schemas:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


def _this_process() -> list[int]:
    return [os.getpid()]


async def _concurrently(clients: int, jobs: Sequence[Any], run: Callable[[Any], Awaitable[int]],
                        meter: CpuMeter) -> Phase:
    """`run(job)` for every job on `clients` concurrent tasks; `run` returns events stored."""
    queue = list(reversed(jobs))
    latencies: list[float] = []
    stored = 0

    async def worker() -> None:
        nonlocal stored
        while queue:
            job = queue.pop()
            started = time.perf_counter()
            count = await run(job)  # not `stored += await ...`: that would lose updates
            stored += count
            latencies.append(time.perf_counter() - started)

    meter.start()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    seconds = time.perf_counter() - started
    return Phase(stored, seconds, tuple(latencies), meter.stop())


async def copy_phase(database: Database, settings: Settings, rows: list[tuple[Any, ...]],
                     batch: int) -> Phase:
    """Raw COPY, one transaction per `batch` rows, nothing else: the ceiling."""
    conn = await connect(settings)
    meter = CpuMeter({"ingest": _this_process, "postgres": database.postgres_pids})
    try:
        meter.start()
        started = time.perf_counter()
        for chunk in batches(rows, batch):
            await conn.copy_records_to_table("events", records=chunk, columns=COLUMNS)
        seconds = time.perf_counter() - started
        return Phase(len(rows), seconds, cpu=meter.stop())
    finally:
        await conn.close()


async def store_phase(database: Database, settings: Settings, events: list[NewEvent],
                      batch: int) -> Phase:
    """event_store.append, one batch after the other on one connection."""
    conn = await connect(settings)
    meter = CpuMeter({"ingest": _this_process, "postgres": database.postgres_pids})
    try:
        meter.start()
        started = time.perf_counter()
        for chunk in batches(events, batch):
            await append(conn, chunk)
        seconds = time.perf_counter() - started
        return Phase(len(events), seconds, cpu=meter.stop())
    finally:
        await conn.close()


async def intake_phase(database: Database, settings: Settings, bodies: list[bytes],
                       clients: int, principal: Principal) -> Phase:
    """ingest_items in-process, `clients` requests at a time (JSON parse included)."""
    pool = await create_pool(settings)
    metrics = IntakeMetrics(CollectorRegistry())
    key = settings.secret("pseudonym_key")

    async def run(body: bytes) -> int:
        items = [RawItem(v) for v in orjson.loads(body)]
        result = await ingest_items(items, principal=principal, pool=pool,
                                    pseudonym_key=key, metrics=metrics, today=TODAY)
        return result.accepted

    meter = CpuMeter({"ingest": _this_process, "postgres": database.postgres_pids})
    try:
        return await _concurrently(clients, bodies, run, meter)
    finally:
        await pool.close()


async def call_asgi(app: FastAPI, body: bytes, headers: list[tuple[bytes, bytes]]
                    ) -> tuple[int, bytes]:
    """One POST /v1/events straight into the ASGI app, as uvicorn would make it."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/events", "raw_path": b"/v1/events",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8001),
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
    }
    done = asyncio.Event()
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()  # a client that stays connected until it has its answer
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                done.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def asgi_phase(database: Database, settings: Settings, bodies: list[bytes],
                     clients: int, token: str) -> Phase:
    """The whole FastAPI app in-process: routing, token, body, response, middleware."""
    app = create_app(settings, relay=False)
    headers = [(b"host", b"127.0.0.1:8001"), (b"content-type", b"application/json"),
               (b"authorization", f"Bearer {token}".encode())]

    async def run(body: bytes) -> int:
        status, answer = await call_asgi(app, body, headers)
        if status != 200:
            raise RuntimeError(f"asgi: {status} {answer[:300]!r}")
        return int(orjson.loads(answer)["accepted"])

    meter = CpuMeter({"ingest": _this_process, "postgres": database.postgres_pids})
    async with app.router.lifespan_context(app):  # opens and closes the pool
        return await _concurrently(clients, bodies, run, meter)


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
    env = {**os.environ,
           "KOMMUNEPULS_PROFILE": "embedded", "KOMMUNEPULS_DATA_DIR": str(settings.data_dir),
           "DATABASE_URL": settings.database_url,
           "KOMMUNEPULS_DATABASE_SCHEMA": settings.database_schema or "",
           "KOMMUNEPULS_PSEUDONYM_KEY": PSEUDONYM_KEY, "KOMMUNEPULS_JWT_SECRET": JWT_SECRET,
           "KOMMUNEPULS_LOG_LEVEL": "WARNING", "KOMMUNEPULS_LOG_FORMAT": "console",
           "KOMMUNEPULS_INGEST_RATE_LIMIT_PER_S": str(RATE_LIMIT_OFF),
           "KOMMUNEPULS_INGEST_RATE_LIMIT_BURST": str(RATE_LIMIT_OFF),
           "PYTHONPATH": str(ROOT)}
    # The same server options as `kommunepuls serve ingest` (uvloop, no access log).
    command = [sys.executable, "-m", "uvicorn", "bench.ingest:server_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--loop", "uvloop", "--no-access-log", "--no-server-header",
               "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               preexec_fn=die_with_parent)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {process.returncode}")
            try:
                if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the ingest server did not become ready")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def http_phase(database: Database, url: str, server_pid: int, bodies: list[bytes],
                     warm_up: list[bytes], clients: int, token: str) -> Phase:
    """POST the batches over loopback with `clients` concurrent connections."""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=120) as client:

        async def run(body: bytes) -> int:
            response = await client.post("/v1/events", content=body)
            if response.status_code != 200:
                raise RuntimeError(f"http: {response.status_code} {response.text[:300]}")
            return int(orjson.loads(response.content)["accepted"])

        # Warm every worker's pool and code paths; neither timed nor counted.
        idle = CpuMeter({})
        await _concurrently(clients, warm_up, run, idle)
        meter = CpuMeter({"ingest": lambda: family(server_pid),
                          "postgres": database.postgres_pids, "client": _this_process})
        return await _concurrently(clients, bodies, run, meter)


# --- breakdown ------------------------------------------------------------------------

@contextmanager
def _cpu(micros: dict[str, float], name: str, n: int) -> Iterator[None]:
    """CPU time of the block, in µs per event (CPU, not wall: other load on the machine
    delays a step but does not make it cost more)."""
    started = time.process_time()
    yield
    micros[name] = micros.get(name, 0.0) + (time.process_time() - started) / n * 1e6


def breakdown(bodies: list[bytes], key: bytes, principal: Principal, store: Phase,
              asgi: Phase) -> dict[str, float]:
    """CPU µs per event of each step of POST /v1/events, as the server does them.

    One pass per step over every event, in the order of the request, each step on the
    previous step's fresh output (repeating one small batch would flatter every step
    with warm caches). The append's CPU is the store phase's (this process's share:
    rows, COPY encoding, the duplicate lookup); PostgreSQL's own CPU is shown beside it.
    """
    gc.collect()
    micros: dict[str, float] = {}
    n = sum(len(orjson.loads(body)) for body in bodies)
    with _cpu(micros, "JSON parse (orjson) + RawItem", n):
        items = [RawItem(v) for body in bodies for v in orjson.loads(body)]
    assert len(items) == n
    with _cpu(micros, "validation (parse_event: pydantic + the contract's validators)", n):
        parsed = [parse_event(item.value, today=TODAY) for item in items]
    with _cpu(micros, "scope check (may_act_for)", n):
        for event in parsed:
            principal.may_act_for(event.municipality)
    with _cpu(micros, "pseudonym (HMAC-SHA256 of the CPR)", n):
        pseudonym = pseudonymiser(key)
        pseudonyms = [pseudonym(e.cpr) for e in parsed]
    with _cpu(micros, "data as JSON (model_dump)", n):
        datas = [data_json(e) for e in parsed]
    with _cpu(micros, "stored fields (dict)", n):
        fields = [stored_fields(e, p, d) for e, p, d in zip(parsed, pseudonyms, datas,
                                                            strict=True)]
    with _cpu(micros, "body hash (canonical JSON + HMAC)", n):
        hashes = [body_hash(key, f) for f in fields]
    with _cpu(micros, "NewEvent (UUID + frozen dataclass)", n):
        for e, p, d, h in zip(parsed, pseudonyms, datas, hashes, strict=True):
            _new_event(e, p, d, h)
    micros["append: this process (rows, COPY encoding, lookup)"] = store.cpu["ingest"] / \
        store.events * 1e6
    with _cpu(micros, "results + response JSON (orjson)", n):
        results = [{"index": i, "event_id": e.event_id, "status": "accepted",
                    "position": i + 1, "problem": None} for i, e in enumerate(parsed)]
        orjson.dumps({"accepted": n, "duplicates": 0, "rejected": 0, "results": results})
    micros["sum of the steps"] = sum(micros.values())
    micros["whole request, ASGI in-process (measured)"] = asgi.cpu["ingest"] / asgi.events * 1e6
    micros["append: PostgreSQL (measured, other processes)"] = \
        store.cpu["postgres"] / store.events * 1e6
    return micros


def stored_fields(event: Any, pseudonym: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"citizen_id": pseudonym, "municipality": event.municipality, "type": event.type,
            "schema_version": event.schema_version,
            "occurred_at": event.occurred_at.isoformat(), "source": event.source,
            "case_ref": event.case_ref, "data": data}


def _new_event(event: Any, pseudonym: str, data: dict[str, Any], digest: bytes) -> NewEvent:
    return NewEvent(event_id=uuid.UUID(event.event_id), citizen_id=pseudonym,
                    municipality=event.municipality, type=event.type,
                    schema_version=event.schema_version, occurred_at=event.occurred_at,
                    source=event.source, case_ref=event.case_ref, data=data, body_hash=digest)


# --- the run --------------------------------------------------------------------------

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
