"""Generated events with one field spoiled: each is refused with a problem naming that field
(issue 7), and the same event unspoiled is accepted."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kommunepuls.domain.events import parse_event, validation_problems
from tests.unit.test_schemas import TODAY, valid_events

# (where, the spoiled value, the loc the problem must name); None deletes the field.
SPOILERS: list[tuple[tuple[str, ...], Any, list[str]]] = [
    (("municipality",), "999", ["municipality"]),
    (("municipality",), 851, ["municipality"]),
    (("cpr",), "3213000000", ["cpr"]),
    (("cpr",), "12345", ["cpr"]),
    (("cpr",), None, ["cpr"]),
    (("event_id",), "not-a-uuid", ["event_id"]),
    (("occurred_at",), "2999-01-01", ["occurred_at"]),
    (("occurred_at",), "1999-12-31", ["occurred_at"]),
    (("occurred_at",), "2019-02-30", ["occurred_at"]),
    (("source",), "", ["source"]),
    (("source",), None, ["source"]),
    (("case_ref",), "sag 0101901234", ["case_ref"]),
    (("data",), None, ["data"]),
    (("data",), "not an object", ["data"]),
]


@settings(max_examples=200, deadline=None)
@given(valid_events(), st.sampled_from(SPOILERS))
def test_a_spoiled_field_is_refused_by_name(body: dict[str, Any],
                                            spoiler: tuple[tuple[str, ...], Any, list[str]]
                                            ) -> None:
    parse_event(body, today=TODAY)  # the generator only makes valid events
    path, value, loc = spoiler
    spoiled = copy.deepcopy(body)
    target = spoiled
    for key in path[:-1]:
        target = target[key]
    if value is None:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    with pytest.raises(ValidationError) as refused:
        parse_event(spoiled, today=TODAY)
    problems = validation_problems(refused.value)
    assert any(p["loc"][:len(loc)] == loc for p in problems), problems
    # Messages never echo what was sent: a spoiled CPR must not come back in a problem.
    if path == ("cpr",) and isinstance(value, str):
        assert all(value not in str(p) for p in problems)
