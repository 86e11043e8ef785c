"""The cohorts worker reads and folds a batch's citizens a chunk at a time (bounded memory,
the next read overlapping the fold): the facts must not depend on the chunking."""

from datetime import date

import asyncpg
import pytest

from kommunepuls.config import Settings
from services.cohorts import evaluate
from services.cohorts.evaluate import iter_facts
from tests.integration.simulated_store import load_simulated

TODAY = date(2019, 3, 1)


async def collect(db: asyncpg.Pool, ids: list[str]) -> list[tuple[list[evaluate.Fact], bool]]:
    return [chunk async for chunk in iter_facts(db, ids, TODAY)]


async def test_facts_do_not_depend_on_the_chunking(settings: Settings, db: asyncpg.Pool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    await load_simulated(settings, db, citizens=40, today=TODAY)
    ids = [r[0] for r in await db.fetch("SELECT DISTINCT citizen_id FROM events")]
    assert len(ids) > 20
    whole = await collect(db, ids + ids[:5])  # a repeated citizen is evaluated once
    assert [last for _, last in whole] == [True]
    monkeypatch.setattr(evaluate, "CITIZENS_PER_READ", 7)
    chunked = await collect(db, ids)
    assert [last for _, last in chunked] == [False] * (len(chunked) - 1) + [True]
    assert len(chunked) == -(-len(ids) // 7)
    assert all(len(facts) == 7 for facts, _ in chunked[:-1])
    assert [f for facts, _ in chunked for f in facts] == whole[0][0]
    assert {f.citizen_id for f in whole[0][0]} == set(ids)
    assert any(f.cells for f in whole[0][0])
    assert await collect(db, []) == [([], True)]
