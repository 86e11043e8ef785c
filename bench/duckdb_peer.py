"""An outside peer for the batch recompute (issue 5): `fsm_virksomhedsforloeb` computed by
DuckDB SQL (bench/duckdb_sql.py) over the same stored events must equal ours, cell by
cell; its time is the ratio to beat.

    .venv/bin/python -m bench.duckdb_peer [--events 1000000] [--keep DIR]

A fresh embedded PostgreSQL gets simulated events (faults on) by COPY (as bench.replay
loads them); the store is exported to CSV with PostgreSQL's COPY (timed apart), read into
DuckDB (timed apart), and evaluated there; our side is `kommunepuls recompute`'s core
(every indicator, reading the store included) and, for the like-for-like figure, our
engine on this one indicator with the events already in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import asyncpg
import duckdb

from bench.duckdb_sql import Cells, virksomhedsforloeb
from kommunepuls.domain.catalogue import definition
from kommunepuls.domain.evaluation import evaluate
from kommunepuls.domain.records import StoredEvent
from kommunepuls.recompute import recompute_counts
from kommunepuls.storage.event_store import head_position, iter_all

INDICATOR = "fsm_virksomhedsforloeb"
_EXPORT = """SELECT position, event_id, citizen_id, municipality, type, occurred_at, data
             FROM events WHERE position <= $1"""
_COLUMNS = {"position": "BIGINT", "event_id": "VARCHAR", "citizen_id": "VARCHAR",
            "municipality": "VARCHAR", "type": "VARCHAR", "occurred_at": "DATE",
            "data": "VARCHAR"}


@dataclass(frozen=True, slots=True)
class Difference:
    municipality: str
    period: str
    ours: tuple[int, int] | None
    duckdb: tuple[int, int] | None


@dataclass
class PeerResult:
    events: int
    cells: int  # cells compared (either side has them)
    differences: list[Difference]
    seconds: dict[str, float] = field(default_factory=dict)


async def export_csv(pool: asyncpg.Pool, path: Path, through: int) -> None:
    async with pool.acquire() as conn:
        await conn.copy_from_query(_EXPORT, through, output=str(path), format="csv")


def import_csv(db: duckdb.DuckDBPyConnection, path: Path) -> int:
    db.execute("CREATE OR REPLACE TABLE raw AS SELECT * FROM read_csv(?, header = false, "
               "columns = ?, quote = '\"', escape = '\"')", [str(path), _COLUMNS])
    found = db.execute("SELECT count(*) FROM raw").fetchone()
    return int(found[0]) if found else 0


def ours_only(counts: dict) -> Cells:  # type: ignore[type-arg]
    """Our counts of the one indicator, in the peer's shape."""
    return {(k.municipality, k.period): (c.numerator, c.denominator)
            for k, c in counts.items() if k.indicator == INDICATOR and c.denominator}


def differences(ours: Cells, theirs: Cells) -> list[Difference]:
    return [Difference(m, p, ours.get((m, p)), theirs.get((m, p)))
            for m, p in sorted(set(ours) | set(theirs)) if ours.get((m, p)) != theirs.get((m, p))]


async def compare_with_duckdb(pool: asyncpg.Pool, today: date, workdir: Path, *,
                              engine_alone: bool = True) -> PeerResult:
    """Export the store, evaluate it in DuckDB and with our recompute, compare all cells."""
    seconds: dict[str, float] = {}
    head = await head_position(pool)
    path = workdir / "events.csv"
    t = time.perf_counter()
    await export_csv(pool, path, head)
    seconds["export: PostgreSQL COPY to CSV"] = time.perf_counter() - t
    with duckdb.connect() as db:
        t = time.perf_counter()
        events = import_csv(db, path)
        seconds["import: CSV into DuckDB"] = time.perf_counter() - t
        t = time.perf_counter()
        theirs = virksomhedsforloeb(db, today)
        seconds["DuckDB SQL, this indicator"] = time.perf_counter() - t
    path.unlink()
    t = time.perf_counter()
    counts, _ = await recompute_counts(pool, today)
    seconds["our recompute, every indicator, store read included"] = time.perf_counter() - t
    if engine_alone:
        stored: list[StoredEvent] = []
        async for batch in iter_all(pool, through=head):
            stored.extend(batch)
        t = time.perf_counter()
        alone = evaluate(stored, today, catalogue=(definition(INDICATOR),))
        seconds["our engine, this indicator, events in memory"] = time.perf_counter() - t
        assert ours_only(alone) == ours_only(counts)
    ours = ours_only(counts)
    return PeerResult(events, len(set(ours) | set(theirs)), differences(ours, theirs), seconds)


def report(result: PeerResult, today: date) -> str:
    peer = result.seconds["DuckDB SQL, this indicator"]
    lines = [
        f"{result.events:,} stored events, today = {today}: `{INDICATOR}` in "
        f"{result.cells:,} (municipality, period) cells, **{len(result.differences)} "
        f"differences** between DuckDB and our recompute.",
        "",
        "| what | seconds | events/s | vs DuckDB SQL |",
        "|---|---|---|---|",
    ]
    for what, s in result.seconds.items():
        lines.append(f"| {what} | {s:.2f} | {result.events / s:,.0f} | {s / peer:.1f} |")
    for d in result.differences[:20]:
        lines.append(f"difference: {d.municipality} {d.period}: ours {d.ours}, "
                     f"DuckDB {d.duckdb}")
    return "\n".join(lines)


async def run(events: int, keep: Path | None) -> str:
    from bench.replay import bench_settings, fresh_store
    from bench.sections import machine
    from kommunepuls.embedded.postgres import EmbeddedPostgres
    from kommunepuls.storage.db import create_pool

    root = keep or Path(tempfile.mkdtemp(prefix="kommunepuls-bench-duckdb-"))
    postgres = EmbeddedPostgres(root / "pg", delete_on_stop=keep is None).start()
    try:
        await postgres.ensure_database()
        settings = bench_settings(postgres, root, "duckdb")
        stored, load_s, _ = await fresh_store(settings, events, 2)
        print(f"loaded {stored:,} events in {load_s:.0f} s", flush=True)
        pool = await create_pool(settings, max_size=2)
        try:
            assert settings.today is not None
            result = await compare_with_duckdb(pool, settings.today, root)
        finally:
            await pool.close()
    finally:
        postgres.stop()
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return (f"{machine()}; command `.venv/bin/python -m bench.duckdb_peer --events {events}`"
            f"; duckdb {duckdb.__version__}\n\n" + report(result, settings.today))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="keep the database here (and reuse it)")
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.events, args.keep)))


if __name__ == "__main__":
    main()
