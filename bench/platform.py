"""The platform for a benchmark, assembled from the embedded runtime's own parts.

`servers(root)` runs PostgreSQL and Tansu in a directory of the benchmark's own;
`services(settings, logs)` migrates, creates the topics and runs the four services as child
processes (`kommunepuls serve NAME`, as `kommunepuls up` does) on free ports, healthy on
return. The test suite passes its session servers' settings to `services` instead.

Unlike `kommunepuls up` in a child process, the caller holds the settings (secrets, database
URL, ports), so it can issue tokens and read what it needs without parsing a console.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from kommunepuls.config import Settings, load_settings
from kommunepuls.embedded.broker import TansuBroker, free_port
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.embedded.process import spawn_service
from kommunepuls.embedded.supervisor import SERVICES, health_url
from kommunepuls.kafka import ensure_topics
from kommunepuls.storage.db import connect
from kommunepuls.storage.migrate import migrate


class PlatformError(RuntimeError):
    """A service did not come up."""


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU used so far by each named process and its children (PostgreSQL's
    backends; those already gone count through the parent's children times)."""
    found = {}
    for name, pid in pids.items():
        try:
            process = psutil.Process(pid)
            times = process.cpu_times()
            total = times.user + times.system + times.children_user + times.children_system
            for child in process.children(recursive=True):
                try:
                    child_times = child.cpu_times()
                except psutil.Error:
                    continue
                total += child_times.user + child_times.system
        except psutil.Error:
            continue
        found[name] = total
    return found


@dataclass(frozen=True)
class Servers:
    settings: Settings  # pointing at these servers
    pids: dict[str, int]  # "postgres" (the postmaster), "tansu"


@contextmanager
def servers(root: Path, **overrides: object) -> Iterator[Servers]:
    """PostgreSQL and Tansu under `root` (deleted on exit), with settings pointing at them:
    the embedded profile's generated secrets and any `overrides`."""
    postgres = EmbeddedPostgres(root / "postgres", delete_on_stop=True).start()
    broker: TansuBroker | None = None
    try:
        broker = TansuBroker(free_port(), log_file=root / "logs" / "broker.log").start()
        asyncio.run(postgres.ensure_database())
        settings = load_settings(profile="embedded", data_dir=root, database_url=postgres.url(),
                                 kafka_bootstrap_servers=broker.bootstrap_servers,
                                 kafka_idempotence=False, **overrides)
        assert broker.process is not None
        yield Servers(settings, {"postgres": postgres.pid, "tansu": broker.process.pid})
    finally:
        if broker is not None:
            broker.stop()
        postgres.stop()


async def prepare(settings: Settings) -> None:
    """Schema and topics, as `kommunepuls up` makes them before starting the services."""
    conn = await connect(settings)
    try:
        await migrate(conn, settings.database_schema)
    finally:
        await conn.close()
    await ensure_topics(settings)


def _stop(processes: Sequence[subprocess.Popen[bytes]], grace_s: float = 20) -> None:
    for process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(settings: Settings, processes: dict[str, subprocess.Popen[bytes]],
                  logs: Path, budget_s: float) -> None:
    pending = dict(processes)
    deadline = time.monotonic() + budget_s
    while pending:
        for name, process in list(pending.items()):
            if process.poll() is not None:
                tail = (logs / f"{name}.log").read_text(errors="replace")[-3000:]
                raise PlatformError(f"{name} exited with {process.returncode}:\n{tail}")
            try:
                if httpx.get(health_url(settings, name), timeout=1).status_code == 200:
                    del pending[name]
            except httpx.HTTPError:
                pass
        if pending and time.monotonic() > deadline:
            raise PlatformError(f"not healthy after {budget_s:.0f} s: {', '.join(pending)}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Running:
    settings: Settings  # what the services run with (their ports included)
    pids: dict[str, int]  # service -> process id


@contextmanager
def services(settings: Settings, logs: Path, *, budget_s: float = 90) -> Iterator[Running]:
    """The four services on free ports, healthy on return. Their logs go to
    `logs/<name>.log`; they are stopped (SIGTERM) on exit."""
    settings = settings.model_copy(update={
        "ingest_port": free_port(), "gateway_port": free_port(),
        "cohorts_web_port": free_port(), "metrics_web_port": free_port()})
    asyncio.run(prepare(settings))
    logs.mkdir(parents=True, exist_ok=True)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in SERVICES:
            processes[name] = spawn_service(settings, name, logs / f"{name}.log")
        _wait_healthy(settings, processes, logs, budget_s)
        yield Running(settings, {name: p.pid for name, p in processes.items()})
    finally:
        _stop(list(processes.values()))
