"""Concise builders for StoredEvent lists in the pure-core tests.

    h = History("A", municipality="461")
    h.visitation("2018-11-01", group=1)
    h.tilbud("2019-03-01", "virksomhedspraktik", ended="2019-04-01")
    events = h.events

Positions count up across all histories built in one test (a shared `Store`), event ids
are unique, and recorded_at follows position unless given, so `as_of` tests can slice.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from kommunepuls.domain.records import StoredEvent

FSM = "flere_skal_med"
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def d(iso: str) -> date:
    return date.fromisoformat(iso)


class Store:
    """Hands out positions, ids and recording times in arrival order."""

    def __init__(self) -> None:
        self._positions = itertools.count(1)

    def next_position(self) -> int:
        return next(self._positions)


class History:
    """One citizen's events, appended in arrival order."""

    def __init__(
        self, citizen_id: str = "c1", municipality: str = "461", store: Store | None = None
    ) -> None:
        self.citizen_id = citizen_id
        self.municipality = municipality
        self.store = store or Store()
        self.events: list[StoredEvent] = []
        self._tilbud_ids = itertools.count(1)

    def add(
        self,
        type: str,
        on: str | date,
        *,
        municipality: str | None = None,
        recorded_at: datetime | None = None,
        event_id: str | None = None,
        data: dict[str, Any] | None = None,
        **fields: Any,
    ) -> StoredEvent:
        position = self.store.next_position()
        event = StoredEvent(
            position=position,
            event_id=event_id or f"{self.citizen_id}-e{position}",
            citizen_id=self.citizen_id,
            municipality=municipality or self.municipality,
            type=type,
            occurred_at=d(on) if isinstance(on, str) else on,
            recorded_at=recorded_at or EPOCH + timedelta(minutes=position),
            data={**(data or {}), **fields},
        )
        self.events.append(event)
        return event

    # One shortcut per event type the indicators read.
    def visitation(self, on: str, group: int | None = 1, **kw: Any) -> StoredEvent:
        target_group = kw.pop("target_group", "kontanthjaelp_aktivitetsparat")
        return self.add(
            "visitation", on, programme=FSM, target_group=target_group, group=group, **kw
        )

    def visitation_ended(self, on: str, **kw: Any) -> StoredEvent:
        return self.add("visitation_ended", on, programme=FSM, **kw)

    def tilbud(
        self, on: str, kind: str, ended: str | None = None, cvr: str | None = None, **kw: Any
    ) -> StoredEvent:
        tilbud_id = kw.pop("tilbud_id", f"T{next(self._tilbud_ids)}")
        extra = {"cvr": cvr} if cvr else {}
        started = self.add("tilbud_started", on, tilbud_id=tilbud_id, kind=kind, **extra, **kw)
        if ended:
            self.add("tilbud_ended", ended, tilbud_id=tilbud_id)
        return started

    def tilbud_ended(self, on: str, tilbud_id: str, **kw: Any) -> StoredEvent:
        return self.add("tilbud_ended", on, tilbud_id=tilbud_id, **kw)

    def hours(
        self, month: str, hours: float, on: str | None = None, cvr: str | None = None, **kw: Any
    ) -> StoredEvent:
        # eIndkomst reports a month shortly after it ends; the default reporting day is the
        # 10th of the following month.
        if on is None:
            year, mon = (int(x) for x in month.split("-"))
            on = date(year + mon // 12, mon % 12 + 1, 10).isoformat()
        extra = {"cvr": cvr} if cvr else {}
        return self.add("ordinary_hours", on, month=month, hours=hours, **extra, **kw)

    def exemption(self, on: str, ended: str | None = None, **kw: Any) -> StoredEvent:
        started = self.add("exemption_started", on, reason="sygdom", **kw)
        if ended:
            self.add("exemption_ended", ended, reason="sygdom")
        return started

    def afklaret(self, on: str, outcome: str = "job", **kw: Any) -> StoredEvent:
        return self.add("afklaret", on, outcome=outcome, **kw)

    def relocated(self, on: str, to: str, **kw: Any) -> StoredEvent:
        return self.add("relocated", on, to_municipality=to, **kw)

    def retract(self, target: StoredEvent, on: str = "2020-01-01", **kw: Any) -> StoredEvent:
        data = {"event_id": target.event_id, "reason": "fejlregistrering"}
        return self.add("event_retracted", on, data=data, **kw)

    def resend(self, event: StoredEvent) -> StoredEvent:
        """The same fact again under a new event_id (what a sender does after a retraction)."""
        return self.add(
            event.type, event.occurred_at, municipality=event.municipality, data=dict(event.data)
        )


def count_of(
    counts: Any, indicator: str, period: str, group: int | None = 1, municipality: str = "461"
) -> tuple[int, int]:
    """(numerator, denominator) of one cell; (0, 0) when nobody counts in it."""
    from kommunepuls.domain.evaluation import CountKey

    found = counts.get(CountKey(indicator, municipality, period, group))
    return (0, 0) if found is None else (found.numerator, found.denominator)


def merge(*histories: History) -> list[StoredEvent]:
    return [event for history in histories for event in history.events]
