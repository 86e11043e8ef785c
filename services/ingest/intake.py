"""From raw items to stored events: validate, scope to the sender, pseudonymise, append.

Pure of HTTP: the HTTP route and (later) the Kafka ingress both call `ingest_items`, so a
fagsystem gets the same result whichever way it sends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Histogram
from pydantic import ValidationError

from kommunepuls.auth import Principal
from kommunepuls.domain.event_data import EventType
from kommunepuls.domain.events import data_json, parse_event, validation_problems
from kommunepuls.domain.identifiers import citizen_id
from kommunepuls.storage.event_store import NewEvent, append, body_hash
from kommunepuls.web.problems import PROBLEM_BASE, Problem
from services.ingest.models import EventResult, IngestResult

_KNOWN_TYPES = frozenset(t.value for t in EventType)


@dataclass(frozen=True, slots=True)
class RawItem:
    """One item of a request: parsed JSON, or the reason it could not be parsed."""

    value: Any
    parse_error: str | None = None


class IntakeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter("kommunepuls_events_ingested_total",
                              "Events received, by type and outcome.", ["type", "status"],
                              registry=registry)
        self.batch = Histogram("kommunepuls_ingest_batch_events", "Events per ingest request.",
                               registry=registry,
                               buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000))
        self.append = Histogram("kommunepuls_ingest_store_append_duration_seconds",
                                "Time to append one request's events to the store.",
                                registry=registry,
                                buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5))


def _problem(slug: str, title: str, status: int, detail: str,
             errors: list[dict[str, Any]] | None = None) -> Problem:
    return Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail,
                   errors=errors)  # type: ignore[arg-type]


def _sent_event_id(value: Any) -> str | None:
    event_id = value.get("event_id") if isinstance(value, dict) else None
    return event_id if isinstance(event_id, str) and len(event_id) <= 64 else None


async def ingest_items(
    items: list[RawItem],
    *,
    principal: Principal,
    pool: asyncpg.Pool,
    pseudonym_key: bytes,
    metrics: IntakeMetrics,
    today: date | None = None,
) -> IngestResult:
    results: list[EventResult | None] = [None] * len(items)
    pending: list[tuple[int, NewEvent]] = []
    for index, item in enumerate(items):
        sent_id = _sent_event_id(item.value)
        if item.parse_error is not None:
            problem = _problem("malformed-json", "Malformed JSON", 400, item.parse_error)
            results[index] = EventResult(index=index, event_id=None, status="rejected",
                                         position=None, problem=problem)
            metrics.events.labels("invalid", "rejected").inc()
            continue
        try:
            event = parse_event(item.value, today=today)
        except ValidationError as exc:
            errors = validation_problems(exc)
            detail = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(event)'}: {e['msg']}"
                               for e in errors)
            results[index] = EventResult(
                index=index, event_id=sent_id, status="rejected", position=None,
                problem=_problem("validation", "Invalid event", 422, detail, errors))
            metrics.events.labels(_type_label(item.value), "rejected").inc()
            continue
        if not principal.may_act_for(event.municipality):
            results[index] = EventResult(
                index=index, event_id=event.event_id, status="rejected", position=None,
                problem=_problem("forbidden", "Access denied", 403,
                                 f"this token may not send events for municipality "
                                 f"{event.municipality}",
                                 [{"loc": ["municipality"], "msg": "not in the token"}]))
            metrics.events.labels(event.type, "rejected").inc()
            continue
        pseudonym = citizen_id(event.cpr, pseudonym_key)  # the CPR goes no further than here
        data = data_json(event)
        fields = {"citizen_id": pseudonym, "municipality": event.municipality,
                  "type": event.type, "schema_version": event.schema_version,
                  "occurred_at": event.occurred_at.isoformat(), "source": event.source,
                  "case_ref": event.case_ref, "data": data}
        pending.append((index, NewEvent(
            event_id=UUID(event.event_id), citizen_id=pseudonym, municipality=event.municipality,
            type=event.type, schema_version=event.schema_version, occurred_at=event.occurred_at,
            source=event.source, case_ref=event.case_ref, data=data,
            body_hash=body_hash(pseudonym_key, fields))))
    if pending:
        started = time.perf_counter()
        async with pool.acquire() as conn:
            stored = await append(conn, [e for _, e in pending])
        metrics.append.observe(time.perf_counter() - started)
        for (index, new), outcome in zip(pending, stored, strict=True):
            if outcome.status == "conflict":
                problem = _problem(
                    "conflict", "Conflicting event_id", 409,
                    "an event with this event_id and a different body is already stored",
                    [{"loc": ["event_id"], "msg": "already used for another event"}])
                results[index] = EventResult(index=index, event_id=str(new.event_id),
                                             status="rejected", position=outcome.position,
                                             problem=problem)
                metrics.events.labels(new.type, "rejected").inc()
            else:
                results[index] = EventResult(index=index, event_id=str(new.event_id),
                                             status=outcome.status, position=outcome.position,
                                             problem=None)
                metrics.events.labels(new.type, outcome.status).inc()
    metrics.batch.observe(len(items))
    final = [r for r in results if r is not None]
    return IngestResult(
        accepted=sum(r.status == "accepted" for r in final),
        duplicates=sum(r.status == "duplicate" for r in final),
        rejected=sum(r.status == "rejected" for r in final),
        results=final)


def _type_label(value: Any) -> str:
    # Label values must stay few: an unknown or missing type is "invalid", never echoed.
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if kind in _KNOWN_TYPES else "invalid"
