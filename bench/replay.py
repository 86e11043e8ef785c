"""Replay of a large event store into fresh read models (issue 5): `kommunepuls rebuild`.

    .venv/bin/python -m bench.replay [--events 10000000] [--processes 2] [--sample 300000]
                                     [--keep DIR]

A fresh embedded PostgreSQL gets `--events` simulated events (faults on) by COPY
(bench/replay_load.py), then `kommunepuls rebuild` runs as a child process, timed, its
peak RSS sampled over its whole process tree. The peer, in the same run: a second,
smaller store of `--sample` events, rebuilt the same way and evaluated by the batch
recompute (`kommunepuls verify`'s core, which holds the whole store in memory, so not at
full size); the rebuilt read models must equal that recompute (0 differing cells).
With `--keep DIR` the database stays in DIR and a later run with the same DIR rebuilds
the stores already loaded there instead of loading them again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import psutil

from bench.replay_load import load
from bench.sections import machine
from kommunepuls.config import Settings
from kommunepuls.embedded.postgres import EmbeddedPostgres
from kommunepuls.recompute import compare, live_counts, recompute_counts
from kommunepuls.storage.db import connect, create_pool
from kommunepuls.storage.migrate import migrate

TODAY = date(2020, 1, 15)


@dataclass(frozen=True, slots=True)
class Rebuilt:
    seconds: float
    peak_rss_mb: float
    cpu_s: float  # the rebuild's processes, user + system
    postgres_cpu_s: float  # PostgreSQL's backends meanwhile
    output: str


def bench_settings(postgres: EmbeddedPostgres, root: Path, schema: str) -> Settings:
    return Settings(profile="embedded", data_dir=root / "data", database_url=postgres.url(),
                    database_schema=schema, pseudonym_key="b" * 40, jwt_secret="j" * 40,
                    today=TODAY, log_format="console", log_level="WARNING")


async def fresh_store(settings: Settings, events: int, shards: int) -> tuple[int, float, float]:
    """Migrate, load, vacuum; return (stored, load seconds, vacuum seconds). A store
    loaded by an earlier run (--keep) is used as it is (load seconds 0)."""
    conn = await connect(settings)
    try:
        await migrate(conn, settings.database_schema)
        stored = int(await conn.fetchval("SELECT position FROM event_store_head"))
    finally:
        await conn.close()
    started = time.perf_counter()
    if not stored:
        stored = await load(settings, events, shards=shards)
    loaded = time.perf_counter()
    conn = await connect(settings)
    try:
        # What autovacuum does to a store in service; done here so that it does not run
        # during the timed rebuild (and hint bits are not set by the rebuild's reads).
        await conn.execute("VACUUM (ANALYZE) events")
    finally:
        await conn.close()
    return stored, loaded - started, time.perf_counter() - loaded


def verdict(events: int, rebuilt: Rebuilt, processes: int) -> str:
    ten_m = 10_000_000 / events
    wall = rebuilt.seconds * ten_m
    cores = os.cpu_count() or 1
    # On idle cores: no faster than all the CPU spread over every core, nor than the
    # rebuild's own CPU spread over its processes.
    idle = max((rebuilt.cpu_s + rebuilt.postgres_cpu_s) / cores,
               rebuilt.cpu_s / min(processes, cores)) * ten_m
    measured = "measured" if events >= 10_000_000 else f"extrapolated linearly from {events:,}"
    return (f"{'met' if wall < 300 else 'not met'} at this run's wall time ({measured}: "
            f"{wall / 60:.1f} min); its CPU time on {cores} idle cores would take at least "
            f"{idle / 60:.1f} min")


def per_cpu(events: int, rebuilt: Rebuilt) -> float:
    return events / (rebuilt.cpu_s + rebuilt.postgres_cpu_s)


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_seconds(times: Any) -> float:
    """User + system CPU of a process and of the children it reaped (psutil cpu_times)."""
    return float(times.user + times.system + times.children_user + times.children_system)


def run_rebuild(settings: Settings, processes: int, postgres_pid: int) -> Rebuilt:
    """`kommunepuls rebuild` as a child (no broker here: --force skips asking it).

    CPU time as well as wall time: on a shared machine the wall time says as much about
    the neighbours as about the rebuild. The child's CPU includes its worker processes
    (it reaps them), PostgreSQL's that of the backends its postmaster reaped.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMUNEPULS_")}
    env.update(settings.to_env())
    postmaster = psutil.Process(postgres_pid)
    ours_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    postgres_before = cpu_seconds(postmaster.cpu_times())
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "kommunepuls", "rebuild", "--force",
                              "--processes", str(processes)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    watched = psutil.Process(child.pid)
    peak = 0
    while child.poll() is None:
        try:
            peak = max(peak, tree_rss(watched))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    output = (child.stdout.read() if child.stdout else b"").decode()
    if child.wait() != 0:
        raise RuntimeError(f"rebuild failed:\n{output[-3000:]}")
    ours = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ours.ru_utime + ours.ru_stime) - (ours_before.ru_utime + ours_before.ru_stime)
    postgres = cpu_seconds(postmaster.cpu_times()) - postgres_before
    return Rebuilt(seconds, peak / 2**20, cpu, postgres, " ".join(output.split()))


async def sample_peer(settings: Settings, events: int, processes: int, shards: int,
                      postgres_pid: int) -> tuple[int, Rebuilt, float, float, int, int]:
    """The sample: (events, its rebuild, recompute seconds and CPU seconds, cells,
    differing cells)."""
    stored, _, _ = await fresh_store(settings, events, shards)
    rebuilt = await asyncio.to_thread(run_rebuild, settings, processes, postgres_pid)
    pool = await create_pool(settings, max_size=2)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        batch, _ = await recompute_counts(pool, TODAY)
        recompute_s, recompute_cpu = time.perf_counter() - started, time.process_time() - cpu
        differences = compare(await live_counts(pool), batch)
    finally:
        await pool.close()
    return stored, rebuilt, recompute_s, recompute_cpu, len(batch), len(differences)


async def run(events: int, processes: int, sample: int, shards: int, keep: Path | None) -> str:
    root = keep or Path(tempfile.mkdtemp(prefix="kommunepuls-bench-replay-"))
    postgres = EmbeddedPostgres(root / "pg", delete_on_stop=keep is None).start()
    try:
        await postgres.ensure_database()
        small = bench_settings(postgres, root, "sample")
        s_events, s_rebuilt, recompute_s, recompute_cpu, cells, differences = await sample_peer(
            small, sample, processes, shards, postgres.pid)
        print(f"sample: {s_events:,} events, rebuild {s_rebuilt.seconds:.1f} s, recompute "
              f"{recompute_s:.1f} s, {differences} differing cells of {cells:,}", flush=True)
        big = bench_settings(postgres, root, "bench")
        stored, load_s, vacuum_s = await fresh_store(big, events, shards)
        print(f"loaded {stored:,} events in {load_s:.0f} s (vacuum {vacuum_s:.0f} s)", flush=True)
        load_before = os.getloadavg()[0]
        rebuilt = await asyncio.to_thread(run_rebuild, big, processes, postgres.pid)
        load_after = os.getloadavg()[0]
        print(f"rebuild: {rebuilt.output}", flush=True)
    finally:
        postgres.stop()
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    rate = stored / rebuilt.seconds
    s_rate = s_events / s_rebuilt.seconds
    r_rate = s_events / recompute_s
    lines = [
        f"{machine()}; command `.venv/bin/python -m bench.replay --events {events} "
        f"--processes {processes} --sample {sample}`; load average (1 min) before / after "
        f"the rebuild {load_before:.1f} / {load_after:.1f}",
        "",
        f"Simulated events (seed 5, faults on) bulk-loaded by COPY into a fresh embedded "
        f"PostgreSQL, then `kommunepuls rebuild --processes {processes}` (a child process; "
        f"time includes its start), today = {TODAY}.",
        "",
        "| what | events | seconds | events/s | vs rebuild | CPU s: Python / PostgreSQL | "
        "events per CPU s | peak RSS (process tree) |",
        "|---|---|---|---|---|---|---|---|",
        f"| rebuild, full store | {stored:,} | {rebuilt.seconds:.1f} | {rate:,.0f} | 1.00 | "
        f"{rebuilt.cpu_s:.0f} / {rebuilt.postgres_cpu_s:.0f} | {per_cpu(stored, rebuilt):,.0f} | "
        f"{rebuilt.peak_rss_mb:,.0f} MB |",
        f"| rebuild, sample store | {s_events:,} | {s_rebuilt.seconds:.1f} | {s_rate:,.0f} | "
        f"{s_rate / rate:.2f} | {s_rebuilt.cpu_s:.0f} / {s_rebuilt.postgres_cpu_s:.0f} | "
        f"{per_cpu(s_events, s_rebuilt):,.0f} | {s_rebuilt.peak_rss_mb:,.0f} MB |",
        f"| batch recompute, sample store (one process, whole store in memory) | "
        f"{s_events:,} | {recompute_s:.1f} | {r_rate:,.0f} | {r_rate / rate:.2f} | "
        f"{recompute_cpu:.0f} / - | {s_events / recompute_cpu:,.0f} (Python only) | |",
        "",
        f"Target < 5 min for 10 M events: {verdict(stored, rebuilt, processes)}. "
        f"Sample: rebuilt read models vs batch recompute: "
        f"{differences} differing cells of {cells:,}. Loading took {load_s:.0f} s "
        f"(+ {vacuum_s:.0f} s VACUUM ANALYZE), not part of the figure. "
        f"Rebuild said: {rebuilt.output}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--processes", type=int, default=2, help="rebuild processes")
    parser.add_argument("--sample", type=int, default=300_000,
                        help="events of the peer store (recompute holds them all in memory)")
    parser.add_argument("--shards", type=int, default=2, help="loader processes")
    parser.add_argument("--keep", type=Path, help="keep the database here (and reuse it)")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.events, args.processes, args.sample, args.shards, args.keep)))


if __name__ == "__main__":
    main()
