"""What the simulator sends: an envelope (domain.md §3) and the simulated time it is sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from kommunepuls.simulator.facts import Fact


class Emission(NamedTuple):
    """One envelope as a fagsystem sends it at `emit_at` (simulated time, Danish local).

    `valid` is False for envelopes made invalid on purpose; `fault` names what was done to
    an emission (None for ordinary traffic): late, duplicate, retraction, correction, or
    invalid:<reason>.
    """

    emit_at: datetime
    envelope: dict[str, Any]
    valid: bool = True
    fault: str | None = None


def to_envelope(fact: Fact, event_id: str, cpr: str, samtale_version: int) -> dict[str, Any]:
    data = fact.data
    version = 1
    if fact.type == "samtale" and samtale_version == 2:
        # Contract v2 of samtale renamed form `personal` to `in_person`; v1 is still accepted.
        version = 2
        if data["form"] == "personal":
            data = {**data, "form": "in_person"}
    return {
        "event_id": event_id,
        "type": fact.type,
        "schema_version": version,
        "municipality": fact.municipality,
        "cpr": cpr,
        "occurred_at": fact.occurred.isoformat(),
        "source": fact.source,
        "case_ref": fact.case_ref,
        "data": data,
    }


def copy_envelope(envelope: dict[str, Any]) -> dict[str, Any]:
    """A copy that shares nothing mutable with the original (data is one level deep)."""
    return {**envelope, "data": dict(envelope["data"])}
