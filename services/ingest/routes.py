"""POST /v1/events: one event, a JSON array, or NDJSON; per-event results in input order."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from kommunepuls.auth import Principal, Role
from kommunepuls.domain.events import EXAMPLES
from kommunepuls.web.problems import PROBLEM_RESPONSES, ProblemError
from kommunepuls.web.security import require_roles
from services.ingest.bodies import MalformedJSON, json_items, ndjson_items
from services.ingest.intake import RawItem, ingest_items
from services.ingest.models import IngestResult

router = APIRouter(prefix="/v1", tags=["events"])
Sender = Annotated[Principal, Depends(require_roles(Role.fagsystem))]
NDJSON = "application/x-ndjson"


class MalformedBody(ProblemError):
    """The body is not JSON (400)."""

    status, slug, title = 400, "malformed-json", "Malformed JSON"


class PayloadTooLarge(ProblemError):
    """More bytes or events than one request may carry (413)."""

    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaType(ProblemError):
    """Neither JSON nor NDJSON (415)."""

    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


async def _read_limited(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _items(body: bytes, media_type: str) -> list[RawItem]:
    if media_type == NDJSON:
        return ndjson_items(body)
    try:
        return json_items(body)
    except MalformedJSON as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from None


_EXAMPLE = EXAMPLES["tilbud_started"]
_OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One event (object), several (array), or NDJSON (one event per line). "
                       "Each event is an envelope as in `schemas/envelope.schema.json`.",
        "content": {
            "application/json": {
                "schema": {"oneOf": [{"$ref": "#/components/schemas/EventIn"},
                                     {"type": "array",
                                      "items": {"$ref": "#/components/schemas/EventIn"}}]},
                "examples": {"one": {"value": _EXAMPLE},
                             "batch": {"value": [EXAMPLES["visitation"], _EXAMPLE]}},
            },
            NDJSON: {"schema": {"type": "string"},
                     "example": "\n".join(orjson.dumps(e).decode()
                                          for e in (EXAMPLES["visitation"], _EXAMPLE))},
        },
    }
}


@router.post(
    "/events", response_model=IngestResult, openapi_extra=_OPENAPI_BODY,
    summary="Send case events",
    description="Stores each valid event exactly once (event_id is the idempotency key) and "
                "answers per event, in input order. Good events beside bad ones are stored.",
    responses={**PROBLEM_RESPONSES, 400: {"description": "Body is not JSON"},
               413: {"description": "Too many bytes or events"},
               415: {"description": "Not JSON or NDJSON"}},
)
async def post_events(request: Request, principal: Sender) -> Response:
    settings = request.app.state.settings
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in ("application/json", NDJSON):
        raise UnsupportedMediaType(f"send application/json or {NDJSON}, not {media_type!r}")
    body = await _read_limited(request, settings.ingest_max_bytes)
    items = _items(body, media_type)
    if len(items) > settings.ingest_max_events:
        raise PayloadTooLarge(f"{len(items)} events; at most {settings.ingest_max_events} "
                              "per request")
    outcome = await ingest_items(items, principal=principal, pool=request.app.state.pool,
                                 pseudonym_key=request.app.state.pseudonym_key,
                                 metrics=request.app.state.intake_metrics,
                                 appender=request.app.state.appender)
    # Already JSON in IngestResult's shape (response_model above documents it): returning a
    # Response skips FastAPI's re-validation of 1,000 results (see IngestOutcome).
    return Response(outcome.json(), media_type="application/json")
