"""Status against targets, and the cadence indicators, hand-computed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from kommunepuls.domain.evaluation import Count
from kommunepuls.experiments.cadence import on_time, samtaler_per_citizen, weeks_to_first_samtale
from kommunepuls.experiments.citizen import read_citizen
from kommunepuls.experiments.deadlines import citizen_deadlines
from kommunepuls.experiments.registry import registry
from kommunepuls.experiments.targets import target_statuses
from tests.unit.factories import History, Store

CVRS = ["12345674", "10000009", "30000005"]


def visit(h: History, on: str, programme: str, target_group: str) -> None:
    h.add("visitation", on, programme=programme, target_group=target_group, group=None)


def by_id(statuses: tuple) -> dict:  # type: ignore[type-arg]
    return {s.id: s for s in statuses}


def test_graduates_targets_plans_businesses_and_survival() -> None:
    # Three marked graduates in Aalborg; A and B register a business while marked, C does
    # not. A's business (Jan 2018) is alive at 24 months (Jan 2020); B's (Jun 2018) is not
    # yet 24 months old on 1 Mar 2020. Plans 3 of 100, businesses 2 of 55, alive 1 of 40
    # with 1 not yet due.
    store = Store()
    people = []
    for i, (citizen, cvr_day) in enumerate((("A", "2018-01-10"), ("B", "2018-06-01"),
                                            ("C", None))):
        h = History(citizen, municipality="851", store=store)
        visit(h, "2017-09-01", "ivaerksaetteri_dimittender", "dagpenge_dimittend")
        if cvr_day:
            h.add("cvr_registered", cvr_day, cvr=CVRS[i])
        people.append(read_citizen(h.events))
    status = by_id(target_statuses(registry()["ivaerksaetteri_dimittender"], people,
                                   date(2020, 3, 1)))
    assert (status["plans"].value, status["plans"].met) == (Decimal(3), False)
    assert status["active_cvr"].value == Decimal(2)
    alive = status["alive_two_years"]
    assert (alive.value, alive.denominator, alive.not_yet_due) == (Decimal(1), 1, 1)


def test_microloan_targets_count_loans_and_self_support() -> None:
    # A: microloan Mar-Aug 2018, afklaret to self-employment 1 Sep 2018: self-supporting on
    # 31 Aug 2019. B: microloan, no afklaret: not self-supporting.
    store, people = Store(), []
    for citizen, afklaret in (("A", True), ("B", False)):
        h = History(citizen, municipality="851", store=store)
        visit(h, "2018-01-01", "mikrolaan", "kontanthjaelp_jobparat")
        h.add("microloan_granted", "2018-03-01", loan_id=f"ML-{citizen}")
        h.add("microloan_ended", "2018-08-31", loan_id=f"ML-{citizen}")
        if afklaret:
            h.afklaret("2018-09-01", outcome="self_employment")
        people.append(read_citizen(h.events))
    status = by_id(target_statuses(registry()["mikrolaan"], people, date(2020, 1, 1)))
    assert status["microloans"].value == Decimal(2)
    assert status["participants"].met is True  # 2 <= 80, a ceiling
    assert (status["self_supporting"].value, status["self_supporting"].denominator) == (
        Decimal(1), 2)
    assert status["courses"].value is None  # courses are not events: not measured


def test_ratio_waiver_growth_against_the_baseline_and_progression() -> None:
    # Jammerbugt, aktivitetsparate. On 30 Jun 2017 A and B are in a virksomhedspraktik: 2.
    # On the reference day (today, 1 Mar 2018): B, C and E; A has become jobparat (out of
    # the target group), D's praktik ended 10 Feb: 3. Change (3 - 2) / 2 = +50.0 % (target
    # +25 %). Marked: A (category change to jobparat: progressed) and B (praktik, no hours,
    # no education: not) -> 1 of 2 = 50.0 % (target 60 %).
    store, people = Store(), []
    spells = {"A": ("2017-06-01", None), "B": ("2017-06-01", None), "C": ("2018-01-01", None),
              "D": ("2018-02-01", "2018-02-10"), "E": ("2018-02-15", None)}
    for citizen, (start, end) in spells.items():
        h = History(citizen, municipality="849", store=store)
        visit(h, "2017-01-01", "kontaktforloeb", "kontanthjaelp_aktivitetsparat")
        h.tilbud(start, "virksomhedspraktik", ended=end)
        if citizen in "AB":
            visit(h, "2017-08-01", "forholdstal", "kontanthjaelp_aktivitetsparat")
        if citizen == "A":
            visit(h, "2017-12-01", "kontaktforloeb", "kontanthjaelp_jobparat")
        people.append(read_citizen(h.events))
    status = by_id(target_statuses(registry()["forholdstal"], people, date(2018, 3, 1)))
    growth = status["virksomhedsrettet_growth"]
    assert (growth.value, growth.numerator, growth.denominator, growth.met) == (
        Decimal("50.0"), 3, 2, True)
    progress = status["progressing"]
    assert (progress.value, progress.numerator, progress.denominator, progress.met) == (
        Decimal("50.0"), 1, 2, False)


def test_share_on_time_pools_deadlines_by_month_and_variant() -> None:
    # Two Aalborg citizens on ledighedsydelse from 15 Jan 2018: A meets 15 Apr on 10 Apr,
    # B misses it. April 2018: 1 on time of 2 due. The next deadlines (A: 10 Jul, B's
    # overdue one is the same 15 Apr) -> July: A has no samtale by 1 Aug: 0 of 1.
    store = Store()
    a, b = History("A", municipality="851", store=store), History("B", municipality="851",
                                                                  store=store)
    for h in (a, b):
        visit(h, "2018-01-15", "kontaktforloeb", "ledighedsydelse")
    a.add("samtale", "2018-04-10", form="in_person", held=True, kind="ordinary")
    results = [citizen_deadlines(read_citizen(h.events), "ledighedsydelse_kontakt",
                                 date(2018, 8, 1)) for h in (a, b)]
    assert on_time(results, date(2018, 8, 1)) == {
        ("851", "2018-04", "ordinary"): Count(1, 2),
        ("851", "2018-07", "ordinary"): Count(0, 1)}


def test_samtaler_per_citizen_per_quarter() -> None:
    # Q1 2018: A (from 15 Jan) has 2 held samtaler, B (from 1 Mar) 1 held + 1 no-show:
    # 3 samtaler / 2 citizens. Q2 2018 (today 30 Jun): A 1, B 0 -> 1 / 2.
    store = Store()
    a, b = History("A", municipality="820", store=store), History("B", municipality="820",
                                                                  store=store)
    visit(a, "2018-01-15", "kontaktforloeb", "sygedagpenge")
    visit(b, "2018-03-01", "kontaktforloeb", "sygedagpenge")
    for h, on, held in ((a, "2018-02-01", True), (a, "2018-03-01", True), (b, "2018-03-10",
                        True), (b, "2018-03-20", False), (a, "2018-05-01", True)):
        h.add("samtale", on, form="phone", held=held, kind="sygeopfoelgning")
    people = [read_citizen(h.events) for h in (a, b)]
    assert samtaler_per_citizen(people, "sygedagpenge", date(2018, 6, 30)) == {
        ("820", "2018-Q1"): Count(3, 2), ("820", "2018-Q2"): Count(1, 2)}


def test_weeks_to_first_samtale_with_censored_stays_apart() -> None:
    # Entries in January 2018: A first samtale after 14 days, B after 28, C none yet (open),
    # D left on 31 Jan without one. Mean = (14 + 28) / 2 / 7 = 3.0 weeks.
    store, people = Store(), []
    for citizen, first in (("A", "2018-01-15"), ("B", "2018-01-29"), ("C", None),
                           ("D", None)):
        h = History(citizen, municipality="840", store=store)
        visit(h, "2018-01-01", "kontaktforloeb", "sygedagpenge")
        if first:
            h.add("samtale", first, form="in_person", held=True, kind="sygeopfoelgning")
        if citizen == "D":
            h.add("visitation_ended", "2018-01-31", programme="kontaktforloeb")
        people.append(read_citizen(h.events))
    result = weeks_to_first_samtale(people, "sygedagpenge", date(2018, 3, 1))
    january = result[("840", "2018-01")]
    assert (january.days, january.with_samtale, january.none_yet,
            january.none_during_stay) == (42, 2, 1, 1)
    assert january.weeks == 3.0
