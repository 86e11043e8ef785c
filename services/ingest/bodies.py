"""From a request body or an ingress record to items: JSON (one event or an array) or
NDJSON (one event a line, where a broken line costs only itself).

Duplicate keys are refused: parsers disagree on which of two values wins, and a sender
must never be able to make us store something other than what a reviewer of the same
bytes would read. Python's json with a pair hook checks that (NaN and Infinity are refused
too, as JSON has neither); it is the definition here (`strict_loads`). `loads` first tries
orjson, ~3 µs an event cheaper, and keeps its answer only where it must be the same.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from services.ingest.intake import RawItem

# orjson reads integers beyond 64 bits as floats (json: exact ints). An integer of at most
# 18 digits always fits; a body with any longer run of digits, in a number or a string,
# takes the strict parser. Found as a substring once every digit is a "0" and every other
# byte a space: one pass in C (a regular expression costs more than the parse it saves).
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGITS = b"0" * 19


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
    """`strict_loads(raw)`, through orjson when that must give the same value.

    orjson refuses what `strict_loads` refuses but for two things: it keeps the last of
    duplicate keys, and reads long integers as floats (bodies with those take the strict
    parser: _LONG_DIGITS). Whatever orjson refuses goes to `strict_loads`, for its error
    message. Duplicates are found by counting colons: outside strings a colon separates a
    key from its value, so the body has one per key written plus those inside strings;
    orjson's dump of what it read has one per key kept plus the same ones inside strings
    (it never escapes a colon). The counts differ exactly when keys were dropped, unless a
    colon was written as an escape (\\u003a): such bodies take the strict parser too, as do
    those nested deeper than orjson dumps (255). Where orjson accepts, its values are
    json's (numbers included); tests/unit compares the two on 20,000 generated bodies.
    """
    if _LONG_DIGITS in raw.translate(_DIGITS_AS_ZERO) or b"\\u003" in raw:
        return strict_loads(raw)
    try:
        value = orjson.loads(raw)
        colons = orjson.dumps(value).count(b":")
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return strict_loads(raw)
    return value if colons == raw.count(b":") else strict_loads(raw)


def strict_loads(raw: bytes) -> Any:
    """One strict JSON value (no duplicate keys, NaN or Infinity); raises MalformedJSON."""
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
