"""The gateway's pure parts: pipeline freshness, CSV negotiation, ranking order, work lists,
parameter checks and the snapshot cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest

from kommunepuls.domain import indicators as engine
from kommunepuls.segments import partition_for
from kommunepuls.web.problems import InvalidRequest
from services.gateway.csv_format import wants_csv
from services.gateway.freshness import SCAN_EVENTS, Cached, reflected_through
from services.gateway.params import check_period, months_between, scope
from services.gateway.queries import StoreFreshness
from services.gateway.ranking import ranked
from services.gateway.worklist import worklist_entries
from tests.unit.factories import History, Store

NOW = datetime(2019, 7, 15, 12, 0, tzinfo=UTC)


def citizen_in(partition: int, partitions: int = 4, start: int = 0) -> str:
    """A citizen id that lands in the given partition."""
    return next(f"c{i}" for i in range(start, 10_000)
                if partition_for(f"c{i}", partitions) == partition)


def test_a_quiet_partition_does_not_hold_the_read_models_back() -> None:
    # Partition 3 last saw position 2; positions 3..5 belong to partitions 0-2, all reached.
    pending = [(p, citizen_in(p - 3), NOW) for p in (3, 4, 5)]
    store = StoreFreshness(head=5, checkpoints={0: 3, 1: 4, 2: 5, 3: 2}, pending=pending)
    fresh = reflected_through(store, 4, NOW)
    assert (fresh.through, fresh.lag_events, fresh.lag_seconds) == (5, 0, 0.0)


def test_the_first_unreached_event_bounds_what_is_reflected() -> None:
    # Position 4 is partition 1's, which has reached only 3: through 3, lag 2 events, and
    # the lag in seconds is how long position 4 has waited.
    pending = [(3, citizen_in(0), NOW - timedelta(seconds=90)),
               (4, citizen_in(1), NOW - timedelta(seconds=42)),
               (5, citizen_in(2), NOW - timedelta(seconds=1))]
    store = StoreFreshness(head=5, checkpoints={0: 3, 1: 3, 2: 5, 3: 2}, pending=pending)
    fresh = reflected_through(store, 4, NOW)
    assert (fresh.through, fresh.lag_events, fresh.lag_seconds) == (3, 2, 42.0)


def test_beyond_the_scan_the_answer_is_a_lower_bound() -> None:
    quiet = citizen_in(0)
    pending = [(p, quiet, NOW - timedelta(seconds=5)) for p in range(1, SCAN_EVENTS + 1)]
    store = StoreFreshness(head=SCAN_EVENTS + 50, checkpoints={0: SCAN_EVENTS + 50, 1: 0},
                           pending=pending)
    fresh = reflected_through(store, 2, NOW)
    assert fresh.through == SCAN_EVENTS and fresh.lag_events == 50


@pytest.mark.parametrize(("accept", "csv"), [
    ("text/csv", True), ("application/json", False), ("", False), ("*/*", False),
    ("text/csv, application/json;q=0.5", True), ("application/json, text/csv;q=0.9", False),
    ("text/csv;q=0", False), ("text/csv;q=x", False),
])
def test_csv_only_when_preferred(accept: str, csv: bool) -> None:
    request = SimpleNamespace(headers={"accept": accept} if accept else {})
    assert wants_csv(request) is csv  # type: ignore[arg-type]


def entry(code: str, value: float | None) -> dict[str, object]:
    return {"rank": None, "municipality": code, "value": value}


def test_ranking_shares_ranks_on_ties_and_puts_missing_values_last() -> None:
    order = ranked([entry("101", 0.3), entry("851", None), entry("461", 0.4),
                    entry("147", 0.4), entry("825", 0.9)])
    assert [(e["municipality"], e["rank"]) for e in order] == [
        ("825", 1), ("147", 2), ("461", 2), ("101", 4), ("851", None)]


def test_worklist_groups_by_caseworker_never_active_first() -> None:
    store = Store()
    vf = engine.definition("fsm_virksomhedsforloeb")
    b = History("B", "461", store)
    b.visitation("2018-11-01")
    b.add("caseworker_assigned", "2018-11-01", caseworker_id="JF-1")
    b.hours("2019-03", 12)  # last active day 31 March: 91 days before 30 June
    d = History("D", "461", store)
    d.visitation("2018-11-01")
    d.add("caseworker_assigned", "2018-11-01", caseworker_id="JF-1")
    d.tilbud("2019-05-01", "mentor")  # not virksomhedsforløb mv.
    g = History("G", "461", store)
    g.visitation("2018-11-01")
    g.tilbud("2018-12-01", "virksomhedspraktik", ended="2019-01-15")
    g.add("caseworker_assigned", "2019-07-01", caseworker_id="JF-9")  # after the period
    groups = worklist_entries({h.citizen_id: h.events for h in (b, d, g)}, vf, "461",
                              date(2019, 6, 30), date(2019, 7, 15))
    assert [(grp.caseworker_id, [(c.citizen_id, c.last_activity_on,
                                  c.days_since_last_activity) for c in grp.citizens])
            for grp in groups] == [
        ("JF-1", [("D", None, None), ("B", date(2019, 3, 31), 91)]),
        (None, [("G", date(2019, 1, 15), 166)])]


@pytest.mark.parametrize(("indicator", "period", "ok"), [
    ("fsm_virksomhedsforloeb", "2019-06", True),
    ("fsm_virksomhedsforloeb", "2019-13", False),
    ("fsm_virksomhedsforloeb", "m01", False),
    ("fsm_virksomhedsforloeb_curve", "m29", True),
    ("fsm_virksomhedsforloeb_curve", "m30", False),
    ("fsm_virksomhedsforloeb_curve", "m00", False),
    ("fsm_virksomhedsforloeb_curve", "2019-06", False),
])
def test_periods_fit_the_indicator(indicator: str, period: str, ok: bool) -> None:
    definition = engine.definition(indicator)
    if ok:
        assert check_period(definition, period) == period
    else:
        with pytest.raises(InvalidRequest):
            check_period(definition, period)


def test_scope_reads_a_plus_turned_into_a_space() -> None:
    assert scope(None, "population:50k ").stratum == "population:50k+"
    assert scope("all", "volume:<100").municipality == "all"
    assert scope("851", None).municipality == "851"
    for municipality, stratum in (("851", "volume:<100"), ("999", None), (None, "size")):
        with pytest.raises(InvalidRequest):
            scope(municipality, stratum)


def test_months_between_is_inclusive_and_bounded() -> None:
    assert months_between("2018-11", "2019-02") == ["2018-11", "2018-12", "2019-01", "2019-02"]
    with pytest.raises(InvalidRequest):
        months_between("2019-02", "2018-11")
    with pytest.raises(InvalidRequest):
        months_between("1900-01", "2100-01")


def test_cached_loads_at_most_once_per_ttl_and_shares_a_load() -> None:
    loads = 0

    async def load() -> int:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.01)
        return loads

    async def run() -> None:
        cached = Cached(load, ttl_s=60)
        assert cached.last is None
        assert await asyncio.gather(cached.get(), cached.get(), cached.get()) == [1, 1, 1]
        assert cached.last == 1
        expired = Cached(load, ttl_s=0)
        assert await expired.get() == 2 and await expired.get() == 3

    asyncio.run(run())
