"""Ingest's and the workers' hot statements keep index plans on tables not analysed yet.

A fresh platform fills its tables faster than autovacuum analyses them, and a prepared
statement's generic plan knows nothing of its arrays' lengths. Two plans went wrong that
way in bench/latency.py (pg_stat_statements, auto_explain): the cohorts' history read
scanned the whole event store per batch, and the metrics flush filtered every
municipality's counts per changed cell. Each test here runs on a never-analysed schema.
"""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg

from kommunepuls.domain.citizen import UNREAD_TYPES
from kommunepuls.storage.arrays import literal
from kommunepuls.storage.event_store import (
    _BY_CITIZEN,
    _CITIZEN_IDS,
    _KNOWN,
    History,
    history_query,
    iter_citizen_ids,
    read_citizens,
    read_histories,
)
from services.metrics.store import _DELETE_EMPTY, _REVISE

CITIZENS = 2_000


def nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    found = [plan]
    for child in plan.get("Plans", []):
        found += nodes(child)
    return found


async def plan_of(conn: asyncpg.Connection, query: str, *args: Any) -> list[dict[str, Any]]:
    explained = await (await conn.prepare(query)).explain(*args)
    return nodes(explained[0]["Plan"])


async def fill_store(db: asyncpg.Pool) -> None:
    """CITIZENS citizens (c0, c1, ...) with 20 samtale events each, never analysed."""
    await db.execute(f"""
        INSERT INTO events (position, event_id, citizen_id, municipality, type,
                            schema_version, occurred_at, recorded_at, source, data, body_hash)
        SELECT g, gen_random_uuid(), 'c' || (g % {CITIZENS}), '851', 'samtale', 1,
               '2018-03-01', now(), 's', '{{}}'::jsonb, '\\x00'
        FROM generate_series(1, 20 * {CITIZENS}) g""")


async def test_a_citizens_history_is_read_by_index_before_any_analyse(db: asyncpg.Pool) -> None:
    await fill_store(db)
    wanted = [f"c{i}" for i in range(0, CITIZENS, 20)]  # 100 citizens, 20 events each
    async with db.acquire() as conn:
        history_plan = await plan_of(conn, _BY_CITIZEN, wanted)
        scans = {(n["Node Type"], n.get("Relation Name")) for n in history_plan}
        # The control: the natural form of the query does scan the table here.
        natural = {(n["Node Type"], n.get("Relation Name")) for n in await plan_of(
            conn, "SELECT * FROM events WHERE citizen_id = ANY($1::text[])", wanted)}
    assert ("Seq Scan", "events") not in scans
    assert ("Bitmap Heap Scan", "events") in scans or ("Index Scan", "events") in scans
    # Each citizen's rows in position order by itself (index order, or a sort of its few
    # rows): never a sort of every citizen's rows together, data included, above the loop.
    assert history_plan[0]["Node Type"] == "Nested Loop", history_plan[0]["Node Type"]
    assert ("Seq Scan", "events") in natural
    async with db.acquire() as conn:
        # Ingest's duplicate lookup, in the generic plan a prepared statement ends up with.
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        known = {(n["Node Type"], n.get("Relation Name")) for n in await plan_of(
            conn, _KNOWN, [uuid4() for _ in range(50)])}
    assert ("Seq Scan", "events") not in known and ("Index Scan", "events") in known
    histories = await read_citizens(db, wanted + wanted[:3])  # a repeat is read once
    assert len(histories) == 100
    assert all(len(events) == 20 for events in histories.values())
    for citizen, events in histories.items():
        assert {e.citizen_id for e in events} == {citizen}
        assert [e.position for e in events] == sorted(e.position for e in events)


async def test_the_cohorts_history_read_skips_unread_types_by_the_partial_index(
        db: asyncpg.Pool) -> None:
    # Citizen c<i>: 20 events, every third a tilbud_started (read), the rest samtale (not
    # read by the fold); c<i>-talk has only samtale events.
    await db.execute(f"""
        INSERT INTO events (position, event_id, citizen_id, municipality, type,
                            schema_version, occurred_at, recorded_at, source, data, body_hash)
        SELECT g, gen_random_uuid(),
               'c' || (g % {CITIZENS}) || CASE WHEN g % {CITIZENS} < 10 THEN '-talk' ELSE '' END,
               '851', CASE WHEN g % 3 = 0 AND g % {CITIZENS} >= 10 THEN 'tilbud_started'
                           ELSE 'samtale' END,
               1, '2018-03-01', now(), 's', '{{"tilbud_id": "T", "kind": "mentor"}}'::jsonb,
               '\\x00'
        FROM generate_series(1, 20 * {CITIZENS}) g""")
    wanted = [f"c{i}" for i in range(20, CITIZENS, 20)] + ["c1-talk"]
    async with db.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        plan = await plan_of(conn, history_query(UNREAD_TYPES), wanted)
    indexes = {n.get("Index Name") for n in plan}
    # Fails if the fold starts reading a type migration 0007's index leaves out: the
    # query's predicate then no longer implies the index's, and the planner cannot use it.
    assert "events_citizen_folded" in indexes, indexes
    assert ("Seq Scan", "events") not in {(n["Node Type"], n.get("Relation Name")) for n in plan}
    assert plan[0]["Node Type"] == "Nested Loop", plan[0]["Node Type"]
    histories = await read_histories(db, [*wanted, wanted[0]], UNREAD_TYPES)
    assert len(histories) == len(wanted)
    # c20's positions are 20, 2020, ..., 38020; the tilbud ones those divisible by 3.
    c20 = histories["c20"]
    assert c20.through == 19 * CITIZENS + 20
    assert [e.position for e in c20.events] == [
        p for p in range(20, 20 * CITIZENS + 1, CITIZENS) if p % 3 == 0]
    assert {e.type for e in c20.events} == {"tilbud_started"}
    assert c20.events[0].data == {"tilbud_id": "T", "kind": "mentor"}
    assert histories["c1-talk"] == History(19 * CITIZENS + 1, [])


async def test_the_flushs_lookups_go_by_index_in_their_generic_plans(
        db: asyncpg.Pool) -> None:
    municipalities = [f"{m:03d}" for m in range(101, 199)]
    await db.execute("""
        INSERT INTO indicator_counts (indicator, municipality, period, grp, partition,
                                      numerator, denominator, events_through, computed_at)
        SELECT 'fsm_virksomhedsforloeb', m, '2018-' || lpad(p::text, 2, '0'), g, -1, 1, 2,
               1, now()
        FROM unnest($1::text[]) m, generate_series(1, 12) p, generate_series(0, 3) g""",
                     municipalities)
    await db.execute("""
        INSERT INTO indicator_revisions (indicator, municipality, period, grp, numerator,
                                         denominator, events_through)
        SELECT indicator, municipality, period, grp, r, 8, r
        FROM indicator_counts, generate_series(1, 5) r""")
    # 50 cells emptied (0 / 0): each was reported before, so each is revised (the EXISTS
    # lookup) and its row deleted.
    keys = [("fsm_virksomhedsforloeb", m, "2018-03", 1) for m in municipalities[:50]]
    keys_only = [literal(k[i] for k in keys) for i in range(4)]
    revise = [*keys_only, literal([0] * 50), literal([0] * 50), 7]
    async with db.acquire() as conn:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        plans = [await plan_of(conn, _REVISE, *revise),
                 await plan_of(conn, _DELETE_EMPTY, *keys_only)]
        await conn.execute("UPDATE indicator_counts SET numerator = 0, denominator = 0 "
                           "WHERE period = '2018-03' AND grp = 1 AND municipality <= '150'")
        await conn.execute(_REVISE, *revise)
        await conn.execute(_DELETE_EMPTY, *keys_only)
    for plan in plans:
        lookups = [n for n in plan if n["Node Type"] not in ("ModifyTable", "Tid Scan")
                   and n.get("Relation Name") in ("indicator_counts", "indicator_revisions")]
        assert lookups
        for node in lookups:
            # Every column of the cell in the index condition: what is left to filter is
            # the cell's one row (pooled, emptied), not the table.
            assert node["Node Type"] in ("Index Scan", "Index Only Scan"), node
            for column in ("indicator", "municipality", "period", "grp"):
                assert f".{column} = k." in node["Index Cond"] or f".{column} = u." in \
                    node["Index Cond"], node
            assert "municipality" not in node.get("Filter", ""), node
        assert not [n for n in plan if n["Node Type"] in ("Sort", "Seq Scan")]
    latest = await db.fetch("""
        SELECT DISTINCT ON (municipality) numerator, denominator, events_through
        FROM indicator_revisions WHERE period = '2018-03' AND grp = 1
        ORDER BY municipality, id DESC""")
    assert sorted({tuple(r) for r in latest}) == [(0, 0, 7), (5, 8, 5)]
    assert sum(tuple(r) == (0, 0, 7) for r in latest) == 50
    left = await db.fetchval("SELECT count(*) FROM indicator_counts "
                             "WHERE period = '2018-03' AND grp = 1")
    assert left == 98 - 50


async def test_the_citizen_ids_are_listed_once_each_by_index_before_any_analyse(
        db: asyncpg.Pool) -> None:
    # The new-day sweep's walk over the citizens (services/cohorts/evaluate.py) must still
    # descend the index once per citizen, never scan the table. SELECT DISTINCT, on a
    # store not yet vacuumed, scanned the whole table for each page (event_store.py).
    await fill_store(db)
    async with db.acquire() as conn:
        for mode in ("auto", "force_generic_plan"):
            await conn.execute(f"SET plan_cache_mode = {mode}")
            plan = {(n["Node Type"], n.get("Relation Name"))
                    for n in await plan_of(conn, _CITIZEN_IDS, "", 300)}
            assert ("Seq Scan", "events") not in plan, (mode, plan)
            assert ("Index Only Scan", "events") in plan or ("Index Scan", "events") in plan
        await conn.execute("RESET plan_cache_mode")
    pages = [page async for page in iter_citizen_ids(db, page=300)]
    assert [len(p) for p in pages] == [300] * 6 + [200]
    listed = [c for page in pages for c in page]
    assert listed == [r[0] for r in await db.fetch(
        "SELECT DISTINCT citizen_id FROM events ORDER BY citizen_id")]
    # A page that ends exactly at the last id: no empty page after it.
    assert [len(p) async for p in iter_citizen_ids(db, page=1_000)] == [1_000, 1_000]
