"""The ingest path's second round of fast paths agrees with what it replaced (issue 11).

Rules moved into pydantic-core (_CoreChecks) give the same values and the same errors as the
Python validators that define them; the merged date check, the orjson body parser, the
SHA-256-based HMAC and the stored data taken from the model's fields give what the
definitions give. Each test compares the two over every value that matters or many
generated ones; the whole file runs in a few seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
from datetime import date, datetime
from typing import Annotated, Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AfterValidator, BeforeValidator, TypeAdapter, ValidationError

from kommunepuls.domain.events import EXAMPLES, LEGACY_EXAMPLES, data_json, parse_event
from kommunepuls.domain.fields import (
    ISO_DATE_PATTERN,
    UUID_PATTERN,
    Cpr,
    Cvr,
    EventId,
    IsoDate,
    Month,
    MunicipalityCode,
    _canonical_uuid,
    _check_month,
    _check_municipality,
    _not_before_2000,
)
from kommunepuls.domain.identifiers import DDMMYY_PATTERN, _real_ddmmyy, check_cpr, check_cvr
from kommunepuls.keyed_hash import KeyedSha256
from kommunepuls.simulator import SimConfig, generate
from kommunepuls.storage.event_store import body_hasher
from services.ingest.bodies import MalformedJSON, loads, strict_loads
from services.ingest.intake import to_new_event

TODAY = date(2021, 1, 1)


def _core(adapter: TypeAdapter[Any], value: Any) -> tuple[str, Any]:
    try:
        return "ok", adapter.validate_python(value)
    except ValidationError as exc:
        return "err", [(e["type"], e["msg"]) for e in exc.errors(include_url=False)]


def _python(check: Any, value: str) -> tuple[str, Any]:
    # What pydantic made of a ValueError raised by the AfterValidator the rule replaces.
    try:
        return "ok", check(value)
    except ValueError as exc:
        return "err", [("value_error", f"Value error, {exc}")]


def test_ddmmyy_pattern_is_real_ddmmyy_for_every_six_digits() -> None:
    pattern = re.compile(DDMMYY_PATTERN)
    disagree = [n for n in range(1_000_000)
                if (pattern.fullmatch(f"{n:06d}") is not None) != _real_ddmmyy(f"{n:06d}")]
    assert disagree == []


def test_cpr_in_pydantic_core_is_check_cpr_for_every_ddmmyy() -> None:
    adapter = TypeAdapter(Cpr)
    values = [f"{n:06d}1234" for n in range(0, 1_000_000, 7)] + [
        "3112991234", "2902001234", "2902011234", "0101901234", "010190123", "01019012345",
        "010190-123", "O101901234", "٠١٠١٩٠١٢٣٤", "0101901234\n", "", "\ud800"]
    disagree = [v for v in values if _core(adapter, v) != _python(check_cpr, v)]
    assert disagree == []


def test_month_in_pydantic_core_is_check_month_for_every_year() -> None:
    adapter = TypeAdapter(Month)
    values = [f"{y:04d}-{m:02d}" for y in range(0, 10_000, 3) for m in range(14)] + [
        "1999-12", "2000-01", "2019-3", "2019-03\n", "19999-01", "２０１９-03", "", "2019_03"]
    disagree = [v for v in values if _core(adapter, v) != _python(_check_month, v)]
    assert disagree == []


def test_municipality_in_pydantic_core_is_the_reference_set() -> None:
    adapter = TypeAdapter(MunicipalityCode)
    values = [f"{n:03d}" for n in range(1000)] + ["0851", "851 ", "85", "", "８５１"]
    disagree = [v for v in values if _core(adapter, v) != _python(_check_municipality, v)]
    assert disagree == []


@given(st.from_regex(UUID_PATTERN, fullmatch=True) | st.text(max_size=40))
def test_event_id_in_pydantic_core_is_canonical_uuid(value: str) -> None:
    assert _core(TypeAdapter(EventId), value) == _python(_canonical_uuid, value)


@given(st.integers(0, 99_999_999).map(lambda n: f"{n:08d}") | st.text(max_size=10))
def test_cvr_in_pydantic_core_is_check_cvr(value: str) -> None:
    assert _core(TypeAdapter(Cvr), value) == _python(check_cvr, value)


def _iso_date_only_before(value: Any) -> Any:
    # IsoDate's before-validator as it was, with _not_before_2000 as a separate step.
    if isinstance(value, datetime):
        raise ValueError("must be a calendar date YYYY-MM-DD, not a timestamp")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE_PATTERN.fullmatch(value):
        return value
    raise ValueError("must be a calendar date YYYY-MM-DD")


IsoDateBefore = Annotated[date, BeforeValidator(_iso_date_only_before),
                          AfterValidator(_not_before_2000)]


def test_iso_date_checks_as_before_for_every_kind_of_date() -> None:
    # Every year with the days where calendars differ, and all days of the years where
    # leap rules matter; then what is not a plain date string.
    days = [(m, d) for m in range(14) for d in (0, 1, 28, 29, 30, 31, 32)]
    values: list[Any] = [f"{y:04d}-{m:02d}-{d:02d}" for y in range(0, 10_000, 7)
                         for m, d in days]
    values += [f"{y:04d}-{m:02d}-{d:02d}" for y in (0, 1, 1900, 1999, 2000, 2001, 2004, 2100)
               for m in range(14) for d in range(33)]
    values += ["2019-02-28T00:00", "20190228", "1577836800", "2019-2-28", "２０１９-02-28",
               "2019-02-28\n", "", 1577836800, None, True, date(2019, 2, 28),
               date(1999, 12, 31), datetime(2019, 2, 28), datetime(2019, 2, 28, 12)]
    now, before = TypeAdapter(IsoDate), TypeAdapter(IsoDateBefore)
    assert [v for v in values if _core(now, v) != _core(before, v)] == []


_ATOMS = ["0", "-0", "1", "1.5", "-0.0", "1e5", "1e400", "123456789012345678",
          "1234567890123456789", "99999999999999999999", "18446744073709551615", "0.1",
          "3.141592653589793238", "5e-324", "true", "false", "null", "NaN", "Infinity",
          '"a"', '"a:b"', '"\\u003a"', '"\\\\u003a"', '"\\ud800"', '"\\n"', '"\x01"',
          '"é"', '""', "01", "1.", ".5", "'a'", "[]", "{}"]
_KEYS = ['"a"', '"b"', '"a:"', '"\\u0061"', '":"', '""']


def _document(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 4 or roll < 0.45:
        return rng.choice(_ATOMS)
    space = " " if rng.random() < 0.2 else ""
    if roll < 0.7:
        return "[" + f",{space}".join(_document(rng, depth + 1)
                                      for _ in range(rng.randrange(4))) + "]"
    return "{" + ",".join(f"{rng.choice(_KEYS)}:{space}{_document(rng, depth + 1)}"
                          for _ in range(rng.randrange(4))) + "}"


def _parsed(parse: Any, raw: bytes) -> tuple[str, str]:
    try:
        return "ok", repr(parse(raw))  # repr: 1 and 1.0, -0.0 and 0.0 must not pass as equal
    except MalformedJSON as exc:
        return "err", str(exc)


def test_the_orjson_parse_gives_what_the_strict_parser_gives() -> None:
    # 20,000 generated documents (duplicate keys, long integers, escaped colons, NaN, lone
    # surrogates, broken tails), then real events with a duplicate key and deep nesting.
    rng = random.Random(11)
    raws = []
    for _ in range(20_000):
        text = _document(rng)
        if rng.random() < 0.05:
            text = text[:rng.randrange(len(text) + 1)]
        raws.append(text.encode("utf-8", "surrogatepass"))
    for event in EXAMPLES.values():
        raw = orjson.dumps(event)
        raws += [raw, raw.replace(b'"source":', b'"source":"x","source":', 1),
                 raw.replace(b'"data":{', b'"data":{"z":1,"z":1,', 1)]
    raws += [b"[" * n + b"]" * n for n in (255, 256, 1000, 1024)]
    raws += [b"\xef\xbb\xbf{}", b'["a\xff"]', b"", b" [1] "]
    assert [r for r in raws if _parsed(loads, r) != _parsed(strict_loads, r)] == []
    assert sum(_parsed(loads, r)[0] == "ok" for r in raws) > 5_000  # not only errors


def test_a_duplicate_key_is_refused_as_before() -> None:
    with pytest.raises(MalformedJSON, match="duplicate key 'a'"):
        loads(b'[{"b": 1}, {"a": "x:y", "a": 2}]')
    assert loads(b'{"a": "x:y", "b": {"a": 1}}') == {"a": "x:y", "b": {"a": 1}}
    assert json.loads('{"a": 12345678901234567890}') == loads(b'{"a": 12345678901234567890}')


@pytest.mark.parametrize("length", [0, 1, 32, 63, 64, 65, 100, 200])
def test_keyed_sha256_is_hmac_sha256(length: int) -> None:
    key = bytes(i % 251 for i in range(length))  # longer than a block (64) is hashed first
    keyed = KeyedSha256(key)
    for message in (b"", b"0101901234", b"x" * 1000):
        expected = hmac.new(key, message, hashlib.sha256)
        assert keyed.digest(message) == expected.digest()
        assert keyed.hexdigest(message) == expected.hexdigest()


def _events() -> list[dict[str, Any]]:
    events = [*EXAMPLES.values(), *LEGACY_EXAMPLES.values()]
    for version in (1, 2):
        config = SimConfig(seed=5, citizens=40, invalid_share=0.0, samtale_schema_version=version)
        events += [e.envelope for e in generate(config)]
    return events


def test_the_stored_row_is_what_data_json_gave() -> None:
    # The data dict now holds enum members and dates; orjson must write the bytes that
    # data_json's JSON-native values gave, for the jsonb and inside the body hash.
    key = b"k" * 40
    hasher = body_hasher(key)
    checked = 0
    for value in _events():
        event = parse_event(value, today=TODAY)
        new = to_new_event(event, "c" * 64, hasher)
        data = data_json(event)
        fields = {"citizen_id": "c" * 64, "municipality": event.municipality,
                  "type": event.type, "schema_version": event.schema_version,
                  "occurred_at": event.occurred_at.isoformat(), "source": event.source,
                  "case_ref": event.case_ref, "data": data}
        assert orjson.dumps(new.data) == orjson.dumps(data)
        assert new.body_hash == hasher(fields)
        checked += 1
    assert checked > 1_000
