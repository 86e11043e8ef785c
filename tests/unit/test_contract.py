from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from kommunepuls.domain.events import (
    CURRENT_VERSIONS,
    EXAMPLES,
    EventType,
    data_json,
    parse_event,
    to_stored,
    validation_problems,
)
from kommunepuls.domain.records import StoredEvent

TODAY = date(2024, 6, 1)
CPR = "0101901234"
RECORDED_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def example(event_type: str) -> dict[str, Any]:
    return copy.deepcopy(EXAMPLES[event_type])


def problems_of(body: Any, today: date = TODAY) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        parse_event(body, today=today)
    return validation_problems(info.value)


# --- valid events -----------------------------------------------------------------------


def test_there_is_one_example_per_event_type() -> None:
    assert set(EXAMPLES) == {t.value for t in EventType}


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_every_example_is_a_valid_event_of_its_type(event_type: str) -> None:
    event = parse_event(example(event_type), today=TODAY)
    assert event.type == event_type
    assert event.schema_version == CURRENT_VERSIONS[EventType(event_type)]


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_a_parsed_event_round_trips_through_json(event_type: str) -> None:
    event = parse_event(example(event_type), today=TODAY)
    again = parse_event(json.loads(event.model_dump_json()), today=TODAY)
    assert again == event


def test_events_are_frozen() -> None:
    event = parse_event(example("afklaret"), today=TODAY)
    with pytest.raises(ValidationError):
        event.municipality = "101"  # type: ignore[misc]


def test_event_id_is_stored_in_canonical_lower_case() -> None:
    body = example("afklaret") | {"event_id": "0D6C1F2E-4B6A-4C1E-9F3A-00000000000A"}
    assert parse_event(body, today=TODAY).event_id == "0d6c1f2e-4b6a-4c1e-9f3a-00000000000a"


def test_optional_fields_may_be_left_out() -> None:
    body = example("tilbud_started")
    del body["case_ref"], body["data"]["cvr"], body["data"]["hours_per_week"]
    event = parse_event(body, today=TODAY)
    assert event.case_ref is None
    assert data_json(event) == {
        "tilbud_id": "T-17",
        "kind": "virksomhedspraktik",
        "hours_per_week": None,
        "cvr": None,
    }


def test_ids_with_long_numbers_that_are_not_cprs_are_fine() -> None:
    body = example("tilbud_ended") | {"case_ref": "SAG-20190000012345"}
    body["data"]["tilbud_id"] = "T-3104901234"  # 31 April is no date, so no CPR
    assert parse_event(body, today=TODAY).case_ref == "SAG-20190000012345"


def test_visitation_group_may_be_null() -> None:
    body = example("visitation")
    body["data"] |= {"programme": "forsoeg_2021", "group": None}
    assert parse_event(body, today=TODAY).data.group is None


def test_occurred_at_may_be_one_day_ahead_for_clock_skew() -> None:
    body = example("afklaret") | {"occurred_at": (TODAY + timedelta(days=1)).isoformat()}
    assert parse_event(body, today=TODAY).occurred_at == TODAY + timedelta(days=1)


def test_today_defaults_to_the_local_date() -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    later = (date.today() + timedelta(days=2)).isoformat()
    assert parse_event(example("afklaret") | {"occurred_at": tomorrow}, today=None)
    with pytest.raises(ValidationError):
        parse_event(example("afklaret") | {"occurred_at": later})


# --- invalid events: one rule each, with the precise location ----------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        target[last] = value

    return apply


def _drop(path: str) -> Mutation:
    def apply(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for key in parents:
            target = target[key]
        del target[last]

    return apply


INVALID: dict[str, tuple[str, Mutation, list[Any]]] = {
    "bad tilbud kind": ("tilbud_started", _set("data.kind", "kaffe"), ["data", "kind"]),
    "missing data field": ("tilbud_ended", _drop("data.tilbud_id"), ["data", "tilbud_id"]),
    "missing envelope field": ("afklaret", _drop("source"), ["source"]),
    "missing data": ("afklaret", _drop("data"), ["data"]),
    "unknown municipality": ("afklaret", _set("municipality", "999"), ["municipality"]),
    "municipality as number": ("afklaret", _set("municipality", 851), ["municipality"]),
    "unknown to_municipality": (
        "relocated",
        _set("data.to_municipality", "100"),
        ["data", "to_municipality"],
    ),
    "relocated to the same municipality": (
        "relocated",
        _set("data.to_municipality", "851"),
        ["data", "to_municipality"],
    ),
    "occurred_at in the future": ("afklaret", _set("occurred_at", "2024-06-03"), ["occurred_at"]),
    "occurred_at before 2000": ("afklaret", _set("occurred_at", "1999-12-31"), ["occurred_at"]),
    "occurred_at not a real date": ("afklaret", _set("occurred_at", "2019-02-30"), ["occurred_at"]),
    "occurred_at a timestamp": (
        "afklaret",
        _set("occurred_at", "2019-02-01T00:00:00"),
        ["occurred_at"],
    ),
    "occurred_at a number": ("afklaret", _set("occurred_at", 1549000000), ["occurred_at"]),
    "cpr date not real": ("afklaret", _set("cpr", "3104901234"), ["cpr"]),
    "cpr 29 feb of no leap year": ("afklaret", _set("cpr", "2902011234"), ["cpr"]),
    "cpr too short": ("afklaret", _set("cpr", "010190123"), ["cpr"]),
    "cpr as number": ("afklaret", _set("cpr", 101901234), ["cpr"]),
    "cvr checksum": ("cvr_registered", _set("data.cvr", "12345675"), ["data", "cvr"]),
    "cvr checksum in tilbud": ("tilbud_started", _set("data.cvr", "12345670"), ["data", "cvr"]),
    "month 13": ("ordinary_hours", _set("data.month", "2019-13"), ["data", "month"]),
    "month one digit": ("ordinary_hours", _set("data.month", "2019-3"), ["data", "month"]),
    "month before 2000": ("ordinary_hours", _set("data.month", "1999-12"), ["data", "month"]),
    "month as date": ("ordinary_hours", _set("data.month", "2019-03-01"), ["data", "month"]),
    "extra envelope field": ("afklaret", _set("note", "x"), ["note"]),
    "extra data field": ("afklaret", _set("data.note", "x"), ["data", "note"]),
    "unknown type": ("afklaret", _set("type", "afklaret_v2"), ["type"]),
    "missing type": ("afklaret", _drop("type"), ["type"]),
    "unsupported schema_version": ("afklaret", _set("schema_version", 2), ["schema_version"]),
    "schema_version as boolean": ("afklaret", _set("schema_version", True), ["schema_version"]),
    "missing schema_version": ("afklaret", _drop("schema_version"), ["schema_version"]),
    "group 4": ("visitation", _set("data.group", 4), ["data", "group"]),
    "group as boolean": ("visitation", _set("data.group", True), ["data", "group"]),
    "group as string": ("visitation", _set("data.group", "1"), ["data", "group"]),
    "missing group": ("visitation", _drop("data.group"), ["data", "group"]),
    "programme not a slug": (
        "visitation",
        _set("data.programme", "Flere skal med"),
        ["data", "programme"],
    ),
    "bad target group": ("visitation", _set("data.target_group", "loen"), ["data", "target_group"]),
    "held as string": ("samtale", _set("data.held", "yes"), ["data", "held"]),
    "held as number": ("samtale", _set("data.held", 1), ["data", "held"]),
    "v1 samtale form in v2": ("samtale", _set("data.form", "personal"), ["data", "form"]),
    "bad samtale kind": ("samtale", _set("data.kind", "hyggesnak"), ["data", "kind"]),
    "hours per week above 80": (
        "tilbud_started",
        _set("data.hours_per_week", 80.5),
        ["data", "hours_per_week"],
    ),
    "negative hours per week": (
        "tilbud_started",
        _set("data.hours_per_week", -1),
        ["data", "hours_per_week"],
    ),
    "hours as string": ("ordinary_hours", _set("data.hours", "12"), ["data", "hours"]),
    "ordinary hours above 744": ("ordinary_hours", _set("data.hours", 745), ["data", "hours"]),
    "bad afklaret outcome": ("afklaret", _set("data.outcome", "lotto"), ["data", "outcome"]),
    "free-text reason": (
        "exemption_started",
        _set("data.reason", "Hun er på barsel"),
        ["data", "reason"],
    ),
    "missing exemption reason": ("exemption_ended", _drop("data.reason"), ["data", "reason"]),
    "first_sick_day not a date": (
        "sygemelding",
        _set("data.first_sick_day", "2019-02-30"),
        ["data", "first_sick_day"],
    ),
    "partial missing": ("raskmelding", _drop("data.partial"), ["data", "partial"]),
    "caseworker id with spaces": (
        "caseworker_assigned",
        _set("data.caseworker_id", "Jens Hansen"),
        ["data", "caseworker_id"],
    ),
    "event_id not a uuid": ("afklaret", _set("event_id", "event-1"), ["event_id"]),
    "event_id uuid without hyphens": (
        "afklaret",
        _set("event_id", "0d6c1f2e4b6a4c1e9f3a000000000001"),
        ["event_id"],
    ),
    "retracted event_id not a uuid": (
        "event_retracted",
        _set("data.event_id", "x"),
        ["data", "event_id"],
    ),
    "retracting itself": (
        "event_retracted",
        _set("data.event_id", "0d6c1f2e-4b6a-4c1e-9f3a-000000000016"),
        ["data", "event_id"],
    ),
    "empty source": ("afklaret", _set("source", ""), ["source"]),
    "source longer than 100": ("afklaret", _set("source", "s" * 101), ["source"]),
    "case_ref longer than 100": ("afklaret", _set("case_ref", "c" * 101), ["case_ref"]),
    "cpr inside case_ref": ("afklaret", _set("case_ref", "SAG-010190-1234"), ["case_ref"]),
    "cpr inside tilbud_id": (
        "tilbud_ended",
        _set("data.tilbud_id", "T0101901234"),
        ["data", "tilbud_id"],
    ),
    "data not an object": ("afklaret", _set("data", "job"), ["data"]),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_each_rule_is_reported_at_its_field(case: str) -> None:
    event_type, mutate, loc = INVALID[case]
    body = example(event_type)
    mutate(body)
    problems = problems_of(body)
    assert [p["loc"] for p in problems] == [loc], problems
    assert all(isinstance(p["msg"], str) and p["msg"] for p in problems)


def test_several_problems_are_all_reported() -> None:
    body = example("tilbud_started")
    body["municipality"] = "999"
    body["data"]["kind"] = "kaffe"
    locs = sorted(p["loc"] for p in problems_of(body))
    assert locs == [["data", "kind"], ["municipality"]]


def test_an_event_that_is_not_an_object_is_reported_at_the_root() -> None:
    assert problems_of(["not", "an", "event"]) == [
        {"loc": [], "msg": "an event must be a JSON object"}
    ]


def test_unsupported_version_names_the_accepted_versions() -> None:
    body = example("samtale") | {"schema_version": 3}
    assert problems_of(body) == [
        {"loc": ["schema_version"], "msg": "samtale accepts schema_version 1, 2"}
    ]


def test_unknown_type_lists_the_event_types() -> None:
    (problem,) = problems_of(example("afklaret") | {"type": "nope"})
    assert "tilbud_started" in problem["msg"]
    assert "nope" not in problem["msg"]


@pytest.mark.parametrize(
    "mutate",
    [
        _set("cpr", "3104901234"),  # the CPR itself is invalid
        _set("data.outcome", "0101901234"),  # a CPR pasted into an enum
        _set("case_ref", "0101901234" * 11),  # a CPR in a too-long free-text field
        _set("source", 101901234),  # a CPR-ish number of the wrong type
        _set("0101901234", "x"),  # a CPR as an unknown field's name
        _set("data.0101901234", "x"),
        _set("occurred_at", "0101901234"),
    ],
)
def test_problems_never_contain_a_cpr(mutate: Mutation) -> None:
    body = example("afklaret")
    mutate(body)
    text = json.dumps(problems_of(body))
    for fragment in ("0101901234", "3104901234", "101901234", "010190"):
        assert fragment not in text


# --- stored shape ------------------------------------------------------------------------


def test_to_stored_replaces_the_cpr_by_the_citizen_id() -> None:
    event = parse_event(example("tilbud_started"), today=TODAY)
    stored = to_stored(event, citizen_id="c" * 64, position=41, recorded_at=RECORDED_AT)
    assert stored == StoredEvent(
        position=41,
        event_id="0d6c1f2e-4b6a-4c1e-9f3a-000000000005",
        citizen_id="c" * 64,
        municipality="851",
        type="tilbud_started",
        occurred_at=date(2019, 3, 1),
        recorded_at=RECORDED_AT,
        data={
            "tilbud_id": "T-17",
            "kind": "virksomhedspraktik",
            "hours_per_week": 15.0,
            "cvr": "12345674",
        },
        schema_version=1,
        source="example-fagsystem",
        case_ref="SAG-5",
    )
    assert CPR not in repr(asdict(stored))


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_stored_data_is_json_native(event_type: str) -> None:
    event = parse_event(example(event_type), today=TODAY)
    data = to_stored(event, citizen_id="c", position=1, recorded_at=RECORDED_AT).data
    assert json.loads(orjson.dumps(data)) == data
    for value in data.values():
        assert value is None or type(value) in (str, int, float, bool)


def test_data_json_writes_dates_and_enums_as_plain_json_values() -> None:
    event = parse_event(example("sygemelding"), today=TODAY)
    assert data_json(event) == {"first_sick_day": "2019-02-04", "partial": False}
    samtale = data_json(parse_event(example("samtale"), today=TODAY))
    assert type(samtale["form"]) is str
