"""stop_process: a child that obeys the signal exits by it; one that ignores it is killed
once its grace is over."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from kommunepuls.embedded.process import stop_process

# Prints once its handler is in place, so the signal cannot arrive before it.
IGNORING = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(30)")


def test_a_child_that_obeys_exits_by_the_signal() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = time.monotonic()
    # SIGTERM, not SIGINT: a shell's background job (CI run with `&`) starts its children
    # with SIGINT ignored, and then Python installs no KeyboardInterrupt handler either.
    stop_process(child, grace_s=10, sig=signal.SIGTERM)
    # Ended by the signal itself, not by the SIGKILL that follows an ignored one.
    assert child.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 5


def test_a_child_that_ignores_the_signal_is_killed_after_its_grace() -> None:
    child = subprocess.Popen([sys.executable, "-c", IGNORING], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    started = time.monotonic()
    stop_process(child, grace_s=0.3)
    assert child.returncode == -signal.SIGKILL
    assert 0.3 <= time.monotonic() - started < 5
    child.stdout.close()


def test_a_child_that_already_exited_is_only_reaped() -> None:
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    child.wait()
    stop_process(child, grace_s=0)
    assert child.returncode == 3
