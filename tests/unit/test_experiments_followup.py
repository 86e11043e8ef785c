"""Follow-up windows: yes / no / not yet due, hand-computed."""

from __future__ import annotations

from datetime import date

from kommunepuls.experiments.citizen import read_citizen
from kommunepuls.experiments.followup import (
    OutcomeCount,
    count_outcomes,
    cvr_survival,
    outcome_windows,
    self_support_after_microloan,
    status_after_tilbud,
)
from kommunepuls.experiments.membership import Member
from tests.unit.factories import History, d

CVR_A, CVR_B = "12345674", "10000009"  # both pass modulus 11


def member(start: str, end: str | None = None, citizen: str = "A") -> Member:
    return Member("x", citizen, "851", "dagpenge_dimittend", d(start),
                  None if end is None else d(end), "marking")


def outcomes(results: list) -> list[tuple[int, str]]:  # type: ignore[type-arg]
    return [(r.months, r.outcome) for r in results]


def test_cvr_survival_at_6_12_18_24_months() -> None:
    # Registered 15 Mar 2018, ceased 1 Dec 2018 (its last day). Today 1 Jan 2020:
    # 6 m = 15 Sep 2018 alive (yes); 12 m = 15 Mar 2019 ceased before (no); 18 m = 15 Sep
    # 2019 (no); 24 m = 15 Mar 2020 has not come: not yet due, not a failure.
    h = History("A", municipality="851")
    h.add("cvr_registered", "2018-03-15", cvr=CVR_A)
    h.add("cvr_ceased", "2018-12-01", cvr=CVR_A)
    results = cvr_survival(member("2018-01-01"), read_citizen(h.events), (6, 12, 18, 24),
                           date(2020, 1, 1))
    assert outcomes(results) == [(6, "yes"), (12, "no"), (18, "no"), (24, "not_yet_due")]


def test_a_business_alive_on_the_check_day_survives_and_the_check_day_must_pass() -> None:
    h = History("A", municipality="851")
    h.add("cvr_registered", "2018-03-15", cvr=CVR_A)
    h.add("cvr_ceased", "2018-09-15", cvr=CVR_A)  # last day = the 6-month check day
    on_the_day = cvr_survival(member("2018-01-01"), read_citizen(h.events), (6,),
                              date(2018, 9, 15))
    after = cvr_survival(member("2018-01-01"), read_citizen(h.events), (6,), date(2018, 9, 16))
    assert outcomes(on_the_day) == [(6, "not_yet_due")]
    assert outcomes(after) == [(6, "yes")]


def test_only_businesses_started_while_a_member_are_followed() -> None:
    h = History("A", municipality="851")
    h.add("cvr_registered", "2017-05-01", cvr=CVR_A)  # before the marking
    h.add("cvr_registered", "2018-05-01", cvr=CVR_B)
    results = cvr_survival(member("2018-01-01"), read_citizen(h.events), (6,), date(2020, 1, 1))
    assert [r.subject for r in results] == [CVR_B]


def test_status_3_6_9_months_after_a_tilbud_ends() -> None:
    # Education ends 31 Jan 2019. Checks in April (3 m), July (6 m), October 2019 (9 m).
    # Hours in April: yes. Nothing in July: no. October has not ended on 15 Oct: not yet due.
    h = History("A", municipality="813")
    h.tilbud("2018-08-01", "ordinaer_uddannelse", ended="2019-01-31")
    h.hours("2019-04", 60)
    h.hours("2019-05", 80)
    results = status_after_tilbud(member("2018-07-01"), read_citizen(h.events),
                                  ("ordinaer_uddannelse",), (3, 6, 9), date(2019, 10, 15))
    assert outcomes(results) == [(3, "yes"), (6, "no"), (9, "not_yet_due")]
    assert results[0].check_day == d("2019-04-30")


def test_ordinary_education_in_the_check_month_counts_as_a_good_status() -> None:
    h = History("A", municipality="813")
    h.tilbud("2018-08-01", "loentilskud_offentlig", ended="2019-01-31")
    h.tilbud("2019-03-01", "ordinaer_uddannelse")
    results = status_after_tilbud(member("2018-07-01"), read_citizen(h.events),
                                  ("loentilskud_offentlig",), (3,), date(2019, 6, 1))
    assert outcomes(results) == [(3, "yes")]


def test_an_open_tilbud_has_no_followup_yet() -> None:
    h = History("A", municipality="813")
    h.tilbud("2018-08-01", "jobrotation")
    assert status_after_tilbud(member("2018-07-01"), read_citizen(h.events), ("jobrotation",),
                               (3,), date(2020, 1, 1)) == []


def test_self_support_1_2_and_2_half_years_after_the_microloan_period() -> None:
    # Microloan 1 Mar - 31 Aug 2018; afklaret to self-employment 1 Sep 2018. Checks: 31 Aug
    # 2019 (yes), 31 Aug 2020 (back on a programme from 1 May 2020: no), 28 Feb 2021 (not
    # yet due on 1 Jan 2021).
    h = History("A", municipality="851")
    h.add("visitation", "2018-01-01", programme="mikrolaan", target_group="kontanthjaelp_jobparat",
          group=None)
    h.add("microloan_granted", "2018-03-01", loan_id="ML-1", amount_dkk=40000)
    h.add("microloan_ended", "2018-08-31", loan_id="ML-1")
    h.afklaret("2018-09-01", outcome="self_employment")
    h.add("visitation", "2020-05-01", programme="kontaktforloeb",
          target_group="kontanthjaelp_jobparat", group=None)
    results = self_support_after_microloan(member("2018-01-01", "2018-08-31"),
                                           read_citizen(h.events), (12, 24, 30),
                                           date(2021, 1, 1))
    assert [(r.months, r.check_day.isoformat(), r.outcome) for r in results] == [
        (12, "2019-08-31", "yes"), (24, "2020-08-31", "no"), (30, "2021-02-28", "not_yet_due")]


def test_a_microloan_without_an_end_is_taken_to_end_after_six_months() -> None:
    h = History("A", municipality="851")
    h.add("microloan_granted", "2018-03-01", loan_id="ML-1")
    (result,) = self_support_after_microloan(member("2018-01-01"), read_citizen(h.events),
                                             (12,), date(2018, 6, 1))
    assert result.anchor == d("2018-08-31") and result.outcome == "not_yet_due"


def test_a_retracted_microloan_end_is_not_the_anchor() -> None:
    h = History("A", municipality="851")
    h.add("microloan_granted", "2018-03-01", loan_id="ML-1")
    wrong = h.add("microloan_ended", "2018-04-30", loan_id="ML-1")
    h.retract(wrong, on="2018-05-02")
    (result,) = self_support_after_microloan(member("2018-01-01"), read_citizen(h.events),
                                             (12,), date(2018, 6, 1))
    assert result.anchor == d("2018-08-31")


def test_outcome_windows_from_entry_by_half_year_cohort() -> None:
    # Entry 20 Sep 2018 (cohort 2018-H2). Month 1 = September. Windows: Sep-Nov (hours in
    # Oct: yes), Dec-Feb (no), Mar-May 2019 (May has not ended on 20 May: not yet due),
    # Jun-Aug (not yet due).
    h = History("A", municipality="849")
    h.hours("2018-10", 20)
    results = outcome_windows(member("2018-09-20"), read_citizen(h.events), (3, 6, 9, 12),
                              date(2019, 5, 20))
    assert outcomes(results) == [(3, "yes"), (6, "no"), (9, "not_yet_due"),
                                 (12, "not_yet_due")]
    assert {r.cohort for r in results} == {"2018-H2"}


def test_outcomes_are_counted_in_three_states_per_window_and_cohort() -> None:
    h1, h2, h3 = (History(c, municipality="849") for c in "ABC")
    h1.hours("2018-10", 20)
    people = [read_citizen(h.events) for h in (h1, h2, h3)]
    results = [r for p, start in zip(people, ("2018-09-20", "2018-07-01", "2019-05-01"),
                                     strict=True)
               for r in outcome_windows(member(start, citizen=p.citizen_id), p, (3,),
                                        date(2019, 6, 1))]
    counts = count_outcomes(results)
    assert counts[("outcome_windows", 3, "851", "2018-H2")] == OutcomeCount(1, 1, 0)
    assert counts[("outcome_windows", 3, "851", "2019-H1")] == OutcomeCount(0, 0, 1)
