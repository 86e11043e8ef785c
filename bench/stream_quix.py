"""The Quix Streams peer of bench.stream: bare_loop's fold, written as a Quix Application.

A StreamingDataFrame over case-events (raw bytes values), each segment decoded with
kommunepuls.segments and its events grouped per citizen in a plain dict (not Quix's RocksDB
state: that would add a changelog write per citizen update, a different job from bare_loop's);
when all expected events are in, the same fold, contributions and tally.

It runs in its own process: librdkafka's threads and Quix's blocking poll loop (and its
signal handlers, which need the main thread) stay out of the benchmark's asyncio loop.

    .venv/bin/python -m bench.stream_quix --bootstrap HOST:PORT --topic T --group G \
        --expected N --today 2020-01-15      # prints one JSON QuixResult line

Needs `requirements-bench.lock` (`make bench` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date

from pydantic import BaseModel

from kommunepuls import segments
from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import contributions, tally
from kommunepuls.domain.records import StoredEvent

INSTALL_HINT = "make bench, or .venv/bin/pip install --no-deps -r requirements-bench.lock"
# Quix stops on its own when no message came for this long: a safety net, never the stop.
IDLE_STOP_S = 60.0


class QuixResult(BaseModel):
    """What the child process reports back (one JSON line on stdout)."""

    seconds: float  # first message to tally done: bare_loop's window
    join_s: float  # run() called to first message: group join, assignment, first fetch
    cpu_s: float  # this process's CPU (all threads, librdkafka's too) in the seconds window
    events: int
    cells: int


def available() -> bool:
    return importlib.util.find_spec("quixstreams") is not None


def table_rows(result: QuixResult, events: int, pipeline_rate: float,
               records: str = "segments") -> list[str]:
    """bench.stream's table rows: processing alone (bare_loop's window), then with the join."""
    rate = events / result.seconds
    total = result.seconds + result.join_s
    return [f"| Quix Streams {_version()} app on {records}, same fold, dict state, own process "
            f"(from first message; {result.cpu_s:.1f} s CPU, librdkafka threads included) | "
            f"{result.seconds:.1f} | {rate:,.0f} | {rate / pipeline_rate:.2f} |",
            f"| the same incl. app start and group join | {total:.1f} | "
            f"{events / total:,.0f} | |"]


def _version() -> str:
    from importlib.metadata import version

    return version("quixstreams")


def consume(bootstrap: str, topic: str, group: str, expected: int, today: date) -> QuixResult:
    from quixstreams import Application  # optional dependency: imported only when used

    by_citizen: dict[str, list[StoredEvent]] = {}
    seen = 0
    first: float | None = None
    caught_up: float | None = None
    cpu_first = cpu_caught_up = 0.0
    with tempfile.TemporaryDirectory(prefix="kommunepuls-quix-") as state_dir:
        app = Application(
            broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest",
            # Without these a member needs ~25 s to join on Tansu (measurements.md).
            consumer_extra_config={"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000},
            state_dir=state_dir, use_changelog_topics=False, auto_create_topics=False,
            loglevel="WARNING")

        def absorb(value: bytes) -> None:
            nonlocal seen, first, caught_up, cpu_first, cpu_caught_up
            if first is None:
                first, cpu_first = time.perf_counter(), time.process_time()
            for event in segments.decode(value):
                by_citizen.setdefault(event.citizen_id, []).append(event)
                seen += 1
            if seen >= expected and caught_up is None:
                caught_up, cpu_caught_up = time.perf_counter(), time.process_time()
                app.stop()

        app.dataframe(app.topic(topic, value_deserializer="bytes")).update(absorb)
        called = time.perf_counter()
        # collect=False: with a timeout Quix would otherwise keep every value it passed on.
        app.run(timeout=IDLE_STOP_S, collect=False)
    if first is None or caught_up is None:
        raise RuntimeError(f"Quix saw {seen:,} of {expected:,} events before going idle")
    # Closing the consumer (commit, leave group) happened in between and is not counted.
    t, cpu = time.perf_counter(), time.process_time()
    counts = tally(c for events in by_citizen.values() for c in contributions(fold(events), today))
    tally_s, tally_cpu_s = time.perf_counter() - t, time.process_time() - cpu
    return QuixResult(seconds=caught_up - first + tally_s, join_s=first - called,
                      cpu_s=cpu_caught_up - cpu_first + tally_cpu_s, events=seen,
                      cells=len(counts))


async def quix_peer(bootstrap: str, topic: str, group: str, expected: int, today: date,
                    timeout_s: float = 900.0) -> QuixResult:
    """consume() in a child process; raises with its stderr if it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.stream_quix", "--bootstrap", bootstrap, "--topic", topic,
        "--group", group, "--expected", str(expected), "--today", today.isoformat(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout_s)
    except TimeoutError:
        child.kill()
        await child.wait()
        raise
    if child.returncode != 0:
        raise RuntimeError(f"Quix peer exited {child.returncode}: {err.decode()[-2000:]}")
    return QuixResult.model_validate_json(out.decode().strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--today", type=date.fromisoformat, required=True)
    args = parser.parse_args(argv)
    result = consume(args.bootstrap, args.topic, args.group, args.expected, args.today)
    print(result.model_dump_json(), flush=True)


if __name__ == "__main__":
    main()
