from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from kommunepuls.domain.event_data import (
    SamtaleData,
    SamtaleForm,
    UnknownSchemaVersion,
    accepted_versions,
    upcast,
)
from kommunepuls.domain.events import (
    EXAMPLES,
    LEGACY_EXAMPLES,
    SamtaleEvent,
    parse_event,
    stored_data,
    to_stored,
    upcast_stored,
    validation_problems,
)
from kommunepuls.domain.records import StoredEvent

TODAY = date(2024, 6, 1)
RECORDED_AT = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_samtale_accepts_versions_1_and_2() -> None:
    assert accepted_versions("samtale") == (1, 2)
    assert accepted_versions("afklaret") == (1,)


def test_a_v1_samtale_is_upcast_to_v2_on_ingest() -> None:
    event = parse_event(copy.deepcopy(LEGACY_EXAMPLES[("samtale", 1)]), today=TODAY)
    assert isinstance(event, SamtaleEvent)
    assert event.schema_version == 2
    assert event.data.form is SamtaleForm.IN_PERSON
    stored = to_stored(event, citizen_id="c", position=1, recorded_at=RECORDED_AT)
    assert (stored.schema_version, stored.data["form"]) == (2, "in_person")


def test_a_v1_samtale_keeps_its_other_forms_when_upcast() -> None:
    body = copy.deepcopy(LEGACY_EXAMPLES[("samtale", 1)])
    body["data"]["form"] = "phone"
    assert parse_event(body, today=TODAY).data.form is SamtaleForm.PHONE


def test_a_v1_samtale_refuses_the_v2_vocabulary() -> None:
    body = copy.deepcopy(LEGACY_EXAMPLES[("samtale", 1)])
    body["data"]["form"] = "in_person"
    with pytest.raises(ValidationError) as info:
        parse_event(body, today=TODAY)
    assert [p["loc"] for p in validation_problems(info.value)] == [["data", "form"]]


def _stored_v1_samtale() -> StoredEvent:
    return StoredEvent(
        position=7,
        event_id="0d6c1f2e-4b6a-4c1e-9f3a-000000000017",
        citizen_id="c" * 64,
        municipality="851",
        type="samtale",
        occurred_at=date(2018, 11, 15),
        recorded_at=RECORDED_AT,
        data={"form": "personal", "held": True, "kind": "ordinary"},
        schema_version=1,
    )


def test_a_stored_v1_samtale_is_read_as_v2() -> None:
    old = _stored_v1_samtale()
    current = upcast_stored(old)
    assert current.schema_version == 2
    assert current.data == {"form": "in_person", "held": True, "kind": "ordinary"}
    assert old.data["form"] == "personal"  # the stored row is not changed
    assert stored_data(old) == SamtaleData(form=SamtaleForm.IN_PERSON, held=True, kind="ordinary")


def test_a_current_stored_event_is_read_unchanged() -> None:
    event = parse_event(copy.deepcopy(EXAMPLES["samtale"]), today=TODAY)
    stored = to_stored(event, citizen_id="c", position=1, recorded_at=RECORDED_AT)
    assert upcast_stored(stored) is stored


def test_upcast_does_not_mutate_its_input() -> None:
    data = {"form": "personal", "held": False, "kind": "first"}
    assert upcast("samtale", 1, data) == (2, {"form": "in_person", "held": False, "kind": "first"})
    assert data["form"] == "personal"


@pytest.mark.parametrize("version", [0, 3])
def test_upcast_refuses_unknown_versions(version: int) -> None:
    with pytest.raises(UnknownSchemaVersion):
        upcast("samtale", version, {})
