"""`kommunepuls up` starts a service again when it exits (a worker exits when an agent
crashed), and gives up on one that keeps exiting; real child processes, no platform."""

from __future__ import annotations

import asyncio
import io
import sys

from rich.console import Console

from kommunepuls.embedded.supervisor import MAX_RESTARTS, Child, supervise

EXITS = "import sys; sys.exit(70)"
RUNS = "import time; time.sleep(60)"


async def python(code: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(sys.executable, "-c", code)


async def test_a_service_that_keeps_exiting_is_restarted_then_given_up_on() -> None:
    started: list[str] = []

    async def respawn(name: str) -> asyncio.subprocess.Process:
        started.append(name)
        return await python(EXITS if name == "metrics" else RUNS)

    children = [Child("metrics", await python(EXITS), ""), Child("gateway", await python(RUNS), "")]
    out = io.StringIO()
    try:
        given_up = await asyncio.wait_for(
            supervise(children, respawn, asyncio.Event(), Console(file=out), delay_s=0), 20)
    finally:
        for child in children:
            if child.process.returncode is None:
                child.process.kill()
                await child.process.wait()
    assert given_up == "metrics"
    assert started == ["metrics"] * MAX_RESTARTS  # the gateway never exited
    assert out.getvalue().count("metrics exited with code 70; starting it again") == MAX_RESTARTS


async def test_a_restarted_service_is_supervised_until_stop() -> None:
    started: list[str] = []
    respawned = asyncio.Event()

    async def respawn(name: str) -> asyncio.subprocess.Process:
        started.append(name)
        respawned.set()
        return await python(RUNS)

    stop = asyncio.Event()
    children = [Child("cohorts", await python(EXITS), "")]
    try:
        supervising = asyncio.create_task(
            supervise(children, respawn, stop, Console(file=io.StringIO()), delay_s=0))
        await asyncio.wait_for(respawned.wait(), 10)
        stop.set()
        assert await asyncio.wait_for(supervising, 5) is None
        assert children[0].process.returncode is None  # the new process, still running
    finally:
        for child in children:
            if child.process.returncode is None:
                child.process.kill()
                await child.process.wait()
    assert started == ["cohorts"]
