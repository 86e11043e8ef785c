import asyncio
import random
import uuid
from datetime import date

import asyncpg

from kommunepuls.storage.event_store import NewEvent, append, body_hash, head_position, read_after

KEY = b"k" * 32


def event(citizen: str = "c1", *, event_id: uuid.UUID | None = None, hours: int = 10) -> NewEvent:
    fields = {"citizen_id": citizen, "type": "ordinary_hours", "data": {"month": "2018-03",
                                                                        "hours": hours}}
    return NewEvent(event_id=event_id or uuid.uuid4(), citizen_id=citizen, municipality="851",
                    type="ordinary_hours", schema_version=1, occurred_at=date(2018, 3, 31),
                    source="test", case_ref=None, data=fields["data"],
                    body_hash=body_hash(KEY, fields))


async def test_append_assigns_consecutive_positions_and_reads_back(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        results = await append(conn, [event("a"), event("b"), event("c")])
    assert [(r.status, r.position) for r in results] == [("accepted", 1), ("accepted", 2),
                                                         ("accepted", 3)]
    stored = await read_after(db, 0)
    assert [e.citizen_id for e in stored] == ["a", "b", "c"]
    assert stored[0].data == {"month": "2018-03", "hours": 10}
    assert stored[0].occurred_at == date(2018, 3, 31)
    assert await head_position(db) == 3
    assert [e.position for e in await read_after(db, 2)] == [3]


async def test_same_event_id_and_body_is_a_duplicate_with_the_original_position(
        db: asyncpg.Pool) -> None:
    first = event("a")
    async with db.acquire() as conn:
        await append(conn, [first, event("b")])
        again = await append(conn, [first])
    assert [(r.status, r.position) for r in again] == [("duplicate", 1)]
    assert await head_position(db) == 2


async def test_same_event_id_with_another_body_is_a_conflict(db: asyncpg.Pool) -> None:
    original = event("a", hours=10)
    changed = event("a", event_id=original.event_id, hours=12)
    async with db.acquire() as conn:
        await append(conn, [original])
        results = await append(conn, [changed])
    assert [(r.status, r.position) for r in results] == [("conflict", 1)]
    assert (await read_after(db, 0))[0].data["hours"] == 10


async def test_repeats_inside_one_batch_are_stored_once(db: asyncpg.Pool) -> None:
    one = event("a")
    async with db.acquire() as conn:
        results = await append(conn, [one, event("b"), one])
    assert [(r.status, r.position) for r in results] == [("accepted", 1), ("accepted", 2),
                                                         ("duplicate", 1)]


async def test_a_tailing_reader_never_skips_an_event_that_commits_late(db: asyncpg.Pool) -> None:
    """Many writers hold their transactions open for random times; one reader follows
    positions. It must see every event exactly once, in position order."""
    writers, batches, per_batch = 12, 6, 5
    rng = random.Random(7)
    expected: set[str] = set()
    done = asyncio.Event()

    async def writer(n: int) -> None:
        async with db.acquire() as conn:
            for _ in range(batches):
                batch = [event(f"w{n}") for _ in range(per_batch)]
                expected.update(str(e.event_id) for e in batch)
                delay = rng.uniform(0, 0.03)
                await append(conn, batch, before_commit=lambda d=delay: asyncio.sleep(d))

    seen: list[tuple[int, str]] = []

    async def reader() -> None:
        after = 0
        while True:
            finished = done.is_set()
            for e in await read_after(db, after, limit=7):
                seen.append((e.position, e.event_id))
                after = e.position
            if finished and after == await head_position(db):
                return
            await asyncio.sleep(0.001)

    read = asyncio.create_task(reader())
    await asyncio.gather(*(writer(n) for n in range(writers)))
    done.set()
    await asyncio.wait_for(read, 30)
    positions = [p for p, _ in seen]
    assert positions == list(range(1, writers * batches * per_batch + 1))
    assert {i for _, i in seen} == expected


async def test_a_stored_v1_samtale_is_read_as_v2(db: asyncpg.Pool) -> None:
    v1 = NewEvent(event_id=uuid.uuid4(), citizen_id="c", municipality="851", type="samtale",
                  schema_version=1, occurred_at=date(2018, 3, 1), source="old", case_ref=None,
                  data={"form": "personal", "held": True, "kind": "ordinary"}, body_hash=b"x")
    async with db.acquire() as conn:
        await append(conn, [v1])
    (stored,) = await read_after(db, 0)
    assert stored.schema_version == 2 and stored.data["form"] == "in_person"


async def test_two_appenders_racing_on_one_event_id_store_it_once(db: asyncpg.Pool) -> None:
    """The first appender holds X open; the second sends Y, X (same body) and Y again.
    The duplicate lookup runs before the lock, so the second only learns of X from the
    unique constraint and must retry its lookup under the lock: X is stored once, at the
    first appender's position 1; Y gets position 2."""
    x = event("c")
    y = event("d")
    started = asyncio.Event()

    async def hold() -> None:
        started.set()
        await asyncio.sleep(0.3)

    async with db.acquire() as first, db.acquire() as second:
        holding = asyncio.create_task(append(first, [x], before_commit=hold))
        await started.wait()
        raced = await append(second, [y, x, y])
        held = await holding
    assert [(r.status, r.position) for r in held] == [("accepted", 1)]
    assert [(r.status, r.position) for r in raced] == [("accepted", 2), ("duplicate", 1),
                                                       ("duplicate", 2)]
    assert await head_position(db) == 2
