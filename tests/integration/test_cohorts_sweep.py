"""The cohorts worker's new-day sweep walks the store's citizen ids and evaluates them a
chunk at a time, as the live batches do: one fact per citizen of the swept partitions,
equal to a fold of its whole history, without reading or holding the whole store."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from kommunepuls.auth import Principal, Role
from kommunepuls.config import Settings
from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR
from kommunepuls.facts import Fact, unpack
from kommunepuls.reference import municipalities
from kommunepuls.segments import partition_for
from kommunepuls.storage.event_store import iter_citizen_ids, read_citizens
from services.cohorts import evaluate
from services.cohorts.evaluate import fact_for, sweep
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items
from tests.integration.simulated_store import load_simulated

TODAY = date(2019, 7, 15)
COUNT = 4
VISIT = {"programme": "flere_skal_med", "target_group": "kontanthjaelp_aktivitetsparat",
         "group": 1}
SAMTALE = {"form": "in_person", "held": True, "kind": "ordinary"}


def envelope(cpr: str, kind: str, occurred: str, data: dict[str, Any],
             schema_version: int = 1) -> dict[str, Any]:
    return {"event_id": str(uuid4()), "type": kind, "schema_version": schema_version,
            "municipality": "461", "cpr": cpr, "occurred_at": occurred, "source": "test",
            "data": data}


async def store(settings: Settings, db: asyncpg.Pool, envelopes: list[dict[str, Any]]) -> None:
    outcome = await ingest_items(
        [RawItem(e) for e in envelopes],
        principal=Principal("test", Role.fagsystem, frozenset(municipalities())), pool=db,
        pseudonym_key=settings.secret("pseudonym_key"),
        metrics=IntakeMetrics(CollectorRegistry()))
    assert outcome.accepted == len(envelopes)


async def citizen_of(db: asyncpg.Pool, event: dict[str, Any]) -> str:
    return str(await db.fetchval("SELECT citizen_id FROM events WHERE event_id = $1::uuid",
                                 event["event_id"]))


async def swept(db: asyncpg.Pool, partitions: set[int]) -> list[list[Fact]]:
    chunks = [(facts, last) async for facts, last in sweep(db, partitions, COUNT, TODAY)]
    # Only the final chunk is marked last (the worker sends the others with `more`, so the
    # metrics worker waits for the rest instead of flushing a part of the sweep).
    assert [last for _, last in chunks] == [False] * (len(chunks) - 1) + [True]
    return [facts for facts, _ in chunks if facts]


async def test_the_sweep_gives_each_citizen_of_the_swept_partitions_one_fact_of_its_whole_history(
        settings: Settings, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    await load_simulated(settings, db, citizens=40, today=TODAY)
    # T: visited to FSM group 1 in 461 on 1 Nov 2018, a virksomhedspraktik since 1 March
    # 2019 still open, then a samtale, stored last (its highest position is a samtale's).
    t_events = [envelope("0101851001", "visitation", "2018-11-01", VISIT),
                envelope("0101851001", "tilbud_started", "2019-03-01",
                         {"tilbud_id": "T-1", "kind": "virksomhedspraktik"}),
                envelope("0101851001", "samtale", "2019-05-02", SAMTALE, schema_version=2)]
    # S0..S5: only samtale events, two each.
    s_events = [envelope(f"0{i + 2}01851{100 + i}", "samtale", day, SAMTALE, schema_version=2)
                for i in range(6) for day in ("2019-02-01", "2019-04-01")]
    await store(settings, db, t_events + s_events)
    t = await citizen_of(db, t_events[0])
    samtale_only = {await citizen_of(db, e) for e in s_events}
    partitions = {partition_for(t, COUNT), partition_for(min(samtale_only), COUNT)}

    everyone = [r[0] for r in await db.fetch("SELECT DISTINCT citizen_id FROM events")]
    wanted = {c for c in everyone if partition_for(c, COUNT) in partitions}
    assert len(everyone) > len(wanted) > 0  # citizens both in and outside the sweep

    chunks = await swept(db, partitions)
    facts = [f for chunk in chunks for f in chunk]
    assert len(facts) == len(wanted)  # each citizen once
    assert {f.citizen_id for f in facts} == wanted  # and none of the other partitions
    histories = await read_citizens(db, sorted(wanted))  # every type, samtale included
    by_citizen = {f.citizen_id: f for f in facts}
    for citizen, events in histories.items():
        assert by_citizen[citizen] == fact_for(citizen, events, TODAY), citizen

    # T by hand, on 15 July 2019. Version: its highest position, the samtale's.
    fact = by_citizen[t]
    positions = [e.position for e in histories[t]]
    assert fact.version == (positions[-1], TODAY.toordinal())
    assert [e.type for e in histories[t]][-1] == "samtale"
    cells = {unpack(c) for c in fact.cells}
    assert {c.group for c in cells} == {1} and {c.municipality for c in cells} == {"461"}
    months = ["2018-11", "2018-12", "2019-01", "2019-02", "2019-03", "2019-04", "2019-05",
              "2019-06", "2019-07"]

    def periods(indicator: str, part: str) -> list[str]:
        return sorted(c.period for c in cells if c.indicator == indicator and c.part == part)

    # fsm_virksomhedsforloeb: in the denominator from the visitation's month to today's
    # (provisional) month, Nov 2018 - Jul 2019; in the numerator once the 3-month window
    # holds a praktik day, periods Mar - Jul 2019 (the praktik is still open).
    assert periods("fsm_virksomhedsforloeb", DENOMINATOR) == months
    assert periods("fsm_virksomhedsforloeb", NUMERATOR) == months[4:]
    assert periods("fsm_virksomhedsforloeb_ever", NUMERATOR) == months[4:]
    # The curve: month m1 = Nov 2018; only months ended by 15 July count (m1-m8, through
    # June), in virksomhedsforløb from m5 (March).
    assert periods("fsm_virksomhedsforloeb_curve", DENOMINATOR) == [f"m{m:02d}"
                                                                    for m in range(1, 9)]
    assert periods("fsm_virksomhedsforloeb_curve", NUMERATOR) == ["m05", "m06", "m07", "m08"]
    # 9 months x 5 monthly indicators in the denominator (45), 5 + 5 in the numerator of
    # the two virksomhedsforløb ones, and the curve's 8 + 4: 67 cells, no hours, none
    # afklaret.
    assert len(cells) == 67

    # A citizen with only samtale events: a fact at its highest position, no cells.
    for citizen in samtale_only & wanted:
        assert by_citizen[citizen].cells == ()
        assert by_citizen[citizen].position == max(e.position for e in histories[citizen])
    assert samtale_only & wanted

    # Pages of ids and chunks of citizens of any size give the same facts; every chunk
    # but the last is full, whatever the pages held.
    monkeypatch.setattr(evaluate, "IDS_PER_PAGE", 5)
    monkeypatch.setattr(evaluate, "CITIZENS_PER_READ", 7)
    small = await swept(db, partitions)
    assert [len(c) for c in small[:-1]] == [7] * (len(small) - 1) and 0 < len(small[-1]) <= 7
    assert sorted((f for c in small for f in c), key=lambda f: f.citizen_id) == sorted(
        facts, key=lambda f: f.citizen_id)
    assert await swept(db, set()) == []


async def test_an_empty_store_sweeps_no_citizen(db: asyncpg.Pool) -> None:
    assert await swept(db, {0, 1, 2, 3}) == []
    assert [page async for page in iter_citizen_ids(db)] == []
