"""Gateway latency (issue 4): p50/p99 of `values` and `ranking` at a fixed request rate,
against a bare ASGI endpoint returning the same JSON, measured in one run on this machine.

    .venv/bin/python -m bench.gateway [--rate 1000] [--seconds 30] [--rounds 6]
                                      [--workers 1,2] [--uncached 1] [--quick]

Read models: every catalogue indicator for the 98 municipalities, 25 calendar periods
(2017-08..2019-08; the curve's 29 months), each group, 4 metrics partitions (~124k rows of
indicator_counts) in a freshly migrated schema of an embedded PostgreSQL.

Servers, each a child process under uvicorn with the options of `kommunepuls serve`
(uvloop, httptools when installed, no access log), `--workers` uvicorn workers:
  gateway           the real app (`create_app`) with its response cache: a repeated question
                    is answered from memory (token remembered until exp, read-model version
                    polled every 250 ms).
  gateway uncached  the same app built with `response_cache=False`: token check, parameter
                    checks, one indexed query per request, pydantic response, middleware
                    (what every answer cost before the cache; `--uncached ''` skips it).
  bare              a plain ASGI callable that answers every request with the gateway's own
                    JSON for that route, fetched once before the run: the ceiling of uvicorn
                    + loopback.

Before the servers, CPU per request in-process (the ASGI app called directly, no sockets,
`time.process_time`): the numbers least disturbed by a busy machine.

Load: open loop. Requests are scheduled at exactly `rate` per second over `--connections`
keep-alive connections from this process (asyncio streams, uvloop); a request's latency
runs from its scheduled time to the last byte of the response, so a slow server cannot
hide its queueing by slowing the client down (no coordinated omission). All servers run
at once and are measured in turn, in `--rounds` interleaved slices of `--seconds / rounds`
each (rotated every round), so a load that drifts on a shared machine hits them alike; a
row pools its slices. `values` cycles
through the 98 municipalities; `ranking` asks for one period (all 98 municipalities,
about 20 kB of JSON). Everything shares this machine's cores with PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from bench.uvicorn_child import uvicorn_child
from kommunepuls.auth import Role, issue_token
from kommunepuls.domain import indicators as engine
from kommunepuls.domain.catalogue import Population
from kommunepuls.embedded.broker import free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.reference import municipalities
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate

SCHEMA = "bench_gateway"
JWT_SECRET = "bench-jwt-secret-" + "s" * 32
PERIODS = [f"{2017 + (7 + m) // 12}-{(7 + m) % 12 + 1:02d}" for m in range(25)]  # ..2019-08
PARTITIONS = 4
BODIES_ENV = "KOMMUNEPULS_BENCH_BODIES"
UNCACHED_ENV = "KOMMUNEPULS_BENCH_UNCACHED"
VALUES = "/v1/indicators/fsm_virksomhedsforloeb/values?municipality={}&period=2019-06"
RANKING = "/v1/indicators/fsm_virksomhedsforloeb/ranking?period=2019-06"


async def fill(url: str) -> int:
    """Read models of a plausible size; returns the number of indicator_counts rows."""
    rng = random.Random(4)
    now = datetime.now(UTC)
    rows = []
    for definition in engine.CATALOGUE:
        curve = definition.population is Population.MONTHS_SINCE_VISITATION
        periods = [engine.curve_period(m) for m in range(1, 30)] if curve else PERIODS
        for code in municipalities():
            for group in definition.groups:
                for period in periods:
                    for partition in range(PARTITIONS):
                        denominator = rng.randint(0, 120)
                        numerator = rng.randint(0, denominator)
                        rows.append((definition.id, code, period, group, partition, numerator,
                                     denominator, 1_000_000, now))
    conn = await connect_to(url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        await migrate(conn, SCHEMA)
        await conn.copy_records_to_table("indicator_counts", records=rows)
        await conn.execute("UPDATE event_store_head SET position = 1000000")
        await conn.executemany("INSERT INTO checkpoints (name, position) VALUES ($1, $2)",
                               [(f"metrics:p{p}", 1_000_000) for p in range(PARTITIONS)])
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return len(rows)


async def connect_to(url: str) -> Any:
    from kommunepuls.config import Settings

    return await connect(Settings(profile="embedded", database_url=url,
                                  jwt_secret=JWT_SECRET, pseudonym_key=JWT_SECRET))


def gateway_app() -> Any:
    """uvicorn factory for the gateway child (settings from the environment)."""
    from kommunepuls.config import load_settings
    from kommunepuls.logs import configure_logging
    from services.gateway.app import create_app

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, service="gateway")
    return create_app(settings, response_cache=os.environ.get(UNCACHED_ENV) != "1")


def bare_app() -> Any:
    """uvicorn factory for the ceiling: a bare ASGI callable with canned JSON per route."""
    return canned_app({route: body.encode() for route, body in
                       orjson.loads(Path(os.environ[BODIES_ENV]).read_bytes()).items()})


def canned_app(canned: dict[str, bytes]) -> Any:
    headers = {route: [(b"content-type", b"application/json"),
                       (b"content-length", str(len(body)).encode())]
               for route, body in canned.items()}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        route = "ranking" if scope["path"].endswith("/ranking") else "values"
        await send({"type": "http.response.start", "status": 200, "headers": headers[route]})
        await send({"type": "http.response.body", "body": canned[route]})

    return app


@contextmanager
def server(factory: str, env: dict[str, str], workers: int = 1,
           http: str = "auto") -> Iterator[tuple[int, int]]:
    """A uvicorn child process; yields its port and pid once it answers."""
    port = free_port()
    with uvicorn_child(f"bench.gateway:{factory}", port, env, probe="/healthz",
                       workers=workers, extra=("--http", http)) as pid:
        yield port, pid


class Connection:
    """One keep-alive HTTP/1.1 connection; enough HTTP for uvicorn's answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self, request: bytes) -> int:
        self.writer.write(request)
        status = int((await self.reader.readline()).split(b" ", 2)[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


@dataclass
class Result:
    name: str
    sent: int
    seconds: float
    latencies: list[float]  # seconds, of the requests answered 200
    errors: int
    server_cpu: float  # CPU seconds of the server process during the phase

    def merged(self, other: Result) -> Result:
        return Result(self.name, self.sent + other.sent, self.seconds + other.seconds,
                      self.latencies + other.latencies, self.errors + other.errors,
                      self.server_cpu + other.server_cpu)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0

    def line(self) -> str:
        return (f"| {self.name} | {self.sent / self.seconds:,.0f} | {self.percentile(0.5):.2f} "
                f"| {self.percentile(0.9):.2f} | {self.percentile(0.99):.2f} "
                f"| {max(self.latencies, default=0) * 1000:.1f} | {self.errors} "
                f"| {self.server_cpu / self.seconds:.0%} |")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(root: int) -> float:
    """User + system CPU seconds of `root` and its children (uvicorn's workers)."""
    pids = [root] + [int(e.name) for e in Path("/proc").iterdir()
                     if e.name.isdigit() and (st := _stat(int(e.name))) and int(st[1]) == root]
    ticks = sum(int(st[11]) + int(st[12]) for pid in pids if (st := _stat(pid)))
    return ticks / os.sysconf("SC_CLK_TCK")


async def load(name: str, port: int, pid: int, paths: Sequence[str], token: str, rate: float,
               seconds: float, connections: int) -> Result:
    """Open-loop load: request i is due at start + i / rate, whatever came back."""
    requests = [(f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 f"Accept: application/json\r\n\r\n").encode() for p in paths]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(*await asyncio.open_connection("127.0.0.1", port)))
    latencies: list[float] = []
    errors = 0

    async def one(due: float, request: bytes) -> None:
        nonlocal errors
        connection = await pool.get()
        try:
            status = await connection.get(request)
        finally:
            pool.put_nowait(connection)
        if status == 200:
            latencies.append(time.perf_counter() - due)
        else:
            errors += 1

    total = int(rate * seconds)
    cpu_before = cpu_seconds(pid)
    # perf_counter, not loop.time(): uvloop's clock moves in whole milliseconds.
    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(due, requests[i % len(requests)])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    result = Result(name, total, elapsed, latencies, errors, cpu_seconds(pid) - cpu_before)
    while not pool.empty():
        pool.get_nowait().writer.close()
    return result


async def _asgi_get(app: Any, path: str, query: bytes,
                    headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """One request straight into an ASGI app (no socket, no server)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": query, "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    status, body = 0, []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        status = message.get("status", status)
        body.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(body)


async def _cpu_per_request(url: str, token: str, requests: int) -> list[tuple[str, float]]:
    """CPU seconds per request of the gateway without and with its cache, and of the bare
    app, each called in-process."""
    from kommunepuls.config import Settings
    from services.gateway.app import create_app

    settings = Settings(profile="embedded", database_url=url, database_schema=SCHEMA,
                        jwt_secret=JWT_SECRET, pseudonym_key=JWT_SECRET,
                        data_dir=Path(tempfile.mkdtemp(prefix="kommunepuls-bench-gw-")))
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode()),
               (b"accept", b"application/json")]
    targets = {route: (path, query.encode()) for route, (path, _, query) in
               (("values", VALUES.format("851").partition("?")),
                ("ranking", RANKING.partition("?")))}
    canned: dict[str, bytes] = {}
    rows = []

    async def per_request(label: str, app: Any) -> None:
        for route, (path, query) in targets.items():
            for _ in range(20):  # warm: prepared statements, caches
                status, canned[route] = await _asgi_get(app, path, query, headers)
                assert status == 200, canned[route]
            before = time.process_time()
            for _ in range(requests):
                await _asgi_get(app, path, query, headers)
            rows.append((f"{label} {route}", (time.process_time() - before) / requests))

    for cached in (False, True):
        app = create_app(settings, response_cache=cached)
        async with app.router.lifespan_context(app):
            await per_request("gateway" if cached else "gateway uncached", app)
    await per_request("bare ASGI", canned_app(dict(canned)))
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    return rows


def measure(url: str, *, rate: float, seconds: float, warm_up: float, connections: int,
            workers: Sequence[int] = (1,), uncached: Sequence[int] = (1,), http: str = "auto",
            rounds: int = 6, cpu_requests: int = 500,
            log: Any = print) -> tuple[int, list[tuple[str, float]], list[Result]]:
    rows = asyncio.run(fill(url))
    log(f"read models: {rows:,} indicator_counts rows")
    token = issue_token(JWT_SECRET.encode(), subject="bench", role=Role.municipality,
                        municipalities=["851"])
    log(f"CPU per request in-process, {cpu_requests} requests each")
    cpu = uvloop.run(_cpu_per_request(url, token, cpu_requests))
    values = [VALUES.format(code) for code in sorted(municipalities())]
    env = {"KOMMUNEPULS_PROFILE": "embedded", "DATABASE_URL": url,
           "KOMMUNEPULS_DATABASE_SCHEMA": SCHEMA, "KOMMUNEPULS_JWT_SECRET": JWT_SECRET,
           "KOMMUNEPULS_PSEUDONYM_KEY": JWT_SECRET, "KOMMUNEPULS_LOG_LEVEL": "WARNING",
           "KOMMUNEPULS_LOG_FORMAT": "console",
           "KOMMUNEPULS_DATA_DIR": tempfile.mkdtemp(prefix="kommunepuls-bench-gw-")}
    bodies = Path(env["KOMMUNEPULS_DATA_DIR"]) / "bodies.json"
    headers = {"Authorization": f"Bearer {token}"}
    variants = [(f"gateway ({n} worker{'s' if n > 1 else ''})", n, "0") for n in workers]
    variants += [(f"gateway uncached ({n} worker{'s' if n > 1 else ''})", n, "1")
                 for n in uncached]
    routes = (("values", values), ("ranking", [RANKING]))
    totals: dict[tuple[str, str], Result] = {}
    with ExitStack() as stack:
        # Every server up at once, phases interleaved in rounds: on a shared machine the
        # load drifts by the minute, and each server should see the same drift.
        running = []
        for label, count, off in variants:
            port, pid = stack.enter_context(
                server("gateway_app", {**env, UNCACHED_ENV: off}, count, http))
            running.append((label, port, pid))
            if not bodies.exists():
                base = f"http://127.0.0.1:{port}"
                canned = {"values": httpx.get(base + VALUES.format("851"), headers=headers).text,
                          "ranking": httpx.get(base + RANKING, headers=headers).text}
                bodies.write_bytes(orjson.dumps(canned))
        port, pid = stack.enter_context(
            server("bare_app", {**env, BODIES_ENV: str(bodies)}, 1, http))
        running.append(("bare ASGI (1 worker)", port, pid))
        for _label, port, pid in running:
            for _, paths in routes:
                uvloop.run(load("warm-up", port, pid, paths, token, rate, warm_up, connections))
        for round_ in range(rounds):
            log(f"round {round_ + 1}/{rounds}: {rate:,.0f} requests/s, {seconds / rounds:g} s "
                f"per server and route")
            # Rotated each round, so no server always follows the slow uncached one.
            order = running[round_ % len(running):] + running[:round_ % len(running)]
            for route, paths in routes:
                for label, port, pid in order:
                    part = uvloop.run(load(f"{label} {route}", port, pid, paths, token, rate,
                                           seconds / rounds, connections))
                    total = totals.get((label, route))
                    totals[(label, route)] = part if total is None else total.merged(part)
    shutil.rmtree(env["KOMMUNEPULS_DATA_DIR"], ignore_errors=True)
    return rows, cpu, sorted(totals.values(), key=lambda r: (
        r.name.split()[-1] != "values", not r.name.startswith("bare"), r.name))


HEADER = ("| phase | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | server CPU |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")


def _workers(text: str) -> list[int]:
    return [int(w) for w in text.split(",") if w]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30, help="per phase")
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--workers", default="1,2",
                        help="gateway uvicorn worker counts to measure, comma-separated")
    parser.add_argument("--uncached", default="1",
                        help="worker counts of the gateway without its response cache")
    parser.add_argument("--http", default="auto", choices=("auto", "h11", "httptools"),
                        help="uvicorn's HTTP parser (auto = httptools when installed)")
    parser.add_argument("--rounds", type=int, default=6,
                        help="interleaved rounds the seconds of each phase are split into")
    parser.add_argument("--quick", action="store_true", help="200 requests/s for 3 s")
    args = parser.parse_args(argv)
    rate, seconds = (200, 3) if args.quick else (args.rate, args.seconds)

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    root = Path(tempfile.mkdtemp(prefix="kommunepuls-bench-pg-"))
    log("starting PostgreSQL")
    postgres = EmbeddedPostgres(root / "data", delete_on_stop=True).start()
    try:
        asyncio.run(postgres.ensure_database())
        _, cpu, results = measure(
            postgres.url(), rate=rate, seconds=seconds, warm_up=min(3.0, seconds),
            connections=args.connections, workers=_workers(args.workers),
            uncached=_workers(args.uncached), http=args.http,
            rounds=1 if args.quick else args.rounds, cpu_requests=100 if args.quick else 500,
            log=log)
    finally:
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
    print("| in-process, per request | CPU µs |\n|---|---:|")
    for name, cpu_seconds_each in cpu:
        print(f"| {name} | {cpu_seconds_each * 1e6:,.0f} |")
    print()
    print(HEADER)
    for result in results:
        print(result.line())


if __name__ == "__main__":
    main()
