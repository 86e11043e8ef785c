"""Where a POST /v1/events spends its CPU: each step of the server's own code, timed on
its own over fresh events, in µs per event."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from bench.ingest_events import TODAY
from bench.ingest_report import Phase
from kommunepuls.auth import Principal
from kommunepuls.domain.events import parse_event
from kommunepuls.storage.event_store import body_hasher
from services.ingest.bodies import json_items
from services.ingest.intake import pseudonymiser, to_new_event


@contextmanager
def _cpu(micros: dict[str, float], name: str, n: int) -> Iterator[None]:
    """CPU time of the block, in µs per event (CPU, not wall: other load on the machine
    delays a step but does not make it cost more)."""
    started = time.process_time()
    yield
    micros[name] = micros.get(name, 0.0) + (time.process_time() - started) / n * 1e6


def breakdown(bodies: list[bytes], key: bytes, principal: Principal, store: Phase,
              asgi: Phase) -> dict[str, float]:
    """CPU µs per event of each step of POST /v1/events, with the server's own functions.

    One pass per step over every event, in the order of the request, each step on the
    previous step's fresh output (repeating one small batch would flatter every step
    with warm caches). The append's CPU is the store phase's (this process's share:
    rows, COPY encoding, the duplicate lookup); PostgreSQL's own CPU is shown beside it.
    The garbage collector runs as in the server, inside whichever step allocates.
    """
    gc.collect()
    micros: dict[str, float] = {}
    n = sum(len(orjson.loads(body)) for body in bodies)
    with _cpu(micros, "JSON parse (duplicate keys refused) + RawItem", n):
        items = [item for body in bodies for item in json_items(body)]
    assert len(items) == n
    with _cpu(micros, "validation (parse_event: pydantic + the contract's validators)", n):
        parsed = [parse_event(item.value, today=TODAY) for item in items]
    with _cpu(micros, "scope check (may_act_for)", n):
        for event in parsed:
            principal.may_act_for(event.municipality)
    with _cpu(micros, "pseudonym (HMAC-SHA256 of the CPR)", n):
        pseudonym = pseudonymiser(key)
        pseudonyms = [pseudonym(e.cpr) for e in parsed]
    with _cpu(micros, "stored row (data as JSON, body hash, NewEvent)", n):
        hasher = body_hasher(key)
        for event, citizen in zip(parsed, pseudonyms, strict=True):
            to_new_event(event, citizen, hasher)
    micros["append: this process (rows, COPY encoding, lookup)"] = store.cpu["ingest"] / \
        store.events * 1e6
    with _cpu(micros, "results + response JSON (orjson)", n):
        results = [{"index": i, "event_id": e.event_id, "status": "accepted",
                    "position": i + 1, "problem": None} for i, e in enumerate(parsed)]
        orjson.dumps({"accepted": n, "duplicates": 0, "rejected": 0, "results": results})
    micros["sum of the steps"] = sum(micros.values())
    micros["whole request, ASGI in-process (measured)"] = asgi.cpu["ingest"] / asgi.events * 1e6
    micros["append: PostgreSQL (measured, other processes)"] = \
        store.cpu["postgres"] / store.events * 1e6
    return micros
