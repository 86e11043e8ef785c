"""fsm_ordinaere_timer and fsm_30_timer: ordinary hours of group 1.

Every test works the expected numerator / denominator out by hand in a comment.
"""

from __future__ import annotations

from kommunepuls.domain.evaluation import evaluate
from tests.unit.factories import History, Store, count_of, d, merge

HOURS = "fsm_ordinaere_timer"
H30 = "fsm_30_timer"
AFTER = d("2019-08-15")


def visited(citizen: str, store: Store) -> History:
    h = History(citizen, "461", store)
    h.visitation("2018-11-01", group=1)
    return h


def test_ordinary_hours_in_any_window_month_count() -> None:
    # Period 2019-06, window April-June. A: 12 h in April (num). B: 12 h in March (no).
    # C: 0 h in May (no). D: virksomhedspraktik only (no: not hours). 1/4.
    s = Store()
    a = visited("A", s)
    a.hours("2019-04", 12)
    b = visited("B", s)
    b.hours("2019-03", 12)
    c = visited("C", s)
    c.hours("2019-05", 0)
    dd = visited("D", s)
    dd.tilbud("2019-05-01", "virksomhedspraktik")
    assert count_of(evaluate(merge(a, b, c, dd), AFTER), HOURS, "2019-06") == (1, 4)


def test_hours_at_the_loentilskud_employer_are_not_ordinary() -> None:
    # A: løntilskud at CVR 12345674 in May, and 60 h in May from that employer: subsidised,
    # 0. B: same løntilskud, 60 h in May from another employer: ordinary, 1. -> 1/2.
    s = Store()
    a = visited("A", s)
    a.tilbud("2019-05-01", "loentilskud_privat", ended="2019-05-31", cvr="12345674")
    a.hours("2019-05", 60, cvr="12345674")
    b = visited("B", s)
    b.tilbud("2019-05-01", "loentilskud_privat", ended="2019-05-31", cvr="12345674")
    b.hours("2019-05", 60, cvr="87654321")
    assert count_of(evaluate(merge(a, b), AFTER), HOURS, "2019-06") == (1, 2)


def test_hours_at_a_former_fleksjob_employer_are_ordinary_again() -> None:
    # Fleksjob at 12345674 ended 30 April; 60 h in June from the same employer: ordinary. 1/1.
    h = visited("A", Store())
    h.tilbud("2019-02-01", "fleksjob", ended="2019-04-30", cvr="12345674")
    h.hours("2019-06", 60, cvr="12345674")
    assert count_of(evaluate(h.events, AFTER), HOURS, "2019-06") == (1, 1)


def test_corrected_hours_report_replaces_the_first() -> None:
    # 12 h reported for April, corrected to 0 h: April has no hours, 0/1.
    h = visited("A", Store())
    h.hours("2019-04", 12, on="2019-05-10")
    h.hours("2019-04", 0, on="2019-06-02")
    assert count_of(evaluate(h.events, AFTER), HOURS, "2019-06") == (0, 1)


def test_130_hours_in_the_period_month_is_30_a_week() -> None:
    # Period 2019-06. A: 130 h in June (num). B: 129.5 h in June (no). C: 160 h in May
    # (no: only the period month counts). D: 140 h in June at its fleksjob employer (no).
    # E: exempt on 30 June (not in den). 1/4.
    s = Store()
    a = visited("A", s)
    a.hours("2019-06", 130)
    b = visited("B", s)
    b.hours("2019-06", 129.5)
    c = visited("C", s)
    c.hours("2019-05", 160)
    dd = visited("D", s)
    dd.tilbud("2019-01-01", "fleksjob", cvr="12345674")
    dd.hours("2019-06", 140, cvr="12345674")
    e = visited("E", s)
    e.hours("2019-06", 150)
    e.exemption("2019-06-15")
    counts = evaluate(merge(a, b, c, dd, e), AFTER)
    assert count_of(counts, H30, "2019-06") == (1, 4)
    # May: C's 160 h count, E is not yet exempt: 1/5.
    assert count_of(counts, H30, "2019-05") == (1, 5)


def test_30_hours_denominator_is_group_1_on_the_periods_last_day() -> None:
    # Afklaret 30 June with 150 h in June: not a member on 30 June, 0/0.
    h = visited("A", Store())
    h.hours("2019-06", 150)
    h.afklaret("2019-06-30")
    assert count_of(evaluate(h.events, AFTER), H30, "2019-06") == (0, 0)


def test_current_month_without_a_report_yet_is_not_in_the_numerator() -> None:
    # Today 15 August: August hours are not reported yet. 0/1; July's 140 h count in July 1/1.
    h = visited("A", Store())
    h.hours("2019-07", 140)
    counts = evaluate(h.events, AFTER)
    assert count_of(counts, H30, "2019-08") == (0, 1)
    assert count_of(counts, H30, "2019-07") == (1, 1)
