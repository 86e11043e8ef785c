"""A uvicorn server in a child process for the HTTP benchmarks: started with the options of
`kommunepuls serve` (uvloop, no access log, no server header), waited for, always stopped."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

from kommunepuls.embedded.process import die_with_parent, stop_process

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def uvicorn_child(target: str, port: int, env: Mapping[str, str], *, probe: str,
                  workers: int = 1, extra: Sequence[str] = (), need_ok: bool = False,
                  budget_s: float = 60) -> Iterator[int]:
    """Serve the app factory `target` ("module:function") on `port`; yields the pid once
    `probe` answers (with a 200 if `need_ok`)."""
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers), "--loop", "uvloop",
               "--no-access-log", "--no-server-header", "--log-level", "warning", *extra]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env,
                                                       "PYTHONPATH": str(ROOT)},
                               stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
    try:
        deadline = time.monotonic() + budget_s
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{target} exited with {process.returncode}")
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1)
                if answer.status_code == 200 or not need_ok:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{target} did not start in {budget_s:.0f} s")
            time.sleep(0.1)
        yield process.pid
    finally:
        stop_process(process, grace_s=15)
