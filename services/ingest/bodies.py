"""From a request body or an ingress record to items: JSON (one event or an array) or
NDJSON (one event a line, where a broken line costs only itself).

Duplicate keys are refused: parsers disagree on which of two values wins, and a sender
must never be able to make us store something other than what a reviewer of the same
bytes would read. Python's json with a pair hook checks that (about 2 µs an event more
than orjson, measured; NaN and Infinity are refused too, as JSON has neither).
"""

from __future__ import annotations

import json
from typing import Any

from services.ingest.intake import RawItem


class MalformedJSON(ValueError):
    """The bytes are not one strict JSON value."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedJSON(f"duplicate key {key[:40]!r}")
            seen.add(key)
    return value


def _constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not JSON")


def loads(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs,
                          parse_constant=_constant)
    except UnicodeDecodeError:
        raise MalformedJSON("the body is not UTF-8") from None
    except RecursionError:
        raise MalformedJSON("nesting is too deep") from None
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{exc.msg} (line {exc.lineno}, column {exc.colno})") from None


def json_items(raw: bytes) -> list[RawItem]:
    """One event or an array of events; raises MalformedJSON for the whole body."""
    value = loads(raw)
    return [RawItem(v) for v in value] if isinstance(value, list) else [RawItem(value)]


def ndjson_items(raw: bytes) -> list[RawItem]:
    items = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(RawItem(loads(line)))
        except MalformedJSON as exc:
            items.append(RawItem(None, f"line {number}: {exc}"))
    return items
