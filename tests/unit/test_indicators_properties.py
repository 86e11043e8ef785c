"""Properties of the engine that no hand-picked example can cover.

Histories are random but honest: each citizen's facts fall on distinct days, so that the
only thing left to chance is what the properties vary (arrival order, duplicates,
retractions, moves). Same-day ties are settled by rules tested in test_citizen.py.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kommunepuls.domain.citizen import FSM, UNREAD_TYPES, fold
from kommunepuls.domain.effective import deduplicate, retracted_ids
from kommunepuls.domain.evaluation import (
    Cell,
    Counts,
    contributions,
    delta,
    evaluate,
    tally_totals,
)
from kommunepuls.domain.records import StoredEvent

MUNICIPALITIES = ("461", "751", "825")
KINDS = ("virksomhedspraktik", "loentilskud_privat", "fleksjob", "mentor", "ordinaer_uddannelse")
FIRST_DAY = date(2018, 1, 1)
DAYS = 900  # up to mid-2020
EPOCH = datetime(2021, 1, 1, tzinfo=UTC)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Fact:
    """An event before the store gives it a position."""

    event_id: str
    citizen_id: str
    type: str
    occurred_at: date
    municipality: str
    data: dict[str, Any]

    def stored(self, position: int) -> StoredEvent:
        return StoredEvent(
            position=position,
            event_id=self.event_id,
            citizen_id=self.citizen_id,
            municipality=self.municipality,
            type=self.type,
            occurred_at=self.occurred_at,
            recorded_at=EPOCH + timedelta(seconds=position),
            data=self.data,
        )


@st.composite
def citizen_history(draw: st.DrawFn, citizen_id: str) -> list[Fact]:
    offsets = draw(st.lists(st.integers(0, DAYS - 1), min_size=1, max_size=14, unique=True))
    home = draw(st.sampled_from(MUNICIPALITIES))
    facts: list[Fact] = []
    for i, offset in enumerate(offsets):
        day = FIRST_DAY + timedelta(days=offset)
        kind = "visitation" if i == 0 else draw(st.sampled_from(_TYPES))
        municipality = home
        if kind == "visitation":
            municipality = draw(st.sampled_from(MUNICIPALITIES))
            data = {
                "programme": FSM,
                "target_group": "kontanthjaelp_aktivitetsparat",
                "group": draw(st.sampled_from((1, 1, 2, 3, 6, None))),
            }
        elif kind == "visitation_ended":
            data = {"programme": FSM}
        elif kind in ("tilbud_started", "tilbud_ended"):
            data = {"tilbud_id": draw(st.sampled_from(("T1", "T2", "T3")))}
            if kind == "tilbud_started":
                data["kind"] = draw(st.sampled_from(KINDS))
                if draw(st.booleans()):
                    data["cvr"] = "12345674"
        elif kind == "ordinary_hours":
            month = date(day.year, day.month, 1) - timedelta(days=draw(st.sampled_from((0, 1))))
            data = {
                "month": f"{month.year:04d}-{month.month:02d}",
                "hours": draw(st.sampled_from((0, 12, 129.5, 130, 160, 160))),
            }
            if draw(st.booleans()):
                data["cvr"] = draw(st.sampled_from(("12345674", "87654321")))
        elif kind == "afklaret":
            data = {"outcome": "job"}
        elif kind == "relocated":
            data = {"to_municipality": draw(st.sampled_from(MUNICIPALITIES))}
        elif kind == "event_retracted":
            target = draw(st.integers(0, i - 1))
            data = {"event_id": facts[target].event_id, "reason": "fejl"}
        else:
            data = {"reason": "sygdom"}
        facts.append(Fact(f"{citizen_id}-{i}", citizen_id, kind, day, municipality, data))
    return facts


_TYPES = (
    "visitation",
    "visitation_ended",
    "tilbud_started",
    "tilbud_started",
    "tilbud_ended",
    "ordinary_hours",
    "ordinary_hours",
    "ordinary_hours",
    "ordinary_hours",
    "exemption_started",
    "exemption_ended",
    "afklaret",
    "relocated",
    "event_retracted",
)


@st.composite
def population(draw: st.DrawFn) -> list[Fact]:
    n = draw(st.integers(1, 4))
    return [fact for c in range(n) for fact in draw(citizen_history(f"c{c}"))]


todays = st.dates(min_value=date(2018, 3, 1), max_value=date(2020, 12, 31))


def store(facts: list[Fact], order: list[int] | None = None) -> list[StoredEvent]:
    """Give facts positions; `order[i]` is the arrival rank of fact i."""
    ranks = order if order is not None else list(range(len(facts)))
    return [fact.stored(rank + 1) for fact, rank in zip(facts, ranks, strict=True)]


@PROPERTY
@given(facts=population(), today=todays, seed=st.integers(0, 2**32 - 1))
def test_arrival_order_never_changes_any_indicator(
    facts: list[Fact], today: date, seed: int
) -> None:
    order = list(range(len(facts)))
    random.Random(seed).shuffle(order)
    assert evaluate(store(facts, order), today) == evaluate(store(facts), today)


def draw_retraction(events: list[StoredEvent],
                    data: st.DataObject) -> tuple[StoredEvent, StoredEvent]:
    """An event still in force, drawn from `events`, and its retraction stored next."""
    gone = retracted_ids(deduplicate(events))
    candidates = [e for e in events if e.type != "event_retracted" and e.event_id not in gone]
    assume(candidates)
    target = data.draw(st.sampled_from(candidates))
    retraction = replace(
        target,
        position=len(events) + 1,
        event_id="retraction-1",
        type="event_retracted",
        data={"event_id": target.event_id, "reason": "fejl"},
    )
    return target, retraction


@PROPERTY
@given(facts=population(), today=todays, data=st.data())
def test_retraction_then_resending_the_same_fact_restores_the_values(
    facts: list[Fact], today: date, data: st.DataObject
) -> None:
    events = store(facts)
    target, retraction = draw_retraction(events, data)
    resent = replace(target, position=len(events) + 2, event_id="resent-1")
    assert evaluate([*events, retraction, resent], today) == evaluate(events, today)


@PROPERTY
@given(facts=population(), today=todays, data=st.data())
def test_a_retracted_event_counts_as_never_sent(
    facts: list[Fact], today: date, data: st.DataObject
) -> None:
    events = store(facts)
    target, retraction = draw_retraction(events, data)
    never_sent = [e for e in events if e.event_id != target.event_id]
    assert evaluate([*events, retraction], today) == evaluate(never_sent, today)


@PROPERTY
@given(facts=population(), today=todays, data=st.data())
def test_moving_away_never_increases_a_denominator_left_behind(
    facts: list[Fact], today: date, data: st.DataObject
) -> None:
    events = store(facts)
    mover = data.draw(st.sampled_from(sorted({e.citizen_id for e in events})))
    destination = data.draw(st.sampled_from(MUNICIPALITIES))
    moving_day = FIRST_DAY + timedelta(days=data.draw(st.integers(0, DAYS - 1)))
    move = StoredEvent(
        position=len(events) + 1,
        event_id="move-1",
        citizen_id=mover,
        municipality=data.draw(st.sampled_from(MUNICIPALITIES)),
        type="relocated",
        occurred_at=moving_day,
        recorded_at=EPOCH,
        data={"to_municipality": destination},
    )
    before = evaluate(events, today)
    after = evaluate([*events, move], today)
    for key, count in after.items():
        if key.municipality != destination:
            assert key in before and count.denominator <= before[key].denominator, key


@PROPERTY
@given(facts=population(), today=todays, data=st.data())
def test_duplicates_never_change_anything(
    facts: list[Fact], today: date, data: st.DataObject
) -> None:
    events = store(facts)
    again = data.draw(st.lists(st.sampled_from(events), min_size=1, max_size=len(events)))
    redelivered = [replace(e, position=len(events) + i + 1) for i, e in enumerate(again)]
    assert evaluate([*events, *redelivered], today) == evaluate(events, today)


def _stream(events: list[StoredEvent], today: date, next_day: date) -> tuple[Counts, Counts]:
    """What the stream processor does: refold on each event, emit the difference."""
    totals: Counter[Cell] = Counter()
    logs: dict[str, list[StoredEvent]] = {}
    previous: dict[str, frozenset[Cell]] = {}
    for event in sorted(events, key=lambda e: e.position):
        log = logs.setdefault(event.citizen_id, [])
        log.append(event)
        now = contributions(fold(log), today)
        for cell, change in delta(previous.get(event.citizen_id, frozenset()), now):
            totals[cell] += change
        previous[event.citizen_id] = now
    on_day = tally_totals(totals)
    # The day turns: every citizen is re-evaluated as of the new day.
    for citizen_id, log in logs.items():
        now = contributions(fold(log), next_day)
        for cell, change in delta(previous[citizen_id], now):
            totals[cell] += change
    return on_day, tally_totals(totals)


@PROPERTY
@given(facts=population(), today=todays, days_later=st.integers(1, 40), seed=st.integers(0, 99))
def test_streamed_differences_add_up_to_the_batch_recompute(
    facts: list[Fact], today: date, days_later: int, seed: int
) -> None:
    order = list(range(len(facts)))
    random.Random(seed).shuffle(order)
    events = store(facts, order)
    next_day = today + timedelta(days=days_later)
    on_day, after_rollover = _stream(events, today, next_day)
    assert on_day == evaluate(events, today)
    assert after_rollover == evaluate(events, next_day)


@PROPERTY
@given(facts=population(), today=todays, data=st.data())
def test_events_of_unread_types_change_no_citizen_state(
    facts: list[Fact], today: date, data: st.DataObject
) -> None:
    """The cohorts worker's history read leaves out UNREAD_TYPES (a samtale is two thirds
    of all events): with them, retractions of them and repeats, the state is the same."""
    assert "samtale" in UNREAD_TYPES and "visitation" not in UNREAD_TYPES
    events = store(facts)
    extra: list[StoredEvent] = []
    for i in range(data.draw(st.integers(1, 8))):
        beside = data.draw(st.sampled_from(events))
        extra.append(replace(beside, position=len(events) + len(extra) + 1,
                             event_id=f"unread-{i}",
                             type=data.draw(st.sampled_from(sorted(UNREAD_TYPES))),
                             occurred_at=data.draw(st.sampled_from(
                                 [beside.occurred_at, FIRST_DAY + timedelta(days=i)])),
                             data={"form": "fysisk", "loan_id": "L1", "reason": "x"}))
    target = data.draw(st.sampled_from(extra))
    retraction = replace(target, position=len(events) + len(extra) + 1,
                         event_id="retraction-of-unread", type="event_retracted",
                         data={"event_id": target.event_id, "reason": "fejl"})
    everything = [*events, *extra, retraction, replace(extra[0], position=10_000)]
    read = [e for e in everything if e.type not in UNREAD_TYPES]
    for citizen in {e.citizen_id for e in events}:
        full = fold([e for e in everything if e.citizen_id == citizen])
        partial = fold([e for e in read if e.citizen_id == citizen])
        assert replace(partial, events_through=full.events_through) == full
    assert evaluate(read, today) == evaluate(everything, today)
