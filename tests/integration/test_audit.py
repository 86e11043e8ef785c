"""`kommunepuls audit` checks the live read models while events keep arriving: it finds
nothing wrong in read models a rebuild made, and then each fault it is there for: a
citizen's events never evaluated (lost on the way), a count that differs from the citizens'
rows, and a citizen's cells that differ from a fresh fold of its history."""

import asyncio
import os
import subprocess
import sys
from datetime import date

import asyncpg

from kommunepuls.audit import audit
from kommunepuls.config import Settings
from kommunepuls.domain.evaluation import Count, CountKey
from kommunepuls.facts import PART_BIT, key_columns
from kommunepuls.rebuild import rebuild
from kommunepuls.recompute import Difference
from kommunepuls.storage.audit_runs import latest_run
from kommunepuls.storage.event_store import append
from tests.integration.simulated_store import load_simulated
from tests.integration.test_event_store import event

TODAY = date(2019, 3, 15)


def key_of(cell: int) -> CountKey:
    indicators, municipalities, periods, groups = key_columns([cell & ~PART_BIT])
    return CountKey(indicators[0], municipalities[0], periods[0], groups[0])


async def count_of(db: asyncpg.Pool, key: CountKey) -> Count:
    row = await db.fetchrow(
        "SELECT numerator, denominator FROM indicator_counts WHERE indicator = $1 AND "
        "municipality = $2 AND period = $3 AND grp = $4", *key)
    return Count(row["numerator"], row["denominator"])


async def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMUNEPULS_")}
    env.update(settings.to_env())
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "kommunepuls", "audit", *args], env=env,
        capture_output=True, text=True, timeout=120)


async def test_audit_passes_rebuilt_read_models_and_finds_each_fault(
        settings: Settings, db: asyncpg.Pool) -> None:
    settings = settings.model_copy(update={"today": TODAY})
    await load_simulated(settings, db, citizens=60, today=TODAY)
    await rebuild(settings, processes=1, force=True)
    partitions = settings.kafka_partitions
    citizens = await db.fetchval("SELECT count(DISTINCT citizen_id) FROM events")
    assert citizens == 60

    clean = await audit(db, partitions, settle_s=900)
    assert (clean.citizens, clean.settled, clean.in_flight) == (citizens, citizens, 0)
    assert clean.ok and not clean.stuck and not clean.wrong and not clean.inconsistent
    passed = await run_cli(settings)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert f"{citizens} citizens: {citizens} settled and checked, 0 in flight" in passed.stderr
    first = await latest_run(db)  # each run is recorded for the gateway
    assert first is not None and first.passed and first.last_passed_at == first.finished_at
    assert (first.citizens, first.settled, first.stuck, first.wrong) == (citizens, citizens, 0, 0)

    # Events the live side has not evaluated: in flight while young, lost once older than
    # the settle time (settle 0 makes them old). One citizen with a row, one without.
    known = await db.fetchval("SELECT min(citizen_id) FROM citizen_contributions")
    async with db.acquire() as conn:
        await append(conn, [event(known), event("citizen-never-evaluated")])
    young = await audit(db, partitions, settle_s=900)
    assert (young.citizens, young.settled, young.in_flight) == (citizens + 1, citizens - 1, 2)
    assert young.ok
    old = await audit(db, partitions, settle_s=0)
    assert sorted(old.stuck) == sorted([known, "citizen-never-evaluated"])
    assert not old.ok and not old.wrong and not old.inconsistent

    # A count one above the citizens' rows.
    row = await db.fetchrow("SELECT citizen_id, cells FROM citizen_contributions "
                            "WHERE citizen_id > $1 AND cardinality(cells) > 0 "
                            "ORDER BY citizen_id LIMIT 1", known)
    cell = row["cells"][0]
    key = key_of(cell)
    before = await count_of(db, key)
    await db.execute("UPDATE indicator_counts SET numerator = numerator + 1 WHERE "
                     "indicator = $1 AND municipality = $2 AND period = $3 AND grp = $4", *key)
    miscounted = await audit(db, partitions, settle_s=900)
    assert miscounted.inconsistent == [
        Difference(key, Count(before.numerator + 1, before.denominator), before)]
    assert not miscounted.wrong and not miscounted.ok
    await db.execute("UPDATE indicator_counts SET numerator = numerator - 1 WHERE "
                     "indicator = $1 AND municipality = $2 AND period = $3 AND grp = $4", *key)

    # A citizen's row without its first cell: the citizen is wrong, and the cell's count is
    # now one above the rows (a numerator cell counts in the numerator, else the denominator).
    await db.execute("UPDATE citizen_contributions SET cells = cells[2:] WHERE citizen_id = $1",
                     row["citizen_id"])
    lost_cell = await audit(db, partitions, settle_s=900)
    assert lost_cell.wrong == [row["citizen_id"]]
    rows_now = (Count(before.numerator - 1, before.denominator) if cell & PART_BIT
                else Count(before.numerator, before.denominator - 1))
    assert lost_cell.inconsistent == [
        Difference(key, before, rows_now if rows_now.denominator else None)]

    # The command says all three, and fails.
    failed = await run_cli(settings, "--settle", "0")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    out = " ".join(failed.stderr.split())  # the console writes to stderr; rich wraps lines
    assert "2 stuck (stored events older than --settle, never evaluated)" in out
    assert f"1 wrong (cells differ from a fresh fold): {row['citizen_id'][:12]}" in out
    assert "counts that differ from the citizens' rows: 1" in out
    last = await latest_run(db)
    assert last is not None and not last.passed
    assert (last.citizens, last.settled, last.in_flight, last.stuck, last.wrong,
            last.inconsistent) == (citizens + 1, citizens - 1, 0, 2, 1, 1)  # wrong is settled
    assert last.last_passed_at == first.finished_at
