"""Event contract v1, public API: parse what a sender sent, explain what was wrong, and
turn a valid event into the StoredEvent the pure core folds.

    event = parse_event(body, today=date(2019, 6, 30))      # raises ValidationError
    stored = to_stored(event, citizen_id=..., position=41, recorded_at=now)

Old schema versions are accepted and upcast here (on ingest) and by `upcast_stored` (on
reading the store), so everything past this module sees current versions only.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import InitErrorDetails

from kommunepuls.domain.envelopes import (
    CLOCK_SKEW,
    ENVELOPES,
    LEGACY_ENVELOPES,
    UNION_TAGS,
    AfklaretEvent,
    CaseworkerAssignedEvent,
    CvrCeasedEvent,
    CvrRegisteredEvent,
    EventIn,
    EventRetractedEvent,
    ExemptionEndedEvent,
    ExemptionStartedEvent,
    MicroloanEndedEvent,
    MicroloanGrantedEvent,
    OrdinaryHoursEvent,
    RaskmeldingEvent,
    RelocatedEvent,
    SamtaleEvent,
    SamtaleEventV1,
    SygemeldingEvent,
    TilbudEndedEvent,
    TilbudStartedEvent,
    VisitationEndedEvent,
    VisitationEvent,
)
from kommunepuls.domain.event_data import (
    CURRENT_VERSIONS,
    DATA_MODELS,
    EventType,
    UnknownSchemaVersion,
    accepted_versions,
    upcast,
)
from kommunepuls.domain.examples import EXAMPLES, LEGACY_EXAMPLES
from kommunepuls.domain.records import StoredEvent

__all__ = [
    "CLOCK_SKEW",
    "CURRENT_VERSIONS",
    "ENVELOPES",
    "EXAMPLES",
    "LEGACY_ENVELOPES",
    "LEGACY_EXAMPLES",
    "AfklaretEvent",
    "CaseworkerAssignedEvent",
    "CvrCeasedEvent",
    "CvrRegisteredEvent",
    "EventIn",
    "EventRetractedEvent",
    "EventType",
    "ExemptionEndedEvent",
    "ExemptionStartedEvent",
    "MicroloanEndedEvent",
    "MicroloanGrantedEvent",
    "OrdinaryHoursEvent",
    "RaskmeldingEvent",
    "RelocatedEvent",
    "SamtaleEvent",
    "SamtaleEventV1",
    "SygemeldingEvent",
    "TilbudEndedEvent",
    "TilbudStartedEvent",
    "UnknownSchemaVersion",
    "VisitationEndedEvent",
    "VisitationEvent",
    "data_json",
    "event_adapter",
    "parse_event",
    "stored_data",
    "to_stored",
    "upcast_stored",
    "validation_problems",
]

_ADAPTER: TypeAdapter[EventIn] = TypeAdapter(EventIn)
# The adapter's SchemaValidator, called without TypeAdapter's Python wrapper (per event).
_VALIDATE = _ADAPTER.validator.validate_python
# Anything shaped like a CPR (DDMMYY-SSSS, hyphen optional). pydantic's messages do not
# quote input today; this keeps a future message that does from leaking a person number.
_CPR_LIKE = re.compile(r"\d{6}-?\d{4}")


def event_adapter() -> TypeAdapter[EventIn]:
    """The TypeAdapter for EventIn (e.g. for its JSON Schema). Validate with `parse_event`,
    which also passes `today` and upcasts."""
    return _ADAPTER


def parse_event(obj: dict[str, Any], *, today: date | None = None) -> EventIn:
    """Validate one event as sent and return it in its type's current schema_version.

    `today` is the receiving day, the reference for "occurred_at is not in the future";
    it defaults to the local date. Raises pydantic.ValidationError; give it to
    `validation_problems` for a sender-safe description.
    """
    if not isinstance(obj, dict):
        raise ValidationError.from_exception_data(
            "EventIn", [InitErrorDetails(type="dict_type", loc=(), input=obj)]
        )
    context = _context(today or date.today())
    event: EventIn = _VALIDATE(obj, context=context)
    current = CURRENT_VERSIONS[event.type]  # type: ignore[index]  # a StrEnum key is its str
    if event.schema_version == current:
        return event
    version, data = upcast(event.type, event.schema_version, data_json(event))
    body = event.model_dump(mode="json") | {"schema_version": version, "data": data}
    return _ADAPTER.validate_python(body, context=context)


@functools.lru_cache(maxsize=8)
def _context(today: date) -> dict[str, date]:
    # One per receiving day, shared by its events (validators only read it), with the
    # latest occurred_at allowed worked out once: ingest validates thousands a second.
    return {"today": today, "latest": today + CLOCK_SKEW}


def validation_problems(exc: ValidationError) -> list[dict[str, Any]]:
    """The errors of a failed `parse_event` as [{"loc": [...], "msg": "..."}].

    Locations are as the sender wrote them (the model tag pydantic puts first is removed, so
    a bad tilbud kind is at ["data", "kind"]); messages never contain the sent values.
    """
    problems: list[dict[str, Any]] = []
    for error in exc.errors(include_url=False, include_context=False, include_input=False):
        loc: list[Any] = list(error["loc"])
        tag = loc.pop(0) if loc and loc[0] in UNION_TAGS else None
        msg: str = error["msg"].removeprefix("Value error, ")
        if error["type"] == "event_type":
            loc = ["type"]
        elif error["type"] == "dict_type" and not loc:
            msg = "an event must be a JSON object"
        elif error["type"] == "literal_error" and loc == ["schema_version"] and tag:
            kind = str(tag).split(".")[0]
            versions = ", ".join(str(v) for v in accepted_versions(kind))
            msg = f"{kind} accepts schema_version {versions}"
        problems.append(
            {
                "loc": [_CPR_LIKE.sub("[redacted]", p) if isinstance(p, str) else p for p in loc],
                "msg": _CPR_LIKE.sub("[redacted]", msg),
            }
        )
    return problems


def data_json(event: EventIn) -> dict[str, Any]:
    """The event's `data` as JSON-native values (ISO dates, enum values), for jsonb."""
    data = event.data
    # model_dump(mode="json") without its Python wrapper (ingest calls this per event).
    return data.__pydantic_serializer__.to_python(data, mode="json")  # type: ignore[no-any-return]


def to_stored(
    event: EventIn, *, citizen_id: str, position: int, recorded_at: datetime
) -> StoredEvent:
    """What the pure core receives: the event with the CPR replaced by its pseudonym, in the
    current schema_version, with the store's position and recorded_at."""
    version, data = upcast(event.type, event.schema_version, data_json(event))
    return StoredEvent(
        position=position,
        event_id=event.event_id,
        citizen_id=citizen_id,
        municipality=event.municipality,
        type=event.type,
        occurred_at=event.occurred_at,
        recorded_at=recorded_at,
        data=data,
        schema_version=version,
        source=event.source,
        case_ref=event.case_ref,
    )


def upcast_stored(stored: StoredEvent) -> StoredEvent:
    """A stored event lifted to its type's current schema_version (itself if current).

    Readers of the event store call this on every row, so old rows never reach the core.
    """
    if stored.schema_version == CURRENT_VERSIONS[EventType(stored.type)]:
        return stored
    version, data = upcast(stored.type, stored.schema_version, dict(stored.data))
    return dataclasses.replace(stored, schema_version=version, data=data)


def stored_data(stored: StoredEvent) -> BaseModel:
    """A stored event's data as its current, typed data model (upcast first if needed)."""
    current = upcast_stored(stored)
    return DATA_MODELS[EventType(current.type)].model_validate(dict(current.data))
