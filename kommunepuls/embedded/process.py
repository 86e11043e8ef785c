"""Child processes that die with their parent, so a killed supervisor leaves no orphans, and
that are stopped within a bounded time."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from kommunepuls.config import Settings

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """preexec_fn: ask Linux to SIGTERM this child when its parent exits."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(process: subprocess.Popen[Any], *, grace_s: float,
                 sig: int = signal.SIGTERM) -> None:
    """Send `sig` if the child still runs, give it `grace_s` to exit, then kill it."""
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def spawn_service(settings: Settings, name: str, log: Path) -> subprocess.Popen[bytes]:
    """`kommunepuls serve NAME` as a child configured by exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMUNEPULS_")}
    env.update(settings.to_env())
    return subprocess.Popen([sys.executable, "-m", "kommunepuls", "serve", name], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            preexec_fn=die_with_parent)
