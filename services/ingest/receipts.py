"""The Kafka ingress's answer to one inbound record, published to `fagsystem-receipts`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from services.ingest.models import IngestResult


class RecordRef(BaseModel):
    topic: str
    partition: int
    offset: int


class Receipt(IngestResult):
    """An `IngestResult` (the same per-event results as POST /v1/events: index within the
    record, event_id, accepted / duplicate / rejected, position, problem) plus what tells
    the sender which record it answers."""

    request_id: str | None = Field(
        description="The record's `request-id` header, echoed (the client sets one per record).")
    source: str | None = Field(description="The events' `source`, when they carry one.")
    record: RecordRef = Field(description="Where the inbound record was read.")
