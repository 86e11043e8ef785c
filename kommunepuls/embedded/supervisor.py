"""`kommunepuls up`: the whole platform on one machine, stopped cleanly by Ctrl-C.

Starts the embedded PostgreSQL and Tansu broker, migrates, creates topics, spawns the
four services as child processes (each dies with this one), prefixes their log lines,
waits until all are healthy, starts a service again when it exits, and tears everything
down in reverse order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.live import Live

from kommunepuls.config import Settings
from kommunepuls.embedded import summary
from kommunepuls.embedded.broker import TansuBroker
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import die_with_parent
from kommunepuls.kafka import ensure_topics
from kommunepuls.storage.db import connect, create_pool
from kommunepuls.storage.migrate import migrate
from services.ingest.relay import rewind_to_durable

SERVICES = ("ingest", "cohorts", "metrics", "gateway")
# Enough citizens for 98 municipalities to look alive, few enough that a day's sweep of
# every citizen keeps up with a simulated day per second on a laptop.
DEMO_CITIZENS = 4_000
# A service that exits is started again, as Kubernetes would: a worker exits on purpose
# when one of its agents crashed (kommunepuls/watchdog.py). One that keeps exiting stops
# the platform instead of looping.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 300.0
RESTART_DELAY_S = 1.0


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    health_url: str


def service_env(settings: Settings, database_url: str, bootstrap: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "KOMMUNEPULS_PROFILE": "embedded",
        "KOMMUNEPULS_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KOMMUNEPULS_KAFKA_IDEMPOTENCE": "false",
        "KOMMUNEPULS_LOG_FORMAT": "console",
        "KOMMUNEPULS_PSEUDONYM_KEY": settings.secret("pseudonym_key").decode(),
        "KOMMUNEPULS_JWT_SECRET": settings.secret("jwt_secret").decode(),
        "PYTHONUNBUFFERED": "1",
        "_TYPER_STANDARD_TRACEBACK": "1",
    })
    return env


def health_url(settings: Settings, name: str) -> str:
    port = {"ingest": settings.ingest_port, "gateway": settings.gateway_port,
            "cohorts": settings.cohorts_web_port, "metrics": settings.metrics_web_port}[name]
    return f"http://127.0.0.1:{port}/healthz"


async def _pump(name: str, stream: asyncio.StreamReader, console: Console) -> None:
    width = max(map(len, SERVICES))
    while line := await stream.readline():
        text = line.decode(errors="replace").rstrip()
        console.print(f"[bold cyan]{name:<{width}}[/] | {text}", markup=True, highlight=False,
                      soft_wrap=True)


async def _wait_healthy(children: list[Child], deadline: float) -> list[str]:
    pending = {c.name: c for c in children}
    async with httpx.AsyncClient(timeout=1.0) as client:
        while pending and time.monotonic() < deadline:
            for name, child in list(pending.items()):
                if child.process.returncode is not None:
                    raise RuntimeError(f"{name} exited with code {child.process.returncode}")
                try:
                    if (await client.get(child.health_url)).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            await asyncio.sleep(0.25)
    return sorted(pending)


async def _stop_children(children: list[Child], grace_s: float = 15.0) -> None:
    for child in reversed(children):
        if child.process.returncode is None:
            child.process.send_signal(signal.SIGTERM)
    waits = [asyncio.wait_for(c.process.wait(), grace_s) for c in children]
    for child, result in zip(children, await asyncio.gather(*waits, return_exceptions=True),
                             strict=True):
        if isinstance(result, BaseException) and child.process.returncode is None:
            child.process.kill()
            await child.process.wait()


async def supervise(children: list[Child],
                    respawn: Callable[[str], Awaitable[asyncio.subprocess.Process]],
                    stop: asyncio.Event, console: Console, *,
                    delay_s: float = RESTART_DELAY_S) -> str | None:
    """Until `stop` is set, start each child again when it exits. Returns None when
    stopped, or the name of a child that exited more than MAX_RESTARTS times within
    RESTART_WINDOW_S."""
    restarts: dict[str, deque[float]] = defaultdict(deque)
    stopped = asyncio.ensure_future(stop.wait())
    waits: dict[str, asyncio.Future[int]] = {}
    try:
        while True:
            for child in children:
                if child.name not in waits:
                    waits[child.name] = asyncio.ensure_future(child.process.wait())
            pending: list[asyncio.Future[Any]] = [stopped, *waits.values()]
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if stopped in done:
                return None
            for child in children:
                if waits[child.name] not in done:
                    continue
                del waits[child.name]
                now = time.monotonic()
                recent = restarts[child.name]
                while recent and now - recent[0] > RESTART_WINDOW_S:
                    recent.popleft()
                if len(recent) >= MAX_RESTARTS:
                    return child.name
                recent.append(now)
                console.print(f"[yellow]{child.name} exited with code "
                              f"{child.process.returncode}; starting it again[/]")
                await asyncio.wait([stopped], timeout=delay_s)
                if stopped.done():
                    return None
                child.process = await respawn(child.name)
    finally:
        stopped.cancel()
        for wait in waits.values():
            wait.cancel()


async def _spawn(args: list[str], env: dict[str, str],
                 log_file: Path | None) -> asyncio.subprocess.Process:
    output = log_file.open("ab") if log_file else asyncio.subprocess.PIPE
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kommunepuls", *args, env=env,
            stdout=output, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )
    finally:
        if log_file:
            output.close()  # type: ignore[union-attr]


async def _live_summary(pool: asyncpg.Pool, settings: Settings, console: Console,
                        stop: asyncio.Event) -> None:
    before = None
    with Live(console=console, refresh_per_second=1, transient=False) as live:
        while not stop.is_set():
            try:
                now = await summary.take(pool, settings.kafka_partitions)
                live.update(summary.render(now, before))
                before = now
            except (OSError, asyncpg.PostgresError):
                pass  # a summary is not worth failing the demo for
            try:
                await asyncio.wait_for(stop.wait(), 2.0)
            except TimeoutError:
                pass


async def run_platform(settings: Settings, *, simulate: bool, console: Console) -> int:
    started = time.monotonic()
    data_dir = settings.data_dir.resolve()
    console.print(f"[bold]Kommunepuls[/] embedded, data in {data_dir}")
    # Blocking start-up before any service exists: nothing else waits on this loop yet.
    postgres = EmbeddedPostgres(data_dir / "postgres").start()
    broker = TansuBroker(settings.embedded_broker_port,
                         log_file=data_dir / "logs" / "broker.log").start()
    children: list[Child] = []
    extra: list[asyncio.subprocess.Process] = []
    pumps: list[asyncio.Task[None]] = []
    pool: asyncpg.Pool | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await postgres.ensure_database()
        database_url = postgres.url()
        run_settings = settings.model_copy(update={
            "database_url": database_url, "kafka_bootstrap_servers": broker.bootstrap_servers,
            "kafka_idempotence": False})
        conn = await connect(run_settings)
        try:
            applied = await migrate(conn)
        finally:
            await conn.close()
        console.print(f"postgres ready, {len(applied)} migration(s) applied")
        pool = await create_pool(run_settings, max_size=2)
        # The embedded broker starts empty every time: republish what was never counted.
        old, new = await rewind_to_durable(pool, settings.kafka_partitions)
        if new < old:
            console.print(f"broker is new: republishing events after position {new}")
        await ensure_topics(run_settings)
        console.print(f"broker ready at {broker.bootstrap_servers}")
        env = service_env(settings, database_url, broker.bootstrap_servers)
        log_dir = data_dir / "logs"

        async def start(name: str) -> asyncio.subprocess.Process:
            # With the live summary on screen, service logs go to files instead.
            process = await _spawn(["serve", name], env, log_dir / f"{name}.log" if simulate
                                   else None)
            if process.stdout is not None:
                pumps.append(asyncio.create_task(_pump(name, process.stdout, console)))
            return process

        for name in SERVICES:
            children.append(Child(name, await start(name), health_url(settings, name)))
        missing = await _wait_healthy(children, time.monotonic() + 60)
        if missing:
            console.print(f"[red]not healthy after 60 s: {', '.join(missing)}[/]")
            return 1
        console.print(
            f"\n[bold green]All services healthy in {time.monotonic() - started:.1f} s[/]\n"
            f"  gateway  http://127.0.0.1:{settings.gateway_port}"
            "  (API docs /docs, Prometheus /metrics with an ops token)\n"
            f"  ingest   http://127.0.0.1:{settings.ingest_port}  (API docs /docs)\n"
            f"  tokens   .venv/bin/kommunepuls token --role national (or ops)\n"
            + (f"  logs     {log_dir}/<service>.log\n" if simulate else "")
            + "Press Ctrl-C to stop.\n")
        if simulate:
            simulator = await _spawn(["simulate", "--citizens", str(DEMO_CITIZENS),
                                      "--ingest-url", f"http://127.0.0.1:{settings.ingest_port}"],
                                     env, log_dir / "simulator.log")
            extra.append(simulator)
            watch = asyncio.create_task(_live_summary(pool, settings, console, stop))
            pumps.append(watch)
        given_up = await supervise(children, start, stop, console)
        if given_up:
            console.print(f"[red]{given_up} exited {MAX_RESTARTS + 1} times within "
                          f"{RESTART_WINDOW_S:.0f} s; shutting down[/]")
        return 1 if given_up else 0
    finally:
        console.print("stopping services…")
        for process in extra:
            if process.returncode is None:
                process.terminate()
                await process.wait()
        if pool is not None:
            await pool.close()
        await _stop_children(children)
        for pump in pumps:
            pump.cancel()
        broker.stop()
        postgres.stop()
        console.print("stopped; data kept in " + str(data_dir))
