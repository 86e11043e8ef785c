"""Response models of the ingest API (the request is the event contract, `EventIn`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from kommunepuls.web.problems import Problem


class EventResult(BaseModel):
    index: int = Field(description="Position of the event in the request (0-based).")
    event_id: str | None = Field(description="The event_id as sent, if one could be read.")
    status: Literal["accepted", "duplicate", "rejected"]
    position: int | None = Field(
        description="Position in the event store (the original one for a duplicate).")
    problem: Problem | None = Field(description="Why the event was rejected (RFC 9457).")


class IngestResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResult]
