"""Group commit (services/ingest/appender.py): concurrent requests' appends share one
transaction, with the results of appending them one after the other in arrival order."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import asyncpg
import pytest

from kommunepuls.storage.event_store import (
    AppendResult,
    NewEvent,
    body_hash,
    head_position,
    read_after,
)
from services.ingest.appender import GroupAppender

KEY = b"k" * 32


async def in_flight(appender: GroupAppender, events: list[NewEvent]
                    ) -> asyncio.Task[list[AppendResult]]:
    """Start an append and let it take its group (and wait for the store) before returning."""
    task = asyncio.create_task(appender.append(events))
    for _ in range(3):  # the caller queues, the drain task starts and takes the group
        await asyncio.sleep(0)
    return task


def event(citizen: str, *, event_id: uuid.UUID | None = None, hours: int = 10) -> NewEvent:
    data = {"month": "2018-03", "hours": hours}
    return NewEvent(event_id=event_id or uuid.uuid4(), citizen_id=citizen, municipality="851",
                    type="ordinary_hours", schema_version=1, occurred_at=date(2018, 3, 31),
                    source="test", case_ref=None, data=data,
                    body_hash=body_hash(KEY, {"citizen_id": citizen, "data": data}))


async def test_waiting_requests_share_one_transaction_in_arrival_order(
        db: asyncpg.Pool) -> None:
    appender = GroupAppender(db)
    shared = uuid.uuid4()
    first = [event("a"), event("b")]                                  # alone: 1, 2
    second = [event("c", event_id=shared), event("d")]                # grouped: 3, 4
    third = [event("c", event_id=shared),                             # same body: duplicate of 3
             event("c", event_id=shared, hours=11), event("e")]      # other body: conflict; 5
    alone = await in_flight(appender, first)
    results = [await alone, *await asyncio.gather(appender.append(second),
                                                  appender.append(third))]
    assert [[(r.status, r.position) for r in rs] for rs in results] == [
        [("accepted", 1), ("accepted", 2)],
        [("accepted", 3), ("accepted", 4)],
        [("duplicate", 3), ("conflict", 3), ("accepted", 5)],
    ]
    stored = await read_after(db, 0)
    assert [e.citizen_id for e in stored] == ["a", "b", "c", "d", "e"]
    # The second and third requests waited for the first and went in one transaction:
    # their rows carry one recorded_at (the head's clock_timestamp()), the first another.
    recorded = [e.recorded_at for e in stored]
    assert recorded[2] == recorded[3] == recorded[4] != recorded[0]
    assert await head_position(db) == 5


async def test_a_failed_group_fails_each_of_its_requests_and_the_next_goes_on(
        db: asyncpg.Pool) -> None:
    appender = GroupAppender(db)
    async with db.acquire() as conn:  # a data error inside the COPY: the row is refused
        await conn.execute("ALTER TABLE events ADD CONSTRAINT small CHECK (citizen_id <> 'x')")
    alone = await in_flight(appender, [event("a")])
    outcomes = [await alone, *await asyncio.gather(appender.append([event("x")]),
                                                   appender.append([event("b")]),
                                                   return_exceptions=True)]
    assert [type(o).__name__ for o in outcomes] == ["list", "CheckViolationError",
                                                    "CheckViolationError"]
    again = await appender.append([event("c")])
    assert [(r.status, r.position) for r in again] == [("accepted", 2)]


async def test_a_cancelled_request_still_waiting_is_not_stored(db: asyncpg.Pool) -> None:
    appender = GroupAppender(db)
    running = await in_flight(appender, [event("a")])
    waiting = asyncio.create_task(appender.append([event("gone")]))
    await asyncio.sleep(0)  # queued behind the append in flight
    waiting.cancel()
    await running
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert [e.citizen_id for e in await read_after(db, 0)] == ["a"]
