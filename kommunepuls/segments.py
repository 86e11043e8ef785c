"""Segments: one Kafka record carrying an ordered run of stored events of one partition.

faust spends ~190 µs per record before an agent sees it (measurements.md), so one event per
record would cap a worker near 5k events/s; a segment of up to 500 events moves that cost
off the per-event path. Encoding is plain orjson, decoded straight into StoredEvent.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import msgspec
import orjson

from kommunepuls.domain.records import StoredEvent

FORMAT_VERSION = 1
HEADER_FIRST = "first_position"
HEADER_LAST = "last_position"
HEADER_COUNT = "count"
HEADER_FORMAT = "segment_format"


def partition_for(citizen_id: str, partitions: int) -> int:
    """Stable across processes and restarts (unlike Python's salted hash())."""
    return zlib.crc32(citizen_id.encode()) % partitions


@dataclass(frozen=True, slots=True)
class Segment:
    partition: int
    events: tuple[StoredEvent, ...]

    @property
    def first_position(self) -> int:
        return self.events[0].position

    @property
    def last_position(self) -> int:
        return self.events[-1].position

    def headers(self) -> list[tuple[str, bytes]]:
        return [(HEADER_FIRST, str(self.first_position).encode()),
                (HEADER_LAST, str(self.last_position).encode()),
                (HEADER_COUNT, str(len(self.events)).encode()),
                (HEADER_FORMAT, str(FORMAT_VERSION).encode())]


def split(events: Iterable[StoredEvent], partitions: int, max_events: int) -> Iterator[Segment]:
    """Group events (in position order) into per-partition segments of ≤ max_events,
    keeping position order inside each partition."""
    buckets: dict[int, list[StoredEvent]] = {}
    for event in events:
        bucket = buckets.setdefault(partition_for(event.citizen_id, partitions), [])
        bucket.append(event)
    for partition in sorted(buckets):
        bucket = buckets[partition]
        for start in range(0, len(bucket), max_events):
            yield Segment(partition, tuple(bucket[start:start + max_events]))


def encode(events: Sequence[StoredEvent]) -> bytes:
    return orjson.dumps([
        (e.position, e.event_id, e.citizen_id, e.municipality, e.type, e.schema_version,
         e.occurred_at.isoformat(), e.recorded_at.isoformat(), e.source, e.case_ref, e.data)
        for e in events])


def decode(value: bytes) -> list[StoredEvent]:
    return [
        StoredEvent(position=p, event_id=i, citizen_id=c, municipality=m, type=t,
                    schema_version=v, occurred_at=date.fromisoformat(o),
                    recorded_at=datetime.fromisoformat(r), source=s, case_ref=ref, data=d)
        for p, i, c, m, t, v, o, r, s, ref, d in orjson.loads(value)]


class _Located(msgspec.Struct, array_like=True):
    """The first three fields of an encoded event; msgspec skips the rest of the array
    without building it (the data dict above all)."""

    position: int
    event_id: msgspec.Raw
    citizen_id: str


_locate = msgspec.json.Decoder(list[_Located]).decode


def positions(value: bytes) -> list[tuple[str, int]]:
    """(citizen_id, position) of each event of a segment, without building the events: all
    the cohorts worker needs, as it reads the citizens' histories from the store anyway.
    0.9 -> 0.4 µs per event against decoding it all with orjson."""
    return [(e.citizen_id, e.position) for e in _locate(value)]
