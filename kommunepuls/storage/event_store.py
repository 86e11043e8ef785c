"""The event store: append (idempotent on event_id) and read in position order.

Positions are gap-free and commit-ordered: every append takes the one-row head's lock
before choosing positions and keeps it until commit. A reader that has seen position p can
therefore never later find a committed event below p — which a bigserial cannot promise
(a transaction that drew 41 may commit after 42 was read). The price is that appends
serialise; each is one round trip of COPY, so this costs little per event.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal, NamedTuple
from uuid import UUID

import asyncpg
import orjson

from kommunepuls.domain.events import CURRENT_VERSIONS, upcast_stored
from kommunepuls.domain.records import StoredEvent
from kommunepuls.keyed_hash import KeyedSha256

Status = Literal["accepted", "duplicate", "conflict"]
COLUMNS = ("position", "event_id", "citizen_id", "municipality", "type", "schema_version",
           "occurred_at", "recorded_at", "source", "case_ref", "data", "body_hash")


class EventStoreError(Exception):
    """Root of event store failures."""


class DuplicateEvent(EventStoreError):
    """An event_id is already stored (the unique constraint said so)."""


class NewEvent(NamedTuple):
    """A validated, pseudonymised event ready to append (no CPR, ever).

    A NamedTuple, not a frozen dataclass: as immutable, and ingest builds one per event,
    where a frozen dataclass's __init__ (one object.__setattr__ per field) cost ~2 µs of
    the ~50 µs an event costs in total, a NamedTuple ~0.3 µs.
    """

    event_id: UUID
    citizen_id: str
    municipality: str
    type: str
    schema_version: int
    occurred_at: date
    source: str
    case_ref: str | None
    data: Mapping[str, Any]
    body_hash: bytes


class AppendResult(NamedTuple):
    """What became of one appended event (a NamedTuple, built per event like NewEvent)."""

    event_id: UUID
    status: Status
    position: int | None  # the stored position (the original one for a duplicate)


def body_hash(key: bytes, fields: Mapping[str, Any]) -> bytes:
    """Keyed digest of an event's stored body: same retry -> same digest, CPR never hashed."""
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS, default=str)
    return hmac.new(key, canonical, hashlib.sha256).digest()


def body_hasher(key: bytes) -> Callable[[Mapping[str, Any]], bytes]:
    """`body_hash` under one key, for many events: the key is set up once (KeyedSha256;
    stored digests must never change: tests/unit compares the two)."""
    mac = KeyedSha256(key).digest
    dumps, sort_keys = orjson.dumps, orjson.OPT_SORT_KEYS

    def digest(fields: Mapping[str, Any]) -> bytes:
        return mac(dumps(fields, option=sort_keys, default=str))

    return digest


async def append(
    conn: asyncpg.Connection,
    events: Sequence[NewEvent],
    *,
    before_commit: Callable[[], Awaitable[None]] | None = None,
) -> list[AppendResult]:
    """Append events in one transaction; results in input order.

    `before_commit` lets tests hold the transaction open to provoke late commits.
    """
    if not events:
        return []
    try:
        try:
            return await _append(conn, events, before_commit, lock_first=False)
        except asyncpg.UniqueViolationError:
            # Another appender stored one of these event_ids between our lookup and our
            # COPY (the transaction is rolled back). Look up again under the lock, where
            # nobody can: then the retry's duplicate is a result, not an error.
            return await _append(conn, events, before_commit, lock_first=True)
    except asyncpg.UniqueViolationError:
        # Only reachable if something appends without the head lock; the constraint holds.
        raise DuplicateEvent("an event_id in the batch is already stored") from None


# One unique-index probe per id, as in _BY_CITIZEN below: as `event_id = ANY($1)` its plan
# on a store not analysed yet varied between runs, up to 1.7 ms a call (pg_stat_statements).
_KNOWN = """SELECT e.event_id, e.position, e.body_hash FROM unnest($1::uuid[]) AS k(id)
CROSS JOIN LATERAL (SELECT event_id, position, body_hash FROM events
                    WHERE event_id = k.id OFFSET 0) AS e"""

# Notified by every append that stored events, at its commit (see services/ingest/relay.py).
APPENDED_CHANNEL = "kommunepuls_events_appended"


async def _append(conn: asyncpg.Connection, events: Sequence[NewEvent],
                  before_commit: Callable[[], Awaitable[None]] | None, *,
                  lock_first: bool) -> list[AppendResult]:
    # The head lock is held from the UPDATE below to COMMIT, and every round trip in that
    # span also waits for this process's event loop, which may be busy validating another
    # request. So the duplicate lookup runs before the lock (a race with another appender
    # ends in the unique constraint, and append retries with lock_first), and taking the
    # lock reserves the positions in the same statement: the lock spans 4 round trips
    # (UPDATE, COPY's two, COMMIT) instead of 6. Measured with 2 ingest workers on a
    # contended machine: backends waiting on the lock in 6-28 % of samples instead of
    # 16-38 %, 13-53 % more events/s; alone on one connection, ~6 % more events/s.
    async with conn.transaction():
        if lock_first:
            await conn.execute("SELECT 1 FROM event_store_head FOR UPDATE")
        rows_known = await conn.fetch(_KNOWN, list({e.event_id for e in events}))
        known = {r["event_id"]: (r["position"], bytes(r["body_hash"])) for r in rows_known}
        # A new event's position is an offset from the head until the head is known.
        offsets: dict[UUID, tuple[int, bytes]] = {}
        planned: list[tuple[NewEvent, Status, int, bool]] = []  # (event, status, n, n is offset)
        for event in events:
            seen = known.get(event.event_id)
            if seen is not None:
                status: Status = "duplicate" if seen[1] == event.body_hash else "conflict"
                planned.append((event, status, seen[0], False))
                continue
            mine = offsets.get(event.event_id)
            if mine is not None:  # a repeat inside the batch: compared with its first copy
                status = "duplicate" if mine[1] == event.body_hash else "conflict"
                planned.append((event, status, mine[0], True))
                continue
            offsets[event.event_id] = (len(offsets) + 1, event.body_hash)
            planned.append((event, "accepted", len(offsets), True))
        head = 0
        if offsets:
            # The notification leaves at commit and wakes the relay (no extra round trip
            # while the lock is held; repeats in a transaction are sent once).
            head, recorded_at, _ = await conn.fetchrow(
                "UPDATE event_store_head SET position = position + $1 "
                "RETURNING position - $1, clock_timestamp(), pg_notify($2, '')",
                len(offsets), APPENDED_CHANNEL)
            # Each row is made as COPY encodes it: a list of all rows first would touch
            # every event's objects twice, the second time out of the CPU's caches
            # (~1.5 µs an event in the whole request, measured; the lock is held here).
            rows = ((head + n, e.event_id, e.citizen_id, e.municipality, e.type,
                     e.schema_version, e.occurred_at, recorded_at, e.source, e.case_ref,
                     e.data if type(e.data) is dict else dict(e.data), e.body_hash)
                    for e, status, n, _ in planned if status == "accepted")
            await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
        if before_commit:
            await before_commit()
    return [AppendResult(e.event_id, status, head + n if offset else n)
            for e, status, n, offset in planned]


_CURRENT_VERSIONS: dict[str, int] = {str(t): v for t, v in CURRENT_VERSIONS.items()}


def stored_from_row(row: asyncpg.Record) -> StoredEvent:
    return _current(StoredEvent(
        position=row["position"], event_id=str(row["event_id"]), citizen_id=row["citizen_id"],
        municipality=row["municipality"], type=row["type"], occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"], data=row["data"], schema_version=row["schema_version"],
        source=row["source"], case_ref=row["case_ref"]))


def _from_columns(row: asyncpg.Record) -> StoredEvent:
    """A row of _COLUMNS, by position: the cohorts worker reads whole histories this way,
    and unpacking (with the id already text) costs ~22 % less CPU than by name."""
    (position, event_id, citizen_id, municipality, type_, schema_version, occurred_at,
     recorded_at, source, case_ref, data) = row
    return _current(StoredEvent(position, event_id, citizen_id, municipality, type_,
                                occurred_at, recorded_at, data, schema_version, source,
                                case_ref))


def _current(stored: StoredEvent) -> StoredEvent:
    # Old schema versions are lifted here, so no reader of the store ever sees them. Rows
    # already current (nearly all) skip upcast_stored's enum lookup, a fifth of a row's cost
    # when the cohorts worker reads histories.
    if _CURRENT_VERSIONS.get(stored.type) == stored.schema_version:
        return stored
    return upcast_stored(stored)


_COLUMNS = """position, event_id::text AS event_id, citizen_id, municipality, type, schema_version,
              occurred_at, recorded_at, source, case_ref, data"""
_READ = f"SELECT {_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"


async def read_after(conn: asyncpg.Connection | asyncpg.Pool, after: int,
                     limit: int = 5000) -> list[StoredEvent]:
    """Events with position > after, in position order (safe to follow: see module doc)."""
    return [_from_columns(r) for r in await conn.fetch(_READ, after, limit)]


async def head_position(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    return int(await conn.fetchval("SELECT position FROM event_store_head"))


_SELECT = f"SELECT {_COLUMNS} FROM events"


# One index probe per citizen whatever the planner believes: as `citizen_id = ANY($1)`, a
# store not yet analysed (a fresh platform's first minutes) estimates each id at 0.5 % of
# the rows and scans the whole table, 18.8 ms instead of 2.4 ms for 100 citizens here.
# OFFSET 0 keeps the lateral subquery from being flattened into a join, which the planner
# would run as a hash join over the same whole-table scan.
# Each citizen's rows come in the index's (citizen_id, position) order: an outer ORDER BY
# position sorted a whole chunk's rows, data included (2,000 citizens: 68k rows, 16 MB
# spilled to disk), for an order no reader needs; measured 9.5 -> 7.3 µs per event.
_BY_CITIZEN = f"""SELECT e.* FROM unnest($1::text[]) AS c(id)
CROSS JOIN LATERAL ({_SELECT} WHERE citizen_id = c.id ORDER BY position OFFSET 0) AS e"""


async def read_citizens(conn: asyncpg.Connection | asyncpg.Pool,
                        citizen_ids: list[str]) -> dict[str, list[StoredEvent]]:
    """Every stored event of the given citizens, each list in position order."""
    found: dict[str, list[StoredEvent]] = {c: [] for c in citizen_ids}
    rows = await conn.fetch(_BY_CITIZEN, list(found))  # each citizen once
    for row in rows:
        found[row["citizen_id"]].append(_from_columns(row))
    return found


class History(NamedTuple):
    """A citizen's stored events of the types read, and the highest position of all."""

    through: int  # the citizen's highest stored position, unread types included (0: none)
    events: list[StoredEvent]  # in position order


_TYPE_NAME = re.compile(r"[a-z_]+")  # names that need no escaping inside '...'


def unread_predicate(types: Iterable[str]) -> str:
    """SQL leaving out these types: the partial index of migration 0007 has the same text,
    which is what lets the planner prove a query may use it."""
    names = sorted(types)
    if not all(_TYPE_NAME.fullmatch(t) for t in names):
        raise ValueError(f"not event type names: {names}")
    return "type NOT IN (" + ", ".join(f"'{t}'" for t in names) + ")" if names else "true"


# As _BY_CITIZEN, with each citizen's highest position beside its rows: the fact's version
# must count every event (an unread one too), or the next segment naming that citizen
# would have it evaluated again. A citizen with only unread events is one row of NULLs.
_HISTORY = """SELECT c.id, t.top, e.* FROM unnest($1::text[]) AS c(id)
CROSS JOIN LATERAL (SELECT max(position) AS top FROM events WHERE citizen_id = c.id) AS t
LEFT JOIN LATERAL (
    SELECT position, event_id::text AS event_id, municipality, type, schema_version,
           occurred_at, recorded_at, source, case_ref, data
    FROM events WHERE citizen_id = c.id AND {skip} ORDER BY position OFFSET 0) AS e ON true"""


@functools.cache
def history_query(unread: frozenset[str]) -> str:
    return _HISTORY.format(skip=unread_predicate(unread))


async def read_histories(conn: asyncpg.Connection | asyncpg.Pool, citizen_ids: list[str],
                         unread: frozenset[str]) -> dict[str, History]:
    """Each citizen's stored events except those of the `unread` types, with its highest
    position (a fold that never reads those types needs no more)."""
    found: dict[str, History] = {}
    for row in await conn.fetch(history_query(unread), list(dict.fromkeys(citizen_ids))):
        (citizen_id, top, position, event_id, municipality, type_, schema_version,
         occurred_at, recorded_at, source, case_ref, data) = row
        history = found.get(citizen_id)
        if history is None:
            history = found[citizen_id] = History(top or 0, [])
        if position is not None:
            history.events.append(_current(StoredEvent(
                position, event_id, citizen_id, municipality, type_, occurred_at,
                recorded_at, data, schema_version, source, case_ref)))
    return found


# Every citizen id by a loose index scan: one descent of events_citizen per citizen, to the
# first id above the one before, however many events each has (PostgreSQL has no skip scan
# for DISTINCT). On the 15,000-citizen bench store (491k events), all ids in pages of 5,000:
# 104 ms, SELECT DISTINCT 91 ms once the table was vacuumed; but on a copy not vacuumed yet
# (a fresh or busy store: no visibility map) DISTINCT's plan became a parallel seq scan and
# hash aggregate of the whole table for every page (600 ms here, growing with pages times
# events), while this kept its index plan, 113-148 ms (tests/integration/test_cohorts_sweep.py
# checks the plan on a never-analysed table).
_CITIZEN_IDS = """WITH RECURSIVE ids(id) AS (
    (SELECT citizen_id FROM events WHERE citizen_id > $1 ORDER BY citizen_id LIMIT 1)
    UNION ALL
    SELECT (SELECT citizen_id FROM events WHERE citizen_id > ids.id
            ORDER BY citizen_id LIMIT 1)
    FROM ids WHERE ids.id IS NOT NULL)
SELECT id FROM ids WHERE id IS NOT NULL LIMIT $2"""


async def iter_citizen_ids(conn: asyncpg.Connection | asyncpg.Pool, *,
                           page: int = 5_000) -> AsyncIterator[list[str]]:
    """Every stored citizen id (none is empty) in ascending order, a page at a time.

    Each page is its own statement, resuming after the last id of the one before: no
    transaction or connection is held between pages, and a citizen first stored meanwhile
    may or may not be listed.
    """
    after = ""
    while True:
        ids: list[str] = [row[0] for row in await conn.fetch(_CITIZEN_IDS, after, page)]
        if ids:
            yield ids
        if len(ids) < page:
            return
        after = ids[-1]


async def iter_all(pool: asyncpg.Pool, *, through: int | None = None,
                   batch: int = 20_000) -> AsyncIterator[list[StoredEvent]]:
    """The whole store in position order, in batches (constant memory per batch)."""
    after = 0
    limit_clause = "" if through is None else f" AND position <= {int(through)}"
    while True:
        rows = await pool.fetch(_SELECT + " WHERE position > $1" + limit_clause
                                + " ORDER BY position LIMIT $2", after, batch)
        if not rows:
            return
        yield [_from_columns(r) for r in rows]
        after = rows[-1]["position"]


async def iter_citizens(conn: asyncpg.Connection, low: str = "", high: str | None = None, *,
                        through: int | None = None, prefetch: int = 10_000
                        ) -> AsyncIterator[tuple[str, list[StoredEvent]]]:
    """Every citizen with low <= citizen_id < high (no upper bound if None) and their events
    through a position, one citizen at a time, each list in position order.

    A server-side cursor over rows ordered by (citizen_id, position), the events_citizen
    index's order: memory holds one citizen's events and a prefetch of rows, whatever the
    store's size (for bulk rebuilds; the stream reads by position instead).
    """
    query = _SELECT + " WHERE citizen_id >= $1 AND position <= $2"
    args: list[Any] = [low, through if through is not None else 2**63 - 1]
    if high is not None:
        query += " AND citizen_id < $3"
        args.append(high)
    query += " ORDER BY citizen_id, position"
    current: str | None = None
    events: list[StoredEvent] = []
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(query, *args)
        # Fetched in batches: iterating the cursor row by row costs a coroutine step each.
        while rows := await cursor.fetch(prefetch):
            for row in rows:
                citizen = row["citizen_id"]
                if citizen != current:
                    if events:
                        yield current, events  # type: ignore[misc]
                    current, events = citizen, []
                events.append(_from_columns(row))
    if events:
        yield current, events  # type: ignore[misc]
