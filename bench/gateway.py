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

Parts: bench/gateway_setup.py (read models, requests), gateway_apps.py (the servers),
gateway_cpu.py (CPU in-process), open_loop.py (the load).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvloop

from bench.gateway_apps import BODIES_ENV, UNCACHED_ENV, server
from bench.gateway_cpu import cpu_per_request
from bench.gateway_setup import JWT_SECRET, RANKING, SCHEMA, VALUES, fill
from bench.open_loop import HEADER, Result, load
from kommunepuls.auth import Role, issue_token
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.reference import municipalities


def measure(url: str, *, rate: float, seconds: float, warm_up: float, connections: int,
            workers: Sequence[int] = (1,), uncached: Sequence[int] = (1,), http: str = "auto",
            rounds: int = 6, cpu_requests: int = 500,
            log: Any = print) -> tuple[int, list[tuple[str, float]], list[Result]]:
    rows = asyncio.run(fill(url))
    log(f"read models: {rows:,} indicator_counts rows")
    token = issue_token(JWT_SECRET.encode(), subject="bench", role=Role.municipality,
                        municipalities=["851"])
    log(f"CPU per request in-process, {cpu_requests} requests each")
    cpu = uvloop.run(cpu_per_request(url, token, cpu_requests))
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
