"""Cohort indicators: fsm_virksomhedsforloeb_ever, fsm_afklaret, fsm_virksomhedsforloeb_curve.

Every test works the expected numerator / denominator out by hand in a comment.
"""

from __future__ import annotations

from kommunepuls.domain.evaluation import evaluate
from tests.unit.factories import History, Store, count_of, d, merge

EVER = "fsm_virksomhedsforloeb_ever"
AFKLARET = "fsm_afklaret"
CURVE = "fsm_virksomhedsforloeb_curve"
AFTER = d("2019-08-15")


def visited(citizen: str, store: Store, on: str = "2018-11-01", group: int | None = 1) -> History:
    h = History(citizen, "461", store)
    h.visitation(on, group=group)
    return h


# --- fsm_virksomhedsforloeb_ever -------------------------------------------------------


def test_ever_keeps_everyone_visited_in_the_denominator() -> None:
    # All visited to group 1 on 2018-11-01; period 2019-06 (reference day 30 June).
    # A: praktik Jan 2019 (num). B: afklaret May, hours in Feb (num, stays in den).
    # C: exempt since March (den, no activity). D: moved away in April, no activity (den).
    # E: only a tilbud that ended before the visitation (den, not num). -> 2/5.
    s = Store()
    a = visited("A", s)
    a.tilbud("2019-01-07", "virksomhedspraktik", ended="2019-01-31")
    b = visited("B", s)
    b.hours("2019-02", 20)
    b.afklaret("2019-05-01")
    c = visited("C", s)
    c.exemption("2019-03-01")
    dd = visited("D", s)
    dd.relocated("2019-04-01", to="751")
    e = visited("E", s)
    e.tilbud("2018-09-01", "virksomhedspraktik", ended="2018-10-31")
    assert count_of(evaluate(merge(a, b, c, dd, e), AFTER), EVER, "2019-06") == (2, 5)


def test_ever_numerator_starts_in_the_month_of_the_first_activity() -> None:
    # Visited Nov 2018, first praktik day 3 Feb 2019: Jan 0/1, Feb 1/1, Jul 1/1.
    h = visited("A", Store())
    h.tilbud("2019-02-03", "virksomhedspraktik", ended="2019-02-20")
    counts = evaluate(h.events, AFTER)
    assert [count_of(counts, EVER, p) for p in ("2019-01", "2019-02", "2019-07")] == [
        (0, 1),
        (1, 1),
        (1, 1),
    ]


def test_ever_counts_group_1_only() -> None:
    # Visited to group 2 with a praktik: not in group 1's cohort, 0/0.
    h = visited("A", Store(), group=2)
    h.tilbud("2019-02-03", "virksomhedspraktik")
    assert count_of(evaluate(h.events, AFTER), EVER, "2019-06") == (0, 0)


# --- fsm_afklaret --------------------------------------------------------------------


def test_afklaret_share_per_group_by_the_periods_end() -> None:
    # Period 2019-06, reference day 30 June.
    # Group 1: A afklaret 1 June (num), B afklaret 1 July (not yet by 30 June), C never.
    #   -> 1/3.
    # Group 2: D afklaret 30 June (num: the first day outside is on or before 30 June),
    #   E never. -> 1/2.
    s = Store()
    a = visited("A", s)
    a.afklaret("2019-06-01")
    b = visited("B", s)
    b.afklaret("2019-07-01")
    c = visited("C", s)
    dd = visited("D", s, group=2)
    dd.afklaret("2019-06-30", outcome="ressourceforloeb")
    e = visited("E", s, group=2)
    counts = evaluate(merge(a, b, c, dd, e), AFTER)
    assert count_of(counts, AFKLARET, "2019-06", group=1) == (1, 3)
    assert count_of(counts, AFKLARET, "2019-06", group=2) == (1, 2)
    # July: B is afklaret too: 2/3.
    assert count_of(counts, AFKLARET, "2019-07", group=1) == (2, 3)


def test_regrouped_citizen_is_in_both_groups_cohorts() -> None:
    # Visited to group 6 in Nov 2018, to group 1 from Feb 2019, afklaret 1 May 2019:
    # in both the group-6 and group-1 cohorts, afklaret after both visitations: 1/1 each.
    h = visited("A", Store(), group=6)
    h.visitation("2019-02-01", group=1)
    h.afklaret("2019-05-01")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, AFKLARET, "2019-06", group=6) == (1, 1)
    assert count_of(counts, AFKLARET, "2019-06", group=1) == (1, 1)


def test_afklaret_in_another_municipality_is_not_credited() -> None:
    # Visited in 461, moved to 751 on 1 March, re-visited and afklaret there on 1 May:
    # 461's group-1 cohort keeps the citizen, not afklaret by 461: 0/1; 751's: 1/1.
    h = visited("A", Store())
    h.relocated("2019-03-01", to="751")
    h.visitation("2019-03-01", group=1, municipality="751")
    h.afklaret("2019-05-01", municipality="751")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, AFKLARET, "2019-06", group=1, municipality="461") == (0, 1)
    assert count_of(counts, AFKLARET, "2019-06", group=1, municipality="751") == (1, 1)


def test_afklaret_before_the_visitation_does_not_count() -> None:
    # Afklaret 1 Oct 2018 (an earlier benefit spell), visited 1 Nov 2018: 0/1.
    h = History("A", "461")
    h.afklaret("2018-10-01")
    h.visitation("2018-11-01", group=3)
    assert count_of(evaluate(h.events, AFTER), AFKLARET, "2019-06", group=3) == (0, 1)


# --- fsm_virksomhedsforloeb_curve -----------------------------------------------------


def test_curve_counts_months_since_visitation() -> None:
    # Visited 2019-01-15 (month 1 = January 2019); today 15 August, so months 1..7
    # (Jan..Jul) have ended and August (m08) has not.
    # Praktik 2-20 March (m03); 10 h in June (m06). Numerator in m03 and m06 only.
    h = visited("A", Store(), on="2019-01-15")
    h.tilbud("2019-03-02", "virksomhedspraktik", ended="2019-03-20")
    h.hours("2019-06", 10)
    counts = evaluate(h.events, AFTER)
    got = [count_of(counts, CURVE, f"m{m:02d}") for m in range(1, 9)]
    assert got == [(0, 1), (0, 1), (1, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 0)]


def test_curve_month_1_starts_on_the_visitation_day() -> None:
    # Visited 15 Jan; a praktik 2-10 Jan lies before it: m01 0/1. Another citizen
    # visited the same day with a praktik 14-16 Jan: m01 1/1. Together 1/2.
    s = Store()
    a = visited("A", s, on="2019-01-15")
    a.tilbud("2019-01-02", "virksomhedspraktik", ended="2019-01-10")
    b = visited("B", s, on="2019-01-15")
    b.tilbud("2019-01-14", "virksomhedspraktik", ended="2019-01-16")
    assert count_of(evaluate(merge(a, b), AFTER), CURVE, "m01") == (1, 2)


def test_curve_censors_from_the_month_of_moving() -> None:
    # Visited 15 Jan, moved to 751 on 3 April (m04): in the denominator for m01..m03 only,
    # with the June hours never counted for 461.
    h = visited("A", Store(), on="2019-01-15")
    h.relocated("2019-04-03", to="751")
    h.hours("2019-06", 10)
    counts = evaluate(h.events, AFTER)
    got = [count_of(counts, CURVE, f"m{m:02d}") for m in range(1, 7)]
    assert got == [(0, 1), (0, 1), (0, 1), (0, 0), (0, 0), (0, 0)]


def test_curve_keeps_afklaret_citizens() -> None:
    # Afklaret 1 March to a job with 160 h in March and April: not censored; m03, m04 1/1.
    h = visited("A", Store(), on="2019-01-15")
    h.afklaret("2019-03-01")
    h.hours("2019-03", 160)
    h.hours("2019-04", 160)
    counts = evaluate(h.events, AFTER)
    assert [count_of(counts, CURVE, f"m{m:02d}") for m in (2, 3, 4, 5)] == [
        (0, 1),
        (1, 1),
        (1, 1),
        (0, 1),
    ]


def test_curve_is_per_group() -> None:
    # Group 2, visited 15 Jan, fleksjob from 1 Feb: group 2's m02 1/1, group 1's m02 0/0.
    h = visited("A", Store(), on="2019-01-15", group=2)
    h.tilbud("2019-02-01", "fleksjob")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, CURVE, "m02", group=2) == (1, 1)
    assert count_of(counts, CURVE, "m02", group=1) == (0, 0)


def test_curve_stops_at_month_29() -> None:
    # Visited Jan 2017... before the rule set (Aug 2017): no curve. Visited Sep 2017 and
    # today 2020-06: months up to m29 (Jan 2020) count, m30 does not exist.
    old = visited("A", Store(), on="2017-01-15")
    assert not [k for k in evaluate(old.events, d("2020-06-15")) if k.indicator == CURVE]
    h = visited("B", Store(), on="2017-09-15")
    counts = evaluate(h.events, d("2020-06-15"))
    assert count_of(counts, CURVE, "m29") == (0, 1)
    assert count_of(counts, CURVE, "m30") == (0, 0)


def test_curve_censors_from_a_visitation_elsewhere_even_without_a_reported_move() -> None:
    # Visited in 461 on 15 Jan; visited in 751 on 10 March with no `relocated` event: the
    # 751 visitation is evidence of the move, so 461's curve stops before m03.
    h = visited("A", Store(), on="2019-01-15")
    h.visitation("2019-03-10", group=1, municipality="751")
    counts = evaluate(h.events, AFTER)
    assert [count_of(counts, CURVE, f"m{m:02d}") for m in (1, 2, 3)] == [(0, 1), (0, 1), (0, 0)]
    assert count_of(counts, CURVE, "m01", municipality="751") == (0, 1)


def test_visitation_without_a_group_is_in_no_cohort() -> None:
    h = visited("A", Store(), group=None)
    h.tilbud("2019-02-01", "virksomhedspraktik")
    assert evaluate(h.events, AFTER) == {}
