"""Which of a citizen's stored events count, and in which order the fold applies them.

The event store holds what we were told; the fold needs what happened. Three rules bridge
the two, and all three are independent of the order in which events arrived, so a replay,
a late event or a redelivered Kafka segment gives the same state:
- an event_id is one fact: the copy with the lowest position is kept;
- an `event_retracted` makes its target count as never having happened (a retraction can
  itself be retracted, which restores the target);
- facts are applied by (occurred_at, same-day rank, position).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from kommunepuls.domain.records import StoredEvent

RETRACTION = "event_retracted"

# Same-day rank. On one calendar day, spells open before inclusive ends close them (an
# exemption started and ended on 10 March is one exempt day, whatever arrived first), and
# the "first day not belonging" events (afklaret, relocated) come last, so a visitation
# and an afklaret on the same day leave an empty membership rather than an open one.
# Position only breaks ties between facts of the same rank, where a later-recorded fact
# is the sender's correction.
_OPENS = 0
_CLOSES_INCLUSIVE = 1
_LEAVES = 2
SAME_DAY_RANK: dict[str, int] = {
    "visitation_ended": _CLOSES_INCLUSIVE,
    "tilbud_ended": _CLOSES_INCLUSIVE,
    "exemption_ended": _CLOSES_INCLUSIVE,
    "cvr_ceased": _CLOSES_INCLUSIVE,
    "raskmelding": _CLOSES_INCLUSIVE,
    "afklaret": _LEAVES,
    "relocated": _LEAVES,
}


def deduplicate(events: Iterable[StoredEvent]) -> dict[str, StoredEvent]:
    """One event per event_id, the first stored copy winning."""
    first: dict[str, StoredEvent] = {}
    for event in events:
        seen = first.get(event.event_id)
        if seen is None or event.position < seen.position:
            first[event.event_id] = event
    return first


def retracted_ids(events: dict[str, StoredEvent]) -> set[str]:
    """The ids of events that count as never having happened."""
    retractions_of: dict[str, list[str]] = {}
    for event in events.values():
        if event.type == RETRACTION:
            target = event.data.get("event_id")
            if isinstance(target, str):
                retractions_of.setdefault(target, []).append(event.event_id)
    if not retractions_of:
        return set()

    standing: dict[str, bool] = {}
    in_progress: set[str] = set()

    def stands(event_id: str) -> bool:
        # An event stands unless a standing retraction targets it. Ingest only accepts
        # retractions of stored events, so chains are short and cycles cannot form from
        # honest senders; should one appear, the event under evaluation is taken as
        # standing, and targets are visited in event_id order, which keeps the answer
        # finite and independent of arrival order.
        known = standing.get(event_id)
        if known is not None:
            return known
        if event_id in in_progress:
            return True
        in_progress.add(event_id)
        result = not any(stands(r) for r in retractions_of.get(event_id, ()) if r in events)
        in_progress.discard(event_id)
        standing[event_id] = result
        return result

    return {
        event_id
        for event_id in sorted(retractions_of)
        if event_id in events and not stands(event_id)
    }


def _fold_order(event: StoredEvent) -> tuple[object, int, int]:
    return (event.occurred_at, SAME_DAY_RANK.get(event.type, _OPENS), event.position)


def effective_events(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """The facts of one citizen, retractions applied, in the order the fold applies them."""
    facts = _facts(events)
    facts.sort(key=_fold_order)
    return facts


def fold_plan(part_of: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """What `effective_parts` takes: (part, same-day rank) per type read, and (-1, 0) for
    retractions, so that its loop makes one lookup per event."""
    plan = {kind: (part, SAME_DAY_RANK.get(kind, _OPENS)) for kind, part in part_of.items()}
    plan[RETRACTION] = (-1, _OPENS)
    return plan


def effective_parts(
    events: list[StoredEvent], plan: Mapping[str, tuple[int, int]], parts: int
) -> list[list[StoredEvent]]:
    """`effective_events` split by part: the facts of the types with plan[type][0] == i
    are the i-th list, in fold order; facts of other types are left out.

    This is the fold's hot path (every new event of the live stream re-folds a citizen):
    one pass makes the sort keys, (occurred_at, same-day rank, position, index), the
    index keeping ties in the order given, as a stable sort by key would. Retractions then
    only filter the keys; duplicates (which the event store's uniqueness keeps out, but a
    replayed segment may bring) make the pass start over on the deduplicated events.
    """
    ids = set()
    keyed: list[list[tuple[date, int, int, int]]] = [[] for _ in range(parts)]
    retractions = False
    for index, event in enumerate(events):
        ids.add(event.event_id)
        found = plan.get(event.type)
        if found is not None:
            part, rank = found
            if part < 0:
                retractions = True
            else:
                keyed[part].append((event.occurred_at, rank, event.position, index))
    if len(ids) != len(events):
        return effective_parts(_facts(events), plan, parts)
    if retractions:
        gone = retracted_ids({e.event_id: e for e in events})
        if gone:
            keyed = [[k for k in keys if events[k[3]].event_id not in gone] for keys in keyed]
    ordered: list[list[StoredEvent]] = []
    for keys in keyed:
        if keys:  # most parts of most citizens are empty
            keys.sort()
            ordered.append([events[key[3]] for key in keys])
        else:
            ordered.append([])
    return ordered


def _facts(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """The events that count: one per event_id, none retracted, no retractions."""
    unique = deduplicate(events)
    gone = retracted_ids(unique)
    return [e for e in unique.values() if e.type != RETRACTION and e.event_id not in gone]
