"""The ingest path's fast checks agree with the definitions they replace (issue 11).

Each fast path (a DDMM set instead of building dates, ASCII codes instead of int(), lower()
instead of uuid.UUID, a copied keyed HMAC) is compared with the plain definition here, so
a speed-up can never change which events are accepted or how a stored body is hashed.
"""

from __future__ import annotations

import gc
import re
import uuid
from datetime import date

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from kommunepuls.domain.events import EXAMPLES, parse_event, validation_problems
from kommunepuls.domain.fields import UUID_PATTERN, _canonical_uuid
from kommunepuls.domain.identifiers import (
    CVR_WEIGHTS,
    check_cpr,
    contains_cpr,
    cpr_birth_dates,
    is_cpr,
    is_cvr,
)
from kommunepuls.storage.event_store import body_hash, body_hasher
from services.ingest.gc_tuning import restore_gc, tune_gc

_EMBEDDED = re.compile(r"(?<![0-9])([0-9]{6})-?([0-9]{4})(?![0-9])")


def test_is_cpr_agrees_with_the_birth_dates_for_every_ddmmyy() -> None:
    # Every YY for each day 01-31 of month 01-12 (where leap years matter); any other DDMM
    # (day 00 or > 31, month 00 or > 12) with three YY, as no year makes it a date.
    # The serial never matters. ~0.3 s.
    def candidates() -> list[str]:
        found = []
        for ddmm in (f"{n:04d}" for n in range(10_000)):
            plausible = 1 <= int(ddmm[:2]) <= 31 and 1 <= int(ddmm[2:]) <= 12
            found += [f"{ddmm}{yy:02d}" for yy in (range(100) if plausible else (0, 4, 99))]
        return found

    disagree = [ddmmyy for ddmmyy in candidates()
                if is_cpr(ddmmyy + "1234") != bool(cpr_birth_dates(ddmmyy + "1234"))]
    assert disagree == []


def test_29_february_is_real_in_years_divisible_by_four_only() -> None:
    # Hand-checked: 2000, 2004 and 1996 are leap years; 1900 is not, but 2000 is.
    assert is_cpr("2902001234") and is_cpr("2902041234") and is_cpr("2902961234")
    assert not is_cpr("2902011234") and not is_cpr("2902991234")
    assert check_cpr("3112991234") == "3112991234"


@given(st.text(alphabet="0123456789-ab ", max_size=40))
def test_contains_cpr_agrees_with_its_definition(text: str) -> None:
    expected = any(cpr_birth_dates(m.group(1) + m.group(2)) for m in _EMBEDDED.finditer(text))
    assert contains_cpr(text) is expected


@given(st.integers(min_value=0, max_value=99_999_999))
def test_is_cvr_agrees_with_the_weighted_sum(number: int) -> None:
    digits = f"{number:08d}"
    weighted = sum(int(d) * w for d, w in zip(digits, CVR_WEIGHTS, strict=True))
    assert is_cvr(digits) is (weighted % 11 == 0)


def test_is_cvr_on_hand_computed_numbers() -> None:
    # 12345674: 2+14+18+20+20+18+14+4 = 110 = 10 x 11. 12345675: 111, not divisible.
    assert is_cvr("12345674") and not is_cvr("12345675") and not is_cvr("1234567")


@given(st.from_regex(UUID_PATTERN, fullmatch=True))
def test_canonical_uuid_is_what_uuid_prints(value: str) -> None:
    assert _canonical_uuid(value) == str(uuid.UUID(value))


def test_body_hasher_gives_the_stored_digest() -> None:
    key = b"k" * 40
    fields = {"citizen_id": "c" * 64, "municipality": "851", "type": "samtale",
              "schema_version": 2, "occurred_at": date(2019, 3, 5), "source": "s",
              "case_ref": None, "data": {"held": True, "form": "phone", "kind": "ordinary"}}
    hasher = body_hasher(key)
    assert hasher(fields) == body_hash(key, fields)
    assert hasher(fields | {"source": "t"}) == body_hash(key, fields | {"source": "t"})
    assert hasher(fields) != hasher(fields | {"source": "t"})


def test_a_legacy_tag_sent_as_the_type_is_an_unknown_type() -> None:
    # "samtale.v1" names a model internally; as a type it used to escape as a bare
    # ValueError (failing the whole request) instead of a problem for this event.
    event = EXAMPLES["samtale"] | {"type": "samtale.v1", "schema_version": 1}
    try:
        parse_event(event, today=date(2021, 1, 1))
    except ValidationError as exc:
        problems = validation_problems(exc)
    assert [p["loc"] for p in problems] == [["type"]]
    assert problems[0]["msg"].startswith("'type' must be one of: ")


def test_samtale_version_1_is_still_read_as_version_2() -> None:
    event = EXAMPLES["samtale"] | {"schema_version": 1, "data": {
        "form": "personal", "held": True, "kind": "ordinary"}}
    parsed = parse_event(event, today=date(2021, 1, 1))
    assert parsed.schema_version == 2 and parsed.data.form == "in_person"


def test_gc_tuning_is_undone_at_shutdown() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    previous = tune_gc()
    try:
        assert previous == before
        assert gc.get_threshold()[0] >= 10_000 and gc.get_freeze_count() > frozen
    finally:
        restore_gc(previous)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
