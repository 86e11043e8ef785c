"""The metrics flush adds each partition's changes to one pooled row per cell, records
every change of a pooled value as a revision, and drops a cell that empties."""

import asyncio

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from kommunepuls import facts
from kommunepuls.config import Settings
from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Count, CountKey
from kommunepuls.facts import Fact, pack_all
from kommunepuls.kafka import topic_name
from services.metrics import store
from services.metrics.agents import MetricsWorker
from services.metrics.state import PartitionState
from services.metrics.store import flush, load_partition

DEN = Cell("fsm_virksomhedsforloeb", "851", "2018-03", 1, DENOMINATOR)
NUM = DEN._replace(part=NUMERATOR)
KEY = CountKey("fsm_virksomhedsforloeb", "851", "2018-03", 1)


async def rows(db: asyncpg.Pool) -> list[tuple[int, int, int, int]]:
    return [tuple(r) for r in await db.fetch(
        "SELECT partition, numerator, denominator, events_through FROM indicator_counts")]


async def revisions(db: asyncpg.Pool) -> list[tuple[int, int, int]]:
    return [tuple(r) for r in await db.fetch(
        "SELECT numerator, denominator, events_through FROM indicator_revisions ORDER BY id")]


async def test_partitions_share_one_row_per_cell_and_each_change_is_a_revision(
        db: asyncpg.Pool) -> None:
    p0, p1 = PartitionState(0), PartitionState(1)
    p0.apply(Fact("a", 1, 10, pack_all([DEN, NUM])))
    p0.through = 1
    assert await flush(db, [p0]) == 1
    assert await rows(db) == [(-1, 1, 1, 1)]
    # Another worker's partition adds to the same row: 1 of 2.
    p1.apply(Fact("b", 2, 10, pack_all([DEN])))
    p1.through = 2
    await flush(db, [p1])
    assert await rows(db) == [(-1, 1, 2, 2)]
    assert await revisions(db) == [(1, 1, 1), (1, 2, 2)]
    # a leaves the numerator as b enters it, in one flush: 1 of 2 still, no revision.
    p0.apply(Fact("a", 3, 10, pack_all([DEN])))
    p1.apply(Fact("b", 4, 10, pack_all([DEN, NUM])))
    p0.through, p1.through = 3, 4
    assert await flush(db, [p0, p1]) == 0
    assert await rows(db) == [(-1, 1, 2, 2)]
    # A restarted worker goes on from its stored state: b leaves, 0 of 1.
    p1 = await load_partition(db, 1)
    assert p1.through == 4 and not p1.dirty_cells
    p1.apply(Fact("b", 5, 10, ()))
    p1.through = 5
    await flush(db, [p1])
    assert await rows(db) == [(-1, 0, 1, 5)]
    # a leaves too: the cell is empty, its row goes and 0 / 0 is recorded (it was reported).
    p0.apply(Fact("a", 6, 10, ()))
    p0.through = 6
    await flush(db, [p0])
    assert await rows(db) == []
    assert await revisions(db) == [(1, 1, 1), (1, 2, 2), (0, 1, 5), (0, 0, 6)]


async def test_two_workers_flushing_the_same_cells_at_once_add_up(db: asyncpg.Pool) -> None:
    # 300 cells (municipality x period), every one in both partitions; flushed at the same
    # time from two connections, as two workers would: each waits on the other's rows.
    cells = [DEN._replace(municipality=m, period=f"2018-{p:02d}", group=g)
             for m in ("101", "147", "851", "157", "461") for p in range(1, 13)
             for g in (1, 2, 3, 6, None)]
    assert len(set(cells)) == 300
    p0, p1 = PartitionState(0), PartitionState(1)
    for n in range(3):  # 3 citizens in partition 0, 2 in partition 1, all in every cell
        p0.apply(Fact(f"a{n}", n + 1, 10, pack_all(cells)))
    for n in range(2):
        p1.apply(Fact(f"b{n}", n + 10, 10, pack_all(cells + [c._replace(part=NUMERATOR)
                                                             for c in cells])))
    p0.through, p1.through = 3, 11
    await asyncio.gather(flush(db, [p0]), flush(db, [p1]))
    pooled = await db.fetch("SELECT numerator, denominator FROM indicator_counts")
    assert len(pooled) == 300 and {tuple(r) for r in pooled} == {(2, 5)}
    # Each flush revised each cell once, in the order their commits took the rows, so
    # every cell's latest revision is the pooled value.
    assert await db.fetchval("SELECT count(*) FROM indicator_revisions") == 600
    latest = await db.fetch("""
        SELECT DISTINCT ON (indicator, municipality, period, grp) numerator, denominator
        FROM indicator_revisions ORDER BY indicator, municipality, period, grp, id DESC""")
    assert len(latest) == 300 and {tuple(r) for r in latest} == {(2, 5)}


async def test_facts_applied_as_they_arrive_are_counted_once_and_survive_a_redelivery(
        settings: Settings, db: asyncpg.Pool) -> None:
    def worker() -> MetricsWorker:
        return MetricsWorker(settings, CollectorRegistry(),
                             topic_name(settings, settings.topic_dead_letters))

    more = [(facts.HEADER_MORE, b"1")]
    first = facts.encode([Fact("a", 1, 10, pack_all([DEN, NUM]))])
    # a leaves the numerator and b enters the denominator while the worker pauses.
    second = facts.encode([Fact("a", 2, 10, pack_all([DEN]))])
    third = facts.encode([Fact("b", 3, 10, pack_all([DEN]))])
    w = worker()
    try:
        await w.process([(0, first, {facts.HEADER_THROUGH: b"1"})], [0])
        assert await rows(db) == [(-1, 1, 1, 1)]
        w.note_arrival(0, 1, more, second)
        w.flushing = True  # a record that arrives during a flush is left to the agent
        w.note_arrival(0, 2, [], third)
        w.flushing = False
        assert w.early == {(0, 1)} and w.partitions[0].total(pack_all([DEN])[0]) == 1
        assert await rows(db) == [(-1, 1, 1, 1)]  # applied, not yet written
        await w.process([(0, second, dict(more)), (0, third, {facts.HEADER_THROUGH: b"3"})],
                        [1, 2])
        # 0 of 2, through 3; each fact applied once (the early one is not applied again).
        assert await rows(db) == [(-1, 0, 2, 3)]
        assert await revisions(db) == [(1, 1, 1), (0, 2, 3)]
        assert w.metrics.facts.labels("applied")._value.get() == 3
        assert w.metrics.facts.labels("stale")._value.get() == 0
        assert not w.early
    finally:
        await w.io.close()
    # A crash before the acknowledgement: a new worker gets the records again. They are
    # stale against what was flushed, so nothing is counted twice.
    again = worker()
    try:
        await again.process([(0, first, {}), (0, second, dict(more)),
                             (0, third, {facts.HEADER_THROUGH: b"3"})], [0, 1, 2])
        assert again.metrics.facts.labels("stale")._value.get() == 3
    finally:
        await again.io.close()
    assert await rows(db) == [(-1, 0, 2, 3)]
    assert await revisions(db) == [(1, 1, 1), (0, 2, 3)]


async def test_a_partition_is_loaded_when_its_first_record_arrives(
        settings: Settings, db: asyncpg.Pool) -> None:
    # Partition 1 has a stored citizen: its state must be loaded before facts are applied.
    stored = PartitionState(1)
    stored.apply(Fact("b", 1, 10, pack_all([DEN])))
    stored.through = 1
    await flush(db, [stored])
    w = MetricsWorker(settings, CollectorRegistry(),
                      topic_name(settings, settings.topic_dead_letters))
    try:
        await w.start()
        more = [(facts.HEADER_MORE, b"1")]
        first = facts.encode([Fact("a", 2, 10, pack_all([DEN, NUM]))])
        w.note_arrival(1, 0, more, first)  # not loaded yet: left to the agent, load started
        assert w.early == set() and 1 in w.loads
        await w.loads[1]
        assert w.partitions[1].count(KEY) == Count(0, 1)  # what was stored, nothing lost
        w.note_arrival(1, 1, more, facts.encode([Fact("c", 3, 10, pack_all([DEN]))]))
        assert w.early == {(1, 1)} and w.partitions[1].count(KEY) == Count(0, 2)
        await w.process([(1, first, dict(more)),
                         (1, facts.encode([Fact("c", 3, 10, pack_all([DEN]))]),
                          {facts.HEADER_THROUGH: b"3"})], [0, 1])
        # a came through the agent, c on arrival, b from the store: 1 of 3, once each.
        assert await rows(db) == [(-1, 1, 3, 3)]
        assert w.metrics.facts.labels("applied")._value.get() == 2
        # A revoked partition's load is cancelled and its state dropped.
        w.note_arrival(2, 0, more, first)
        loading = w.loads[2]
        w.forget({2})
        await asyncio.gather(loading, return_exceptions=True)
        assert loading.cancelled() and 2 not in w.partitions and 2 not in w.loads
    finally:
        await w.io.close()


async def test_a_flush_of_many_citizens_in_small_chunks_writes_each_once(
        db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chunks of 3: rows are built ahead while the counts are written (two chunks' worth),
    # the rest after; every citizen of both partitions is stored once, with its cells.
    monkeypatch.setattr(store, "CHUNK", 3)
    monkeypatch.setattr(store, "CITIZENS_BETWEEN_YIELDS", 2)
    p0, p1 = PartitionState(0), PartitionState(1)
    for n in range(7):
        p0.apply(Fact(f"a{n}", n + 1, 10, pack_all([DEN] if n % 2 else [DEN, NUM])))
    for n in range(5):
        p1.apply(Fact(f"b{n}", n + 20, 10, pack_all([DEN])))
    p0.through, p1.through = 7, 24
    await flush(db, [p0, p1])
    stored = {(r["partition"], r["citizen_id"]): (r["position"], tuple(r["cells"]))
              for r in await db.fetch("SELECT * FROM citizen_contributions")}
    assert stored == {
        **{(0, f"a{n}"): (n + 1, pack_all([DEN] if n % 2 else [DEN, NUM])) for n in range(7)},
        **{(1, f"b{n}"): (n + 20, pack_all([DEN])) for n in range(5)}}
    # 4 of the 7 in partition 0 are in the numerator (a0, a2, a4, a6); 12 in the denominator.
    assert await rows(db) == [(-1, 4, 12, 24)]
    assert not p0.dirty_citizens and not p1.dirty_cells
