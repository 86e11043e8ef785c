"""Membership by marking or by rule, validity periods, and target-group codes across the
2020 renumbering (LAB § 2 -> § 6)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from kommunepuls.experiments.citizen import read_citizen
from kommunepuls.experiments.membership import members, population, unmarked_eligible
from kommunepuls.experiments.registry import registry
from kommunepuls.experiments.target_groups import (
    LAB_CODES,
    code_on,
    series_key,
    slug_for_code,
)
from tests.unit.factories import History, d
from tests.unit.test_experiments_registry import SEEDS, _lines, needs_seeds

TODAY = date(2020, 6, 1)


def visit(h: History, on: str, programme: str, target_group: str, **kw: object) -> None:
    h.add("visitation", on, programme=programme, target_group=target_group, group=None, **kw)


def test_a_marking_in_an_experiment_municipality_makes_a_member_from_its_day() -> None:
    h = History("A", municipality="851")
    visit(h, "2018-02-01", "ivaerksaetteri_dimittender", "dagpenge_dimittend")
    h.add("visitation_ended", "2018-09-30", programme="ivaerksaetteri_dimittender")
    (member,) = members(registry()["ivaerksaetteri_dimittender"], read_citizen(h.events), TODAY)
    assert (member.municipality, member.start, member.end, member.basis) == (
        "851", d("2018-02-01"), d("2018-09-30"), "marking")


def test_a_marking_outside_the_experiment_municipalities_is_not_membership() -> None:
    h = History("A", municipality="101")  # København does not run the experiment
    visit(h, "2018-02-01", "ivaerksaetteri_dimittender", "dagpenge_dimittend")
    assert members(registry()["ivaerksaetteri_dimittender"], read_citizen(h.events), TODAY) == ()


def test_a_marking_before_the_start_counts_from_the_start_and_ends_with_the_experiment() -> None:
    # Mikrolån ran 2017-07-01 .. 2020-07-31; asked on 2021-01-01, an open marking ends then.
    h = History("A", municipality="851")
    visit(h, "2017-03-01", "mikrolaan", "kontanthjaelp_jobparat")
    (member,) = members(registry()["mikrolaan"], read_citizen(h.events), date(2021, 1, 1))
    assert (member.start, member.end) == (d("2017-07-01"), d("2020-07-31"))


def test_an_open_marking_during_the_experiment_is_open() -> None:
    h = History("A", municipality="851")
    visit(h, "2018-03-01", "mikrolaan", "kontanthjaelp_jobparat")
    (member,) = members(registry()["mikrolaan"], read_citizen(h.events), TODAY)
    assert member.end is None and member.on(TODAY)


def test_revalidering_decisions_from_1_july_2018_are_members_by_rule() -> None:
    # seeds/001 L92-96: every revalidering decision starting after 1/7 2018, no marking.
    entry = registry()["revalidering_lae265"]
    before, after, elsewhere = (History(c, municipality=m) for c, m in
                                (("B", "820"), ("A", "820"), ("C", "101")))
    visit(before, "2018-06-30", "revalidering_sag", "revalidering")
    visit(after, "2018-07-01", "revalidering_sag", "revalidering")
    visit(elsewhere, "2018-08-01", "revalidering_sag", "revalidering")
    assert members(entry, read_citizen(before.events), TODAY) == ()
    assert members(entry, read_citizen(elsewhere.events), TODAY) == ()
    (member,) = members(entry, read_citizen(after.events), TODAY)
    assert (member.start, member.basis, member.target_group) == (d("2018-07-01"), "rule",
                                                                 "revalidering")


def test_rule_membership_follows_the_scope_table_per_municipality() -> None:
    # formkrav_oevrige covers ledighedsydelse (2.7) in Vesthimmerland only.
    entry = registry()["formkrav_oevrige"]
    vh, fh = History("A", municipality="820"), History("B", municipality="813")
    visit(vh, "2018-01-01", "kontaktforloeb", "ledighedsydelse")
    visit(fh, "2018-01-01", "kontaktforloeb", "ledighedsydelse")
    assert len(members(entry, read_citizen(vh.events), TODAY)) == 1
    assert members(entry, read_citizen(fh.events), TODAY) == ()


def test_stays_under_two_programmes_in_one_target_group_are_one_stay() -> None:
    entry = registry()["ledighedsydelse_revurdering"]
    h = History("A", municipality="840")
    visit(h, "2018-01-01", "kontaktforloeb", "ledighedsydelse")
    visit(h, "2018-03-01", "fleksjob_visitation", "ledighedsydelse")
    h.add("visitation_ended", "2018-12-31", programme="kontaktforloeb")
    (stay,) = population(entry, read_citizen(h.events), ["840"])
    assert (stay.start, stay.end) == (d("2018-01-01"), None)


def test_population_is_not_clipped_to_the_experiment_and_takes_other_municipalities() -> None:
    entry = registry()["rehabiliteringsteam_lae265"]
    h = History("A", municipality="420")  # Assens, a comparison municipality
    visit(h, "2016-03-01", "sygeopfoelgning", "sygedagpenge")
    h.add("visitation_ended", "2016-09-30", programme="sygeopfoelgning")
    (stay,) = population(entry, read_citizen(h.events), entry.comparison.municipalities)
    assert (stay.start, stay.end) == (d("2016-03-01"), d("2016-09-30"))


def test_eligible_but_unmarked_citizens_are_listed_for_marking_experiments() -> None:
    entry = registry()["mikrolaan"]
    unmarked, marked = History("A", municipality="851"), History("B", municipality="851")
    visit(unmarked, "2018-01-01", "kontaktforloeb", "kontanthjaelp_jobparat")
    visit(marked, "2018-01-01", "kontaktforloeb", "kontanthjaelp_jobparat")
    visit(marked, "2018-02-01", "mikrolaan", "kontanthjaelp_jobparat")
    assert len(unmarked_eligible(entry, read_citizen(unmarked.events), TODAY)) == 1
    assert unmarked_eligible(entry, read_citizen(marked.events), TODAY) == ()


# --- target-group codes across 2020-01-01 -------------------------------------------------


def test_sygedagpenge_is_2_5_before_2020_and_6_6_after() -> None:
    assert code_on("2.5", date(2019, 12, 31)) == "2.5"
    assert code_on("2.5", date(2020, 1, 1)) == "6.6"
    assert slug_for_code("2.5") == slug_for_code("6.6") == "sygedagpenge"


def test_a_series_reported_in_both_numberings_runs_across_the_change() -> None:
    # Jobindsats-style rows: (code as reported that month, month, count).
    rows = [("2.5", date(2019, 11, 1), 40), ("2.5", date(2019, 12, 1), 42),
            ("6.6", date(2020, 1, 1), 41), ("6.6", date(2020, 2, 1), 39),
            ("2.7", date(2019, 12, 1), 7), ("6.9", date(2020, 1, 1), 8)]
    series = Counter()
    for code, month, count in rows:
        series[series_key(code, month)] += count
    assert series == {"2.5": 40 + 42 + 41 + 39, "2.7": 7 + 8}


def test_a_code_of_the_wrong_numbering_for_its_date_is_refused() -> None:
    with pytest.raises(ValueError, match="after the renumbering"):
        series_key("2.5", date(2020, 3, 1))
    with pytest.raises(ValueError, match="before the renumbering"):
        series_key("6.6", date(2019, 3, 1))


def test_a_code_the_seeds_do_not_map_has_no_2020_code() -> None:
    assert code_on("2.1", date(2020, 6, 1)) is None  # not stated in the seeds: not guessed


@needs_seeds
@pytest.mark.parametrize("entry", LAB_CODES, ids=[c.lab_2 for c in LAB_CODES])
def test_every_code_pair_is_stated_on_its_seed_line(entry: object) -> None:
    assert SEEDS.is_dir()
    line = _lines(entry.lab_2_seed)[entry.lab_2_line - 1]  # type: ignore[attr-defined]
    assert entry.lab_2 in line  # type: ignore[attr-defined]
    if entry.lab_6 is not None:  # type: ignore[attr-defined]
        line = _lines("003")[entry.lab_6_line - 1]  # type: ignore[attr-defined]
        assert f"{entry.lab_6} (tidligere {entry.lab_2})" in line  # type: ignore[attr-defined]
