"""What the cohorts worker's facts say about more to come (facts.HEADER_MORE, which spaces
the metrics worker's flushes): a batch behind a backlog says `more` while it evaluates
citizens; one that evaluates nobody (its citizens were already evaluated through their
whole stored history) says no more, so the metrics worker's last flush starts at once."""

from datetime import date
from typing import Any

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from kommunepuls import segments
from kommunepuls.config import Settings
from kommunepuls.storage.event_store import iter_all
from services.cohorts.agents import CohortsWorker
from tests.integration.simulated_store import load_simulated

TODAY = date(2019, 3, 1)


async def test_a_batch_behind_says_more_only_while_it_evaluates_citizens(
        settings: Settings, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    await load_simulated(settings, db, citizens=30, today=TODAY)
    stored = [e async for batch in iter_all(db) for e in batch]
    ids = sorted({e.citizen_id for e in stored})
    some = set(ids[:len(ids) // 2])
    count = settings.kafka_partitions

    def records(events: list[Any]) -> list[tuple[int, bytes]]:
        """A segment per partition, as the relay publishes them."""
        by: dict[int, list[Any]] = {}
        for event in events:
            by.setdefault(segments.partition_for(event.citizen_id, count), []).append(event)
        return [(p, segments.encode(e)) for p, e in sorted(by.items())]

    first = records([e for e in stored if e.citizen_id in some])
    second = records([e for e in stored if e.citizen_id not in some])
    worker = CohortsWorker(settings.model_copy(update={"today": TODAY}), CollectorRegistry(),
                           "facts", "dead")
    sent: list[tuple[int, int, int | None, bool]] = []

    async def send(partition: int, batch: list[Any], through: int | None, reason: str, *,
                   wait: bool = True, more: bool = False) -> list[Any]:
        sent.append((partition, len(batch), through, more))
        return []

    async def start() -> None:
        worker.pool = db

    monkeypatch.setattr(worker, "send", send)
    monkeypatch.setattr(worker, "start", start)
    # Half the citizens, every event of theirs: each is evaluated once, marked `more`;
    # `through` goes with each partition's last record.
    await worker.process(first, behind=True)
    assert sum(n for _, n, _, _ in sent) == len(some) == 15
    assert all(more for *_, more in sent)
    assert {t for _, _, t, _ in sent if t} == {
        max(e.position for e in stored if e.citizen_id in some
            and segments.partition_for(e.citizen_id, count) == p) for p, _ in first}
    # The other half: evaluated, `more` still...
    sent.clear()
    await worker.process(second, behind=True)
    assert sum(n for _, n, _, _ in sent) == 15 and all(more for *_, more in sent)
    # ...then a batch of citizens all evaluated already evaluates nobody: no more coming.
    sent.clear()
    await worker.process(first, behind=True)
    assert [(n, more) for _, n, _, more in sent] == [(0, False)] * len(first)
