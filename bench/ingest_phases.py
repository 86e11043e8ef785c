"""The ingest benchmark's phases, each on a freshly migrated schema of its own: raw COPY
(the ceiling), the store's append, intake in-process, the ASGI app in-process, and HTTP."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx
import orjson
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from bench.cpu import CpuMeter, family, proc_stat
from bench.ingest_events import JWT_SECRET, PSEUDONYM_KEY, TODAY, batches
from bench.ingest_report import Phase
from bench.ingest_server import RATE_LIMIT_OFF
from kommunepuls.auth import Principal
from kommunepuls.config import Settings
from kommunepuls.storage.db import connect, create_pool
from kommunepuls.storage.event_store import COLUMNS, NewEvent, append
from kommunepuls.storage.migrate import migrate
from services.ingest.app import create_app
from services.ingest.bodies import json_items
from services.ingest.gc_tuning import restore_gc, tune_gc
from services.ingest.intake import IntakeMetrics, ingest_items


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
            stat = proc_stat(int(await conn.fetchval("SELECT pg_backend_pid()")))
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


_Item = TypeVar("_Item")


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


async def _one_batch_after_another(
        database: Database, settings: Settings, items: Sequence[_Item], batch: int,
        write: Callable[[asyncpg.Connection, Sequence[_Item]], Awaitable[object]]) -> Phase:
    """`write(conn, chunk)` for each `batch` of `items` in turn, on one connection."""
    conn = await connect(settings)
    meter = CpuMeter({"ingest": _this_process, "postgres": database.postgres_pids})
    try:
        meter.start()
        started = time.perf_counter()
        for chunk in batches(items, batch):
            await write(conn, chunk)
        seconds = time.perf_counter() - started
        return Phase(len(items), seconds, cpu=meter.stop())
    finally:
        await conn.close()


async def copy_phase(database: Database, settings: Settings, rows: list[tuple[Any, ...]],
                     batch: int) -> Phase:
    """Raw COPY, one transaction per `batch` rows, nothing else: the ceiling."""
    async def copy(conn: asyncpg.Connection, chunk: Sequence[tuple[Any, ...]]) -> None:
        await conn.copy_records_to_table("events", records=chunk, columns=COLUMNS)

    return await _one_batch_after_another(database, settings, rows, batch, copy)


async def store_phase(database: Database, settings: Settings, events: list[NewEvent],
                      batch: int) -> Phase:
    """event_store.append, one batch after the other on one connection."""
    return await _one_batch_after_another(database, settings, events, batch, append)


async def intake_phase(database: Database, settings: Settings, bodies: list[bytes],
                       clients: int, principal: Principal) -> Phase:
    """ingest_items in-process, `clients` requests at a time (JSON parse included), with
    the collector tuned as the app's startup tunes it."""
    pool = await create_pool(settings)
    metrics = IntakeMetrics(CollectorRegistry())
    key = settings.secret("pseudonym_key")

    async def run(body: bytes) -> int:
        items = json_items(body)  # as the route parses a body
        result = await ingest_items(items, principal=principal, pool=pool,
                                    pseudonym_key=key, metrics=metrics, today=TODAY)
        return result.accepted

    meter = CpuMeter({"ingest": _this_process, "postgres": database.postgres_pids})
    thresholds = tune_gc()
    try:
        return await _concurrently(clients, bodies, run, meter)
    finally:
        restore_gc(thresholds)
        gc.freeze()  # what measure() froze (restore_gc unfreezes everything)
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

    async def send(message: MutableMapping[str, Any]) -> None:
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
    try:
        async with app.router.lifespan_context(app):  # opens and closes the pool
            return await _concurrently(clients, bodies, run, meter)
    finally:
        # The app's shutdown unfreezes the collector's frozen objects (gc_tuning), which
        # includes what measure() froze: freeze it again for the phases that follow.
        gc.freeze()



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

