"""`kommunepuls up` (what `make demo` runs): healthy within 30 s, and Ctrl-C leaves nothing."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from kommunepuls.embedded.broker import free_port

STARTUP_BUDGET_S = 30


def _start(data_dir: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kommunepuls", "up", "--no-simulate", "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_line(process: subprocess.Popen[str], needle: str, budget: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + budget
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if needle in line:
            return lines
    raise AssertionError(f"no {needle!r} within {budget}s:\n" + "".join(lines[-60:]))


def test_up_starts_every_service_healthy_and_ctrl_c_leaves_no_process() -> None:
    ports = {name: free_port() for name in ("GATEWAY_PORT", "INGEST_PORT", "COHORTS_WEB_PORT",
                                            "METRICS_WEB_PORT", "EMBEDDED_BROKER_PORT")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMUNEPULS_")}
    env.update({f"KOMMUNEPULS_{k}": str(v) for k, v in ports.items()})
    # Outside pytest's 0700 basetemp: PostgreSQL runs as another user and must reach it.
    data_dir = Path(tempfile.mkdtemp(prefix="kommunepuls-up-")) / "demo"

    for attempt in ("first", "second"):  # the second run resumes on the kept data dir
        started = time.monotonic()
        process = _start(data_dir, env)
        try:
            _wait_for_line(process, "All services healthy", STARTUP_BUDGET_S)
            elapsed = time.monotonic() - started
            print(f"{attempt} start: healthy after {elapsed:.1f} s")
            for port in (ports["GATEWAY_PORT"], ports["INGEST_PORT"]):
                assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            for port in (ports["COHORTS_WEB_PORT"], ports["METRICS_WEB_PORT"]):
                health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
                assert health["status"] == "ok" and health["partitions"]
            children = psutil.Process(process.pid).children(recursive=True)
            assert len(children) >= 5  # four services and the broker
        finally:
            process.send_signal(signal.SIGINT)
            remaining = process.communicate(timeout=30)[0]
        assert process.returncode == 0, remaining[-3000:]
        _gone, alive = psutil.wait_procs(children, timeout=5)
        assert alive == [], f"left behind: {[p.pid for p in alive]}"
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    assert (data_dir / "dev-secrets.json").exists()
    shutil.rmtree(data_dir.parent, ignore_errors=True)
