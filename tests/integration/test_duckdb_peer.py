"""The DuckDB peer of the batch recompute (bench/duckdb_peer.py) agrees with our engine on
`fsm_virksomhedsforloeb`, cell by cell, on simulated traffic with faults; and gives the
domain.md §4 worked example's answer, worked out by hand."""

from datetime import date
from pathlib import Path

import asyncpg
import duckdb
from prometheus_client import CollectorRegistry

from bench.duckdb_peer import compare_with_duckdb, export_csv, import_csv
from bench.duckdb_sql import virksomhedsforloeb
from kommunepuls.auth import Principal, Role
from kommunepuls.config import Settings
from services.ingest.intake import IntakeMetrics, RawItem, ingest_items
from tests.integration.simulated_store import load_simulated
from tests.integration.test_pipeline import envelope, worked_example

TODAY = date(2019, 3, 15)


async def test_duckdb_equals_our_recompute_on_simulated_traffic(
        settings: Settings, db: asyncpg.Pool, tmp_path: Path) -> None:
    stored = await load_simulated(settings, db, citizens=400, today=TODAY)
    retractions = await db.fetchval("SELECT count(*) FROM events WHERE type = 'event_retracted'")
    relocations = await db.fetchval("SELECT count(*) FROM events WHERE type = 'relocated'")
    exemptions = await db.fetchval("SELECT count(*) FROM events WHERE type = 'exemption_ended'")
    assert retractions > 0 and relocations > 0 and exemptions > 0

    result = await compare_with_duckdb(db, TODAY, tmp_path)

    assert result.events == stored
    assert result.differences == []
    assert result.cells > 1_000


async def test_duckdb_gives_the_worked_example_by_hand(settings: Settings, db: asyncpg.Pool,
                                                       tmp_path: Path) -> None:
    """domain.md §4: 461 in 2019-06 is 2 / 4 (A and F of A, B, D, F). Added here: G, also
    visited on 2018-11-01, whose virksomhedspraktik in May is retracted -> 2 / 5."""
    events = worked_example()
    g = "0701851006"
    praktik = envelope(g, "tilbud_started", "2019-05-02",
                       {"tilbud_id": "T-G", "kind": "virksomhedspraktik"})
    events += [envelope(g, "visitation", "2018-11-01", events[0]["data"]), praktik,
               envelope(g, "event_retracted", "2019-05-20",
                        {"event_id": praktik["event_id"], "reason": "registreret_forkert"})]
    outcome = await ingest_items([RawItem(e) for e in events], pool=db, metrics=IntakeMetrics(
        CollectorRegistry()), principal=Principal("t", Role.fagsystem, frozenset({"461"})),
        pseudonym_key=settings.secret("pseudonym_key"))
    assert outcome.accepted == len(events)
    path = tmp_path / "events.csv"
    await export_csv(db, path, len(events))
    with duckdb.connect() as peer:
        import_csv(peer, path)
        cells = virksomhedsforloeb(peer, date(2019, 7, 15))

    assert cells[("461", "2019-06")] == (2, 5)
    result = await compare_with_duckdb(db, date(2019, 7, 15), tmp_path)
    assert result.differences == [] and result.cells == len(cells)
