"""Helpers for tests that run the real pipeline: the stream workers as real processes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from kommunepuls.config import Settings
from kommunepuls.embedded.broker import free_port
from kommunepuls.embedded.process import spawn_service


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
    if process.poll() is None:
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
