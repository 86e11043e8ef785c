"""Emissions to and from NDJSON files: one JSON object per line, gzip when the name ends in .gz.

Two shapes: *envelopes* (one envelope per line, exactly what a fagsystem POSTs; the send
time is only in the order of the lines) and *emissions* (`{"emit_at", "valid", "fault",
"envelope"}` per line, for replaying a run with its timing and its deliberate faults).
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from kommunepuls.simulator.emission import Emission


@contextmanager
def _open(path: Path, mode: str) -> Iterator[IO[bytes]]:
    if path.suffix == ".gz":
        # Level 4: most of level 9's size at a fraction of its time; runs are millions of lines.
        with gzip.open(path, mode + "b", compresslevel=4) as f:
            yield f  # type: ignore[misc]
    else:
        with path.open(mode + "b") as f:
            yield f


def write_envelopes(emissions: Iterable[Emission], path: Path | str) -> int:
    """Write one envelope per line, in the given (emit_at) order. Returns the line count."""
    n = 0
    with _open(Path(path), "w") as f:
        for e in emissions:
            f.write(orjson.dumps(e.envelope))
            f.write(b"\n")
            n += 1
    return n


def read_envelopes(path: Path | str) -> Iterator[dict[str, Any]]:
    with _open(Path(path), "r") as f:
        for line in f:
            if line.strip():
                yield orjson.loads(line)


def write_emissions(emissions: Iterable[Emission], path: Path | str) -> int:
    """Write emissions with their send time, validity and fault. Returns the line count."""
    n = 0
    with _open(Path(path), "w") as f:
        for e in emissions:
            f.write(
                orjson.dumps(
                    {
                        "emit_at": e.emit_at.isoformat(),
                        "valid": e.valid,
                        "fault": e.fault,
                        "envelope": e.envelope,
                    }
                )
            )
            f.write(b"\n")
            n += 1
    return n


def read_emissions(path: Path | str) -> Iterator[Emission]:
    with _open(Path(path), "r") as f:
        for line in f:
            if line.strip():
                row = orjson.loads(line)
                yield Emission(
                    datetime.fromisoformat(row["emit_at"]),
                    row["envelope"],
                    row["valid"],
                    row["fault"],
                )
