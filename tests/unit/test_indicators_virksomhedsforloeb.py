"""fsm_virksomhedsforloeb: FSM success criterion 2, group 1 over a 3-month window.

Every test works the expected numerator / denominator out by hand in a comment.
"""

from __future__ import annotations

from kommunepuls.domain.catalogue import definition
from kommunepuls.domain.evaluation import evaluate
from kommunepuls.domain.values import indicator_value
from tests.unit.factories import History, Store, count_of, d, merge

VF = "fsm_virksomhedsforloeb"
AFTER = d("2019-08-15")  # a "today" after the worked example's window


def visited(citizen: str, store: Store, on: str = "2018-11-01", group: int = 1) -> History:
    h = History(citizen, "461", store)
    h.visitation(on, group=group)
    return h


def test_domain_worked_example_461_june_2019_is_2_of_4_and_met() -> None:
    # domain.md §4: municipality 461, period 2019-06, window 2019-04-01..2019-06-30; all
    # visited to FSM group 1 on 2018-11-01.
    s = Store()
    a = visited("A", s)
    a.tilbud("2019-03-01", "virksomhedspraktik", ended="2019-04-01")  # den yes, num yes
    b = visited("B", s)
    b.hours("2019-03", 12)  # den yes, num no (March is outside the window)
    c = visited("C", s)
    c.exemption("2019-06-20")  # den no (exempt on 30 June)
    dd = visited("D", s)
    dd.tilbud("2019-05-01", "mentor")  # den yes, num no (mentor is not virksomhedsrettet)
    e = visited("E", s)
    e.relocated("2019-06-30", to="751")  # den no (moved out on the last day)
    f = visited("F", s)
    f.tilbud("2019-06-30", "fleksjob")  # den yes, num yes
    counts = evaluate(merge(a, b, c, dd, e, f), AFTER)
    # Result: 2 / 4 = 50.0 %, met.
    assert count_of(counts, VF, "2019-06") == (2, 4)
    value = indicator_value(2, 4, definition(VF).target)
    assert (value.value_pct, value.met) == (50.0, True)


def test_tilbud_ending_on_the_windows_first_day_counts() -> None:
    # Window 2019-04-01..2019-06-30; the tilbud's last day is 1 April: 1 / 1.
    h = visited("A", Store())
    h.tilbud("2019-01-01", "loentilskud_privat", ended="2019-04-01")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (1, 1)


def test_tilbud_ending_the_day_before_the_window_does_not_count() -> None:
    # Last day 31 March, window starts 1 April: 0 / 1.
    h = visited("A", Store())
    h.tilbud("2019-01-01", "loentilskud_privat", ended="2019-03-31")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (0, 1)


def test_exempt_through_10_march_leaves_february_and_returns_in_march() -> None:
    # Exempt 15 January..10 March (inclusive). Reference days: 31 Jan exempt (0/0),
    # 28 Feb exempt (0/0), 31 Mar not exempt (0/1).
    h = visited("A", Store())
    h.exemption("2019-01-15", ended="2019-03-10")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2019-01") == (0, 0)
    assert count_of(counts, VF, "2019-02") == (0, 0)
    assert count_of(counts, VF, "2019-03") == (0, 1)


def test_current_month_is_judged_on_today_exempt_through_today() -> None:
    # Today = 10 March, the exemption's last day: the reference day is today, exempt, 0/0.
    # The next day the citizen is back: 0/1.
    h = visited("A", Store())
    h.exemption("2019-01-15", ended="2019-03-10")
    assert count_of(evaluate(h.events, d("2019-03-10")), VF, "2019-03") == (0, 0)
    assert count_of(evaluate(h.events, d("2019-03-11")), VF, "2019-03") == (0, 1)


def test_relocated_on_the_windows_last_day_leaves_the_denominator() -> None:
    # Moving day 30 June: the last member day is 29 June, so not a member on 30 June: 0/0.
    # May's reference day (31 May) still counts: 0/1.
    h = visited("E", Store())
    h.relocated("2019-06-30", to="751")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2019-06") == (0, 0)
    assert count_of(counts, VF, "2019-05") == (0, 1)


def test_relocated_citizen_counts_in_the_new_municipality_once_visited_there() -> None:
    # Re-visited in 751 on the moving day, with a tilbud in July: 751's July is 1/1, 461's 0/0.
    h = visited("E", Store())
    h.relocated("2019-06-30", to="751")
    h.visitation("2019-06-30", group=1, municipality="751")
    h.tilbud("2019-07-02", "virksomhedspraktik", ended="2019-07-20", municipality="751")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2019-07", municipality="751") == (1, 1)
    assert count_of(counts, VF, "2019-07", municipality="461") == (0, 0)


def test_afklaret_on_the_windows_last_day_leaves_the_denominator() -> None:
    # afklaret 30 June = first day outside the cohort: 0/0 for June; the day after: 1/1
    # (the ordinary hours in May make the numerator).
    h = visited("A", Store())
    h.hours("2019-05", 40)
    h.afklaret("2019-06-30")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (0, 0)

    h2 = visited("B", Store())
    h2.hours("2019-05", 40)
    h2.afklaret("2019-07-01")
    assert count_of(evaluate(h2.events, AFTER), VF, "2019-06") == (1, 1)


def test_visitation_ended_on_the_windows_last_day_still_counts() -> None:
    # visitation_ended 30 June = last member day: member on 30 June: 0/1.
    h = visited("A", Store())
    h.visitation_ended("2019-06-30")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (0, 1)


def test_visited_on_the_windows_last_day_counts_and_a_day_later_does_not() -> None:
    # Visited 30 June: member on the reference day, 0/1. Visited 1 July: 0/0 for June.
    assert count_of(
        evaluate(visited("A", Store(), on="2019-06-30").events, AFTER), VF, "2019-06"
    ) == (0, 1)
    assert count_of(
        evaluate(visited("A", Store(), on="2019-07-01").events, AFTER), VF, "2019-06"
    ) == (0, 0)


def test_activity_before_the_visitation_but_inside_the_window_counts() -> None:
    # Visited 15 June, virksomhedspraktik 1-10 April: member on 30 June, April in window: 1/1.
    h = visited("A", Store(), on="2019-06-15")
    h.tilbud("2019-04-01", "virksomhedspraktik", ended="2019-04-10")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (1, 1)


def test_group_2_is_not_in_the_criterion() -> None:
    h = visited("A", Store(), group=2)
    h.tilbud("2019-05-01", "virksomhedspraktik")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06", group=2) == (0, 0)
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06", group=1) == (0, 0)


def test_regrouped_from_1_to_2_leaves_group_1_from_the_new_visitation() -> None:
    # Group 1 from 2018-11-01, group 2 from 2019-06-01: May 0/1, June 0/0.
    h = visited("A", Store())
    h.visitation("2019-06-01", group=2)
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2019-05") == (0, 1)
    assert count_of(counts, VF, "2019-06") == (0, 0)


def test_retracted_tilbud_leaves_the_numerator() -> None:
    # Before the retraction 1/1; after it the tilbud never happened: 0/1.
    h = visited("A", Store())
    wrong = h.tilbud("2019-05-01", "virksomhedspraktik")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (1, 1)
    h.retract(wrong)
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (0, 1)


def test_as_of_shows_what_was_known_before_a_retraction() -> None:
    # The retraction is recorded after `known_then`: as known then, 1/1; as known now, 0/1.
    h = visited("A", Store())
    wrong = h.tilbud("2019-05-01", "virksomhedspraktik")
    known_then = wrong.recorded_at
    h.retract(wrong)
    assert count_of(evaluate(h.events, AFTER, as_of=known_then), VF, "2019-06") == (1, 1)
    assert count_of(evaluate(h.events, AFTER), VF, "2019-06") == (0, 1)


def test_tilbud_open_until_now_counts_in_the_following_windows() -> None:
    # Nytteindsats from 1 May, never ended, today 15 August: windows ending June, July and
    # August all overlap it: 1/1 each.
    h = visited("A", Store())
    h.tilbud("2019-05-01", "nytteindsats")
    counts = evaluate(h.events, AFTER)
    assert [count_of(counts, VF, p) for p in ("2019-04", "2019-06", "2019-07", "2019-08")] == [
        (0, 1),
        (1, 1),
        (1, 1),
        (1, 1),
    ]


def test_a_tilbud_starting_after_today_does_not_count_yet() -> None:
    # Today 15 August; a virksomhedspraktik planned from 20 August: August is 0/1 today.
    h = visited("A", Store())
    h.tilbud("2019-08-20", "virksomhedspraktik")
    assert count_of(evaluate(h.events, AFTER), VF, "2019-08") == (0, 1)
    assert count_of(evaluate(h.events, d("2019-08-20")), VF, "2019-08") == (1, 1)


def test_ordinary_education_and_hours_count_but_mentor_and_vejledning_do_not() -> None:
    # Window April-June. A: ordinaer_uddannelse (num). B: hours > 0 in April (num).
    # C: vejledning_opkvalificering (no). D: hours 0 (no). 2/4.
    s = Store()
    a = visited("A", s)
    a.tilbud("2019-05-01", "ordinaer_uddannelse")
    b = visited("B", s)
    b.hours("2019-04", 3.5)
    c = visited("C", s)
    c.tilbud("2019-05-01", "vejledning_opkvalificering")
    dd = visited("D", s)
    dd.hours("2019-05", 0)
    assert count_of(evaluate(merge(a, b, c, dd), AFTER), VF, "2019-06") == (2, 4)


def test_no_periods_before_the_first_visitation_month() -> None:
    h = visited("A", Store(), on="2018-11-20")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2018-10") == (0, 0)
    assert count_of(counts, VF, "2018-11") == (0, 1)


def test_periods_before_the_rule_set_took_effect_are_not_evaluated() -> None:
    # The FSM rule set is valid from 2017-08-01 (seeds/004 L10). A citizen visited in May
    # 2017 counts from August 2017: July 0/0, August 0/1.
    h = visited("A", Store(), on="2017-05-01")
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2017-07") == (0, 0)
    assert count_of(counts, VF, "2017-08") == (0, 1)


def test_periods_run_up_to_todays_month_and_no_further() -> None:
    h = visited("A", Store())
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, VF, "2019-08") == (0, 1)
    assert count_of(counts, VF, "2019-09") == (0, 0)
