"""The deadline engine, rule by rule, with hand-computed due days.

Municipalities: 851 Aalborg and 101 København run none of the relaxing experiments for the
families used unless stated; 820 Vesthimmerland runs formkrav_oevrige (2017-07-01 ..
2020-07-31, waives the ledighedsydelse contact cadence), integration_kontaktforloeb (from
2018-08-01) and foertidspension_loentilskud (2018-07-01 .. 2021-12-31); 851 runs
ledighedsydelse_revurdering (from 2018-07-01).
"""

from __future__ import annotations

from datetime import date
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from kommunepuls.experiments.citizen import read_citizen
from kommunepuls.experiments.deadlines import citizen_deadlines, months_in_days
from kommunepuls.experiments.rules import rule_in_force
from tests.unit.factories import History, d


def stay(h: History, on: str, target_group: str, programme: str = "kontaktforloeb") -> None:
    h.add("visitation", on, programme=programme, target_group=target_group, group=None)


def samtale(h: History, on: str, *, held: bool = True, form: str = "in_person",
            kind: str = "ordinary", municipality: str | None = None) -> None:
    h.add("samtale", on, municipality=municipality, form=form, held=held, kind=kind)


def statuses(result: object) -> list[tuple[str, str, str | None]]:
    return [(x.due.isoformat(), x.status, None if x.met_on is None else x.met_on.isoformat())
            for x in result.deadlines]  # type: ignore[attr-defined]


# --- every 3 months (ledighedsydelse contact, LAB § 73 a) --------------------------------


def test_contact_every_three_months_on_time_late_then_overdue() -> None:
    # Visited 15 Jan 2018: due 15 Apr (met 10 Apr, on time) -> due 10 Jul (met 20 Jul, late)
    # -> due 20 Oct, nothing by 1 Jan 2019: overdue.
    h = History("A", municipality="851")
    stay(h, "2018-01-15", "ledighedsydelse")
    samtale(h, "2018-04-10")
    samtale(h, "2018-07-20", form="group")  # any form counts for this rule
    samtale(h, "2018-10-01", held=False)  # a no-show meets nothing
    samtale(h, "2018-10-05", municipality="101")  # another municipality's samtale neither
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_kontakt",
                               date(2019, 1, 1))
    assert statuses(result) == [("2018-04-15", "on_time", "2018-04-10"),
                                ("2018-07-10", "late", "2018-07-20"),
                                ("2018-10-20", "overdue", None)]
    assert result.next_due == d("2018-10-20") and result.overdue


def test_a_deadline_after_the_stay_ended_is_not_laid_down() -> None:
    h = History("A", municipality="851")
    stay(h, "2018-01-15", "ledighedsydelse")
    h.afklaret("2018-04-01", outcome="fleksjob")  # last day in the stay: 31 March
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_kontakt",
                               date(2019, 1, 1))
    assert result.deadlines == () and result.next_due is None and not result.overdue


def test_a_due_day_in_an_exemption_counts_neither_way() -> None:
    # Due 15 Apr falls in the exemption: exempt; the next is 3 months on, 15 Jul, met 1 Jul.
    h = History("A", municipality="851")
    stay(h, "2018-01-15", "ledighedsydelse")
    h.exemption("2018-04-01", ended="2018-04-30")
    samtale(h, "2018-07-01")
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_kontakt",
                               date(2018, 8, 1))
    assert statuses(result)[:2] == [("2018-04-15", "exempt", None),
                                    ("2018-07-15", "on_time", "2018-07-01")]


def test_the_experiment_waives_the_cadence_from_its_start() -> None:
    # Vesthimmerland, stay from 1 Jan 2017: due 1 Apr (met 15 Mar), due 15 Jun (met 10 Jun),
    # then 10 Sep 2017 falls in formkrav_oevrige (from 1 Jul 2017): no deadline while it runs.
    h = History("A", municipality="820")
    stay(h, "2017-01-01", "ledighedsydelse")
    samtale(h, "2017-03-15")
    samtale(h, "2017-06-10")
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_kontakt",
                               date(2019, 1, 1))
    assert statuses(result) == [("2017-04-01", "on_time", "2017-03-15"),
                                ("2017-06-15", "on_time", "2017-06-10")]
    assert {x.variant for x in result.deadlines} == {"ordinary"}
    assert result.next_due is None and not result.overdue
    # After the experiment (ends 31 Jul 2020) the ordinary rule resumes from 1 Aug 2020.
    later = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_kontakt",
                              date(2021, 1, 1))
    assert statuses(later)[-1] == ("2020-11-01", "overdue", None)


# --- 6 then every 12 months, relaxed to 2½ years (førtidspension in løntilskud) ----------


def fp_history(municipality: str) -> History:
    h = History("A", municipality=municipality)
    stay(h, "2018-01-01", "foertidspension")
    h.tilbud("2018-02-01", "loentilskud_offentlig")
    samtale(h, "2018-07-15", form="phone")
    samtale(h, "2019-08-01", form="phone")
    return h


def test_foertidspension_in_loentilskud_ordinary_rule() -> None:
    # Anchor 1 Feb 2018 (løntilskud start): due 1 Aug 2018 (met 15 Jul, on time); then
    # 12 months from 15 Jul: due 15 Jul 2019 (met 1 Aug 2019, late); then due 1 Aug 2020.
    result = citizen_deadlines(read_citizen(fp_history("851").events),
                               "foertidspension_loentilskud", date(2020, 6, 1))
    assert statuses(result) == [("2018-08-01", "on_time", "2018-07-15"),
                                ("2019-07-15", "late", "2019-08-01"),
                                ("2020-08-01", "open", None)]
    assert result.next_due == d("2020-08-01") and not result.overdue


def test_foertidspension_in_loentilskud_relaxed_rule_in_vesthimmerland() -> None:
    # The experiment starts 1 Jul 2018, before the ordinary due day 1 Aug 2018, so that
    # deadline is set by the relaxed rule: 30 months from 1 Feb 2018 = 1 Aug 2020 (met
    # 15 Jul 2018). Next: 30 months from 15 Jul 2018 = 15 Jan 2021 (met 1 Aug 2019). Next:
    # 30 months from 1 Aug 2019 = 1 Feb 2022 is after the experiment (ends 31 Dec 2021); the
    # ordinary 12 months (1 Aug 2020) would fall before the ordinary rule is back, so the
    # deadline is its first day, 1 Jan 2022.
    result = citizen_deadlines(read_citizen(fp_history("820").events),
                               "foertidspension_loentilskud", date(2022, 6, 1))
    assert statuses(result) == [("2020-08-01", "on_time", "2018-07-15"),
                                ("2021-01-15", "on_time", "2019-08-01"),
                                ("2022-01-01", "overdue", None)]
    assert [x.variant for x in result.deadlines] == ["experiment", "experiment", "ordinary"]


def test_no_loentilskud_no_followup_deadline() -> None:
    h = History("A", municipality="851")
    stay(h, "2018-01-01", "foertidspension")
    result = citizen_deadlines(read_citizen(h.events), "foertidspension_loentilskud",
                               date(2020, 6, 1))
    assert result.deadlines == ()


# --- at least 4 in every 12 calendar months (integration) --------------------------------


def integration_history(municipality: str, fourth_form: str = "in_person") -> History:
    h = History("A", municipality=municipality)
    stay(h, "2018-01-01", "integrationsydelse", programme="integrationsprogram")
    for on in ("2018-02-01", "2018-05-01", "2018-08-01"):
        samtale(h, on)
    samtale(h, "2018-11-01", form=fourth_form)
    return h


def test_four_samtaler_in_twelve_calendar_months_window_by_window() -> None:
    # Windows: Jan-Dec 2018 (due 31 Dec: 4 -> on time, met by the 4th on 1 Nov), Feb 2018 -
    # Jan 2019 (4, on time), Mar 2018 - Feb 2019 (3: missed), Apr 2018 - Mar 2019 (3 so far,
    # due 31 Mar 2019 >= today 15 Mar: open).
    result = citizen_deadlines(read_citizen(integration_history("851").events),
                               "integration_samtaler", date(2019, 3, 15))
    assert statuses(result) == [("2018-12-31", "on_time", "2018-11-01"),
                                ("2019-01-31", "on_time", "2018-11-01"),
                                ("2019-02-28", "missed", None),
                                ("2019-03-31", "open", None)]
    assert result.next_due == d("2019-03-31") and result.overdue


def test_a_window_met_now_projects_the_next_due_day() -> None:
    # On 15 Dec 2018 the window Jan-Dec 2018 is met; the samtaler so far leave Mar 2018 -
    # Feb 2019 short (Feb-Jan still has 4), so the next due day is 28 Feb 2019.
    result = citizen_deadlines(read_citizen(integration_history("851").events),
                               "integration_samtaler", date(2018, 12, 15))
    assert statuses(result) == [("2018-12-31", "on_time", "2018-11-01")]
    assert result.next_due == d("2019-02-28") and not result.overdue


def test_group_samtaler_count_only_under_the_experiment() -> None:
    # The 4th samtale is a group samtale: Aalborg's ordinary rule counts 3 (missed);
    # Vesthimmerland's experiment (from 1 Aug 2018) counts 4 (on time).
    ordinary = citizen_deadlines(read_citizen(integration_history("851", "group").events),
                                 "integration_samtaler", date(2019, 1, 15))
    trial = citizen_deadlines(read_citizen(integration_history("820", "group").events),
                              "integration_samtaler", date(2019, 1, 15))
    assert statuses(ordinary)[0] == ("2018-12-31", "missed", None)
    assert statuses(trial)[0] == ("2018-12-31", "on_time", "2018-11-01")
    assert trial.deadlines[0].variant == "experiment"


def test_a_stay_starting_mid_month_is_judged_from_the_next_whole_month() -> None:
    h = History("A", municipality="851")
    stay(h, "2018-01-15", "integrationsydelse", programme="integrationsprogram")
    result = citizen_deadlines(read_citizen(h.events), "integration_samtaler",
                               date(2019, 1, 10))
    assert statuses(result) == [("2019-01-31", "open", None)]  # Feb 2018 - Jan 2019


# --- 12 months of benefit within 18 (ledighedsydelse reassessment, LAS § 74 c) -----------


def test_month_lengths_of_the_benefit_clock() -> None:
    assert (months_in_days(12), months_in_days(18)) == (365, 548)


def test_reassessment_after_12_months_done_by_18_then_the_clock_restarts() -> None:
    # København, on ledighedsydelse from 1 Jan 2017. 365th benefit day = 31 Dec 2017
    # (triggered); the 548th = 1 Jan 2017 + 547 days = 2 Jul 2018 (due). A revurdering on
    # 15 May 2018 meets it. The clock restarts 16 May 2018: 548th day = 16 May 2018 + 547
    # = 14 Nov 2019, open on 1 Jun 2019.
    h = History("A", municipality="101")
    stay(h, "2017-01-01", "ledighedsydelse")
    samtale(h, "2017-11-01", kind="revurdering")  # before the trigger: not the reassessment
    samtale(h, "2018-03-01", kind="ordinary")  # an ordinary samtale is no reassessment
    samtale(h, "2018-05-15", kind="revurdering")
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_revurdering",
                               date(2019, 6, 1))
    assert statuses(result) == [("2018-07-02", "on_time", "2018-05-15"),
                                ("2019-11-14", "open", None)]


def test_a_gap_in_benefit_moves_the_reassessment() -> None:
    # On benefit 1 Jan - 30 Jun 2017 (181 days) and again from 1 Oct 2017. The window of
    # 18 months still holds the first 181 days when the total reaches 365: 181 + 184 days
    # from 1 Oct 2017 -> 2 Apr 2018 (triggered). The due day is 183 benefit days later:
    # 2 Oct 2018. No reassessment by 1 Nov 2018: overdue.
    h = History("A", municipality="101")
    stay(h, "2017-01-01", "ledighedsydelse")
    h.add("visitation_ended", "2017-06-30", programme="kontaktforloeb")
    stay(h, "2017-10-01", "ledighedsydelse")
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_revurdering",
                               date(2018, 11, 1))
    assert statuses(result) == [("2018-10-02", "overdue", None)]
    assert result.overdue


def test_the_experiment_waives_a_reassessment_falling_due_in_it() -> None:
    # Aalborg runs ledighedsydelse_revurdering from 1 Jul 2018: the reassessment due
    # 2 Jul 2018 is waived (none laid down), as is the next one (due 2 Jan 2020).
    h = History("A", municipality="851")
    stay(h, "2017-01-01", "ledighedsydelse")
    result = citizen_deadlines(read_citizen(h.events), "ledighedsydelse_revurdering",
                               date(2020, 6, 1))
    assert result.deadlines == () and not result.overdue


def test_rule_in_force_is_chosen_by_municipality_and_day() -> None:
    family = "integration_samtaler"
    assert rule_in_force(family, "820", date(2018, 7, 31)).variant == "ordinary"  # type: ignore[union-attr]
    assert rule_in_force(family, "820", date(2018, 8, 1)).variant == "experiment"  # type: ignore[union-attr]
    assert rule_in_force(family, "851", date(2018, 8, 1)).variant == "ordinary"  # type: ignore[union-attr]
    assert rule_in_force(family, "820", date(2020, 8, 1)).variant == "ordinary"  # type: ignore[union-attr]


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False))
def test_arrival_order_never_changes_the_deadlines(rng: Random) -> None:
    h = History("A", municipality="820")
    stay(h, "2017-01-01", "ledighedsydelse")
    for on in ("2017-03-15", "2017-06-10", "2020-09-01"):
        samtale(h, on)
    h.exemption("2020-10-01", ended="2020-12-31")
    wrong = h.add("samtale", "2020-10-15", form="phone", held=True, kind="ordinary")
    h.retract(wrong, on="2020-10-20")
    shuffled = list(h.events)
    rng.shuffle(shuffled)
    family, today = "ledighedsydelse_kontakt", date(2021, 6, 1)
    assert citizen_deadlines(read_citizen(shuffled), family, today) == citizen_deadlines(
        read_citizen(h.events), family, today)
