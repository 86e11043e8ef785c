"""`kommunepuls up`: the whole platform on one machine, stopped cleanly by Ctrl-C.

Starts the embedded PostgreSQL and Tansu broker, migrates, creates topics, spawns the
four services as child processes (each dies with this one), prefixes their log lines,
waits until all are healthy, and tears everything down in reverse order.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass

import httpx
from rich.console import Console

from kommunepuls.config import Settings
from kommunepuls.embedded.broker import TansuBroker
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import die_with_parent
from kommunepuls.kafka import ensure_topics
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate

SERVICES = ("ingest", "cohorts", "metrics", "gateway")


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


async def run_platform(settings: Settings, *, simulate: bool, console: Console) -> int:
    started = time.monotonic()
    data_dir = settings.data_dir.resolve()
    console.print(f"[bold]Kommunepuls[/] embedded, data in {data_dir}")
    # Blocking start-up before any service exists: nothing else waits on this loop yet.
    postgres = EmbeddedPostgres(data_dir / "postgres").start()
    broker = TansuBroker(settings.embedded_broker_port,
                         log_file=data_dir / "logs" / "broker.log").start()
    children: list[Child] = []
    pumps: list[asyncio.Task[None]] = []
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
        await ensure_topics(run_settings)
        console.print(f"broker ready at {broker.bootstrap_servers}")
        env = service_env(settings, database_url, broker.bootstrap_servers)
        for name in SERVICES:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kommunepuls", "serve", name, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL, preexec_fn=die_with_parent,
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
            )
            children.append(Child(name, process, health_url(settings, name)))
            assert process.stdout is not None
            pumps.append(asyncio.create_task(_pump(name, process.stdout, console)))
        missing = await _wait_healthy(children, time.monotonic() + 60)
        if missing:
            console.print(f"[red]not healthy after 60 s: {', '.join(missing)}[/]")
            return 1
        console.print(
            f"\n[bold green]All services healthy in {time.monotonic() - started:.1f} s[/]\n"
            f"  gateway  http://127.0.0.1:{settings.gateway_port}"
            "  (API docs /docs, metrics /metrics)\n"
            f"  ingest   http://127.0.0.1:{settings.ingest_port}  (API docs /docs)\n"
            f"  tokens   .venv/bin/kommunepuls token --role national\n"
            "Press Ctrl-C to stop.\n")
        if simulate:
            console.print("[yellow]simulator not wired yet: the stack runs without traffic[/]")
        exited = [asyncio.create_task(c.process.wait()) for c in children]
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait([*exited, stopped], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        dead = [c.name for c in children if c.process.returncode is not None]
        if dead:
            console.print(f"[red]{', '.join(dead)} stopped unexpectedly; shutting down[/]")
        return 1 if dead else 0
    finally:
        console.print("stopping services…")
        await _stop_children(children)
        for pump in pumps:
            pump.cancel()
        broker.stop()
        postgres.stop()
        console.print("stopped; data kept in " + str(data_dir))
