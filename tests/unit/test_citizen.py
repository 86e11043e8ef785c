"""Folding one citizen's events into state: duplicates, retractions, order, date conventions."""

from __future__ import annotations

import dataclasses

import pytest

from kommunepuls.domain.citizen import FSM, fold
from tests.unit.factories import History, d


def test_duplicate_event_id_is_folded_once() -> None:
    h = History()
    started = h.tilbud("2019-03-01", "virksomhedspraktik")
    redelivered = dataclasses.replace(started, position=99)
    state = fold([*h.events, redelivered])
    assert len(state.tilbud) == 1
    assert state.events_through == 99


def test_retracted_visitation_counts_as_never_having_happened() -> None:
    h = History()
    wrong = h.visitation("2018-11-01", group=1)
    h.retract(wrong)
    assert fold(h.events).memberships == ()


def test_retracting_a_retraction_restores_the_event() -> None:
    h = History()
    visit = h.visitation("2018-11-01", group=1)
    oops = h.retract(visit)
    h.retract(oops)
    assert [m.group for m in fold(h.events).memberships] == [1]


def test_late_tilbud_start_still_pairs_with_its_earlier_recorded_end() -> None:
    h = History()
    h.tilbud_ended("2019-04-01", tilbud_id="T9")
    h.tilbud("2019-03-01", "virksomhedspraktik", tilbud_id="T9")
    (spell,) = fold(h.events).tilbud
    assert (spell.start, spell.end, spell.kind) == (
        d("2019-03-01"),
        d("2019-04-01"),
        "virksomhedspraktik",
    )


def test_tilbud_ending_before_it_starts_is_dropped() -> None:
    h = History()
    h.tilbud("2019-03-01", "mentor", ended="2019-02-01")
    assert fold(h.events).tilbud == ()


def test_open_tilbud_has_no_end() -> None:
    h = History()
    h.tilbud("2019-03-01", "fleksjob", cvr="12345674")
    (spell,) = fold(h.events).tilbud
    assert spell.end is None and spell.cvr == "12345674"


def test_new_visitation_replaces_the_group_from_its_date() -> None:
    h = History()
    h.visitation("2018-02-01", group=6)
    h.visitation("2018-06-01", group=1)
    first, second = fold(h.events).memberships
    assert (first.group, first.start, first.end, first.end_reason) == (
        6,
        d("2018-02-01"),
        d("2018-05-31"),
        "replaced",
    )
    assert (second.group, second.start, second.end) == (1, d("2018-06-01"), None)


def test_late_visitation_is_placed_by_its_date_not_its_arrival() -> None:
    h = History()
    h.visitation("2018-06-01", group=1)
    h.visitation("2018-02-01", group=6)  # arrives late, happened first
    groups = [(m.group, m.start, m.end) for m in fold(h.events).memberships]
    assert groups == [(6, d("2018-02-01"), d("2018-05-31")), (1, d("2018-06-01"), None)]


def test_resent_identical_visitation_keeps_the_original_start() -> None:
    h = History()
    h.visitation("2018-02-01", group=1)
    h.visitation("2018-09-01", group=1)
    (membership,) = fold(h.events).memberships
    assert (membership.start, membership.end) == (d("2018-02-01"), None)


def test_visitation_ended_day_is_the_last_day_of_membership() -> None:
    h = History()
    h.visitation("2018-02-01", group=1)
    h.visitation_ended("2019-03-10")
    (membership,) = fold(h.events).memberships
    assert (membership.end, membership.end_reason) == (d("2019-03-10"), "ended")


def test_afklaret_day_is_the_first_day_outside_the_cohort() -> None:
    h = History()
    h.visitation("2018-02-01", group=2)
    h.afklaret("2019-07-01", outcome="foertidspension")
    state = fold(h.events)
    (membership,) = state.memberships
    assert (membership.end, membership.end_reason) == (d("2019-06-30"), "afklaret")
    assert [(a.on, a.outcome, a.municipality) for a in state.afklaret] == [
        (d("2019-07-01"), "foertidspension", "461")
    ]


def test_visitation_and_afklaret_on_the_same_day_leave_no_membership() -> None:
    h = History()
    h.afklaret("2019-07-01")  # arrives first; same-day rank still puts it last
    h.visitation("2019-07-01", group=1)
    assert fold(h.events).memberships == ()


def test_relocation_ends_membership_in_the_old_municipality_only() -> None:
    h = History(municipality="461")
    h.visitation("2018-11-01", group=1)
    h.visitation("2019-06-30", group=1, municipality="751")  # new municipality, same day
    h.relocated("2019-06-30", to="751")
    state = fold(h.events)
    old, new = state.memberships
    # The 751 visitation replaced the 461 membership from its date; the move changes nothing
    # more, and above all does not end the new municipality's membership.
    assert (old.municipality, old.end) == ("461", d("2019-06-29"))
    assert (new.municipality, new.start, new.end) == ("751", d("2019-06-30"), None)
    assert [(r.on, r.from_municipality, r.to_municipality) for r in state.relocations] == [
        (d("2019-06-30"), "461", "751")
    ]


def test_relocation_day_is_the_first_day_outside_the_old_municipality() -> None:
    h = History(municipality="461")
    h.visitation("2018-11-01", group=1)
    h.relocated("2019-06-30", to="751")
    (membership,) = fold(h.events).memberships
    assert (membership.end, membership.end_reason) == (d("2019-06-29"), "relocated")


def test_exemption_end_day_is_exempt() -> None:
    h = History()
    h.exemption("2019-01-15", ended="2019-03-10")
    (exemption,) = fold(h.events).exemptions
    assert (exemption.start, exemption.end) == (d("2019-01-15"), d("2019-03-10"))


def test_one_day_exemption_whatever_the_arrival_order() -> None:
    h = History()
    h.add("exemption_ended", "2019-03-10", reason="sygdom")
    h.add("exemption_started", "2019-03-10", reason="sygdom")
    (exemption,) = fold(h.events).exemptions
    assert (exemption.start, exemption.end) == (d("2019-03-10"), d("2019-03-10"))


def test_later_reported_hours_replace_the_earlier_report_for_the_month() -> None:
    h = History()
    h.hours("2019-03", 12, on="2019-04-10")
    h.hours("2019-03", 0, on="2019-05-02")  # eIndkomst correction
    assert [(r.month, r.hours) for r in fold(h.events).ordinary_hours] == [("2019-03", 0)]


def test_a_late_arriving_old_report_does_not_undo_a_correction() -> None:
    h = History()
    h.hours("2019-03", 0, on="2019-05-02")  # the correction arrived first
    h.hours("2019-03", 12, on="2019-04-10")  # the original, backfilled later
    assert [r.hours for r in fold(h.events).ordinary_hours] == [0]


def test_same_day_hours_reports_are_settled_by_recording_order() -> None:
    h = History()
    h.hours("2019-03", 12, on="2019-04-10")
    h.hours("2019-03", 20, on="2019-04-10")
    assert [r.hours for r in fold(h.events).ordinary_hours] == [20]


def test_sickness_spell_runs_from_first_sick_day_to_the_day_before_fit() -> None:
    h = History()
    h.add("sygemelding", "2019-02-04", first_sick_day="2019-02-01", partial=True)
    h.add("raskmelding", "2019-03-01", fit_from="2019-03-01")
    (spell,) = fold(h.events).sickness
    assert (spell.start, spell.end, spell.partial) == (d("2019-02-01"), d("2019-02-28"), True)


def test_cvr_registration_is_open_until_ceased() -> None:
    h = History()
    h.add("cvr_registered", "2019-02-01", cvr="12345674")
    h.add("cvr_registered", "2019-05-01", cvr="87654321")
    h.add("cvr_ceased", "2019-04-30", cvr="12345674")
    spells = [(c.cvr, c.start, c.end) for c in fold(h.events).cvr_registrations]
    assert spells == [
        ("12345674", d("2019-02-01"), d("2019-04-30")),
        ("87654321", d("2019-05-01"), None),
    ]


def test_caseworker_on_a_day_is_the_latest_assignment_by_then() -> None:
    h = History()
    h.add("caseworker_assigned", "2019-05-01", caseworker_id="jf-2")
    h.add("caseworker_assigned", "2019-01-01", caseworker_id="jf-1")
    state = fold(h.events)
    assert state.caseworker_on(d("2018-12-31")) is None
    assert state.caseworker_on(d("2019-04-30")) == "jf-1"
    assert state.caseworker_on(d("2019-05-01")) == "jf-2"


def test_samtale_does_not_change_the_state() -> None:
    h = History()
    h.visitation("2018-11-01")
    before = fold(h.events)
    h.add("samtale", "2019-01-05", form="personal", held=True, kind="ordinary")
    after = fold(h.events)
    assert dataclasses.replace(after, events_through=before.events_through) == before


def test_fold_refuses_events_of_two_citizens() -> None:
    a, b = History("a"), History("b")
    a.visitation("2018-11-01")
    b.visitation("2018-11-01")
    with pytest.raises(ValueError, match="one citizen"):
        fold(a.events + b.events)


def test_fold_of_nothing_is_an_empty_state() -> None:
    state = fold([])
    assert state.memberships == () and state.events_through == 0


def test_memberships_record_programme_and_target_group() -> None:
    h = History()
    h.visitation("2018-11-01", target_group="uddannelseshjaelp")
    (membership,) = fold(h.events).memberships
    assert (membership.programme, membership.target_group) == (FSM, "uddannelseshjaelp")
