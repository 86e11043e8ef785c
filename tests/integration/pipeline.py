"""Helpers for tests that run the real pipeline: the stream workers as real processes."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx

from kommunepuls.config import Settings
from kommunepuls.embedded.broker import free_port
from kommunepuls.embedded.process import spawn_service, stop_process
from kommunepuls.segments import partition_for


def worker_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"cohorts_web_port": free_port(),
                                       "metrics_web_port": free_port()})


def start_worker(settings: Settings, name: str, log: Path) -> subprocess.Popen[bytes]:
    return spawn_service(settings, name, log)


def wait_healthy(port: int, process: subprocess.Popen[bytes], log: Path,
                 budget_s: float = 40) -> None:
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"worker exited {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"worker not healthy in {budget_s}s:\n{log.read_text()[-4000:]}")


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    stop_process(process, grace_s=20, sig=signal.SIGKILL if kill else signal.SIGTERM)


@contextmanager
def stream_workers(settings: Settings, logs: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Cohorts and metrics workers for this test's schema and topics, healthy on return."""
    logs.mkdir(parents=True, exist_ok=True)
    processes = {name: start_worker(settings, name, logs / f"{name}.log")
                 for name in ("cohorts", "metrics")}
    try:
        wait_healthy(settings.cohorts_web_port, processes["cohorts"], logs / "cohorts.log")
        wait_healthy(settings.metrics_web_port, processes["metrics"], logs / "metrics.log")
        yield processes
    finally:
        for process in processes.values():
            stop(process)


async def wait_caught_up(db: asyncpg.Pool, partitions: int, budget_s: float) -> float:
    """Until every metrics partition's checkpoint has reached the newest stored event of
    its citizens (cheap to poll, unlike a recompute); returns the seconds waited."""
    started = time.monotonic()
    rows = await db.fetch("SELECT citizen_id, max(position) AS p FROM events GROUP BY citizen_id")
    newest: dict[int, int] = {}
    for row in rows:
        partition = partition_for(row["citizen_id"], partitions)
        newest[partition] = max(newest.get(partition, 0), row["p"])
    while True:
        reached = {r["name"]: r["position"] for r in await db.fetch(
            "SELECT name, position FROM checkpoints WHERE name LIKE 'metrics:p%'")}
        if all(reached.get(f"metrics:p{p}", 0) >= top for p, top in newest.items()):
            return time.monotonic() - started
        if time.monotonic() - started > budget_s:
            raise AssertionError(f"not caught up in {budget_s}s: {reached} < {newest}")
        await asyncio.sleep(0.5)
