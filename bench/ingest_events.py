"""The ingest benchmark's events: valid envelopes in a jobcentre's mix of types, and the
rows ingest would store for them (what the COPY ceiling and the store phase write)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from kommunepuls.domain.events import EXAMPLES, data_json, parse_event
from kommunepuls.domain.identifiers import citizen_id
from kommunepuls.storage.event_store import NewEvent, body_hash

PSEUDONYM_KEY = "bench-pseudonym-key-" + "k" * 32
JWT_SECRET = "bench-jwt-secret-" + "s" * 32
# No 751 here: the relocated example moves to 751, which must differ from municipality.
MUNICIPALITIES = ("851", "101", "461", "561", "147")
# A jobcentre's traffic, roughly: monthly hours reports and samtaler dominate.
TYPE_WEIGHTS = {
    "ordinary_hours": 25, "samtale": 20, "tilbud_started": 8, "tilbud_ended": 8,
    "caseworker_assigned": 6, "visitation": 5, "visitation_ended": 3, "sygemelding": 5,
    "raskmelding": 5, "exemption_started": 2, "exemption_ended": 2, "afklaret": 3,
    "relocated": 1, "cvr_registered": 1, "cvr_ceased": 1, "event_retracted": 1,
}
EVENTS_PER_CITIZEN = 30
TODAY = date(2021, 1, 1)  # the receiving day for in-process validation (events are 2018-20)


def make_events(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """`count` valid envelopes from the contract's examples, with distinct event_ids,
    ~30 events per citizen (CPR), each citizen in one municipality, dates in 2018-2020."""
    rng = random.Random(seed)
    citizens = [(_cpr(rng), rng.choice(MUNICIPALITIES))
                for _ in range(max(1, count // EVENTS_PER_CITIZEN))]
    kinds, weights = list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values())
    events = []
    for kind in rng.choices(kinds, weights, k=count):
        event: dict[str, Any] = orjson.loads(orjson.dumps(EXAMPLES[kind]))  # a deep copy
        cpr, municipality = rng.choice(citizens)
        event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event["cpr"] = cpr
        event["municipality"] = municipality
        event["occurred_at"] = (date(2018, 1, 1) + timedelta(days=rng.randrange(1096))).isoformat()
        event["case_ref"] = f"SAG-{rng.randrange(100_000)}"
        events.append(event)
    return events


def _cpr(rng: random.Random) -> str:
    # Day 1-28 keeps every DDMMYY a real date; the serial is free (no modulus-11 check).
    return (f"{rng.randint(1, 28):02d}{rng.randint(1, 12):02d}{rng.randint(40, 99):02d}"
            f"{rng.randrange(10_000):04d}")


def batches(events: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(events[i:i + size]) for i in range(0, len(events), size)]


def new_event(value: dict[str, Any], key: bytes) -> NewEvent:
    """The row ingest would store for `value`: validated, pseudonymised, hashed."""
    event = parse_event(value, today=TODAY)
    pseudonym = citizen_id(event.cpr, key)
    data = data_json(event)
    return NewEvent(event_id=uuid.UUID(event.event_id), citizen_id=pseudonym,
                    municipality=event.municipality, type=event.type,
                    schema_version=event.schema_version, occurred_at=event.occurred_at,
                    source=event.source, case_ref=event.case_ref, data=data,
                    body_hash=body_hash(key, stored_fields(event, pseudonym, data)))


def stored_fields(event: Any, pseudonym: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"citizen_id": pseudonym, "municipality": event.municipality, "type": event.type,
            "schema_version": event.schema_version,
            "occurred_at": event.occurred_at.isoformat(), "source": event.source,
            "case_ref": event.case_ref, "data": data}


def copy_rows(events: Sequence[NewEvent]) -> list[tuple[Any, ...]]:
    """The tuples `append` hands to COPY, in COLUMNS order, positions 1..n."""
    now = datetime.now(UTC)
    return [(n, e.event_id, e.citizen_id, e.municipality, e.type, e.schema_version,
             e.occurred_at, now, e.source, e.case_ref, dict(e.data), e.body_hash)
            for n, e in enumerate(events, start=1)]

