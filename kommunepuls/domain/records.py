"""The stored event as plain data: what the pure core folds, whatever read it.

Ingest turns a validated envelope into a StoredEvent (CPR replaced by citizen_id,
position and recorded_at added). The event store, the relay's segments and the
batch recompute all hand the core this one shape, so the rules never see I/O types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


# Not frozen: a frozen dataclass sets each field through object.__setattr__, 2.0 instead of
# 0.3 µs an event, and the cohorts worker, the relay and the recompute build hundreds of
# thousands of these a second. Nothing changes one after it is built (data is a dict, so
# none was ever hashable either).
@dataclass(slots=True)
class StoredEvent:
    position: int
    event_id: str
    citizen_id: str
    municipality: str
    type: str
    occurred_at: date
    recorded_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    schema_version: int = 1
    source: str = ""
    case_ref: str | None = None
