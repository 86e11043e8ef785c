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

from collections.abc import Container, Iterable, Mapping

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


def effective_events(
    events: Iterable[StoredEvent], types: Container[str] | None = None
) -> list[StoredEvent]:
    """The facts of one citizen, retractions applied, in the order the fold applies them.

    `types`, if given, keeps only facts of those types (what a reader acts on), which
    saves sorting the rest; the kept facts' order is the same either way.
    """
    events = events if isinstance(events, list) else list(events)
    ids = set()
    keys = []
    rank = SAME_DAY_RANK.get
    # The common case (no duplicates, no retractions) is one pass that also makes the
    # sort keys; otherwise the pass is redone on the facts that remain.
    for index, event in enumerate(events):
        ids.add(event.event_id)
        kind = event.type
        if kind == RETRACTION:
            break
        if types is None or kind in types:
            keys.append((event.occurred_at.toordinal(), rank(kind, _OPENS), event.position, index))
    else:
        if len(ids) == len(events):
            keys.sort()
            return [events[key[3]] for key in keys]
    return effective_events(_facts(events), types)


def effective_parts(
    events: list[StoredEvent], part_of: Mapping[str, int], parts: int
) -> list[list[StoredEvent]]:
    """`effective_events` split by part: the facts of the types with part_of[type] == i
    are the i-th list, in fold order; facts of other types are left out.

    This is the fold's hot path (every new event of the live stream re-folds a citizen).
    Its keys are all-int tuples, (day, same-day rank, position, index): ints compare fast,
    and the index keeps ties in the order given, as a stable sort by key would.
    """
    ids = set()
    keyed: list[list[tuple[int, int, int, int]]] = [[] for _ in range(parts)]
    rank = SAME_DAY_RANK.get
    for index, event in enumerate(events):
        ids.add(event.event_id)
        kind = event.type
        if kind == RETRACTION:
            break
        part = part_of.get(kind)
        if part is not None:
            key = (event.occurred_at.toordinal(), rank(kind, _OPENS), event.position, index)
            keyed[part].append(key)
    else:
        if len(ids) == len(events):
            for keys in keyed:
                keys.sort()
            return [[events[key[3]] for key in keys] for keys in keyed]
    return effective_parts(_facts(events), part_of, parts)


def _facts(events: list[StoredEvent]) -> list[StoredEvent]:
    """The events that count: one per event_id, none retracted, no retractions."""
    unique = deduplicate(events)
    gone = retracted_ids(unique)
    return [e for e in unique.values() if e.type != RETRACTION and e.event_id not in gone]
