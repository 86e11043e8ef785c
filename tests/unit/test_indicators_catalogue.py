"""The catalogue is complete data: every indicator says what it counts, where from, and when."""

from __future__ import annotations

import re

import pytest

from kommunepuls.domain.catalogue import (
    CATALOGUE,
    RULE_SET_VERSION,
    IndicatorDefinition,
    definition,
)
from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import contributions
from tests.unit.factories import History, d

DOMAIN_SECTION_4 = {
    "fsm_virksomhedsforloeb",
    "fsm_virksomhedsforloeb_ever",
    "fsm_ordinaere_timer",
    "fsm_30_timer",
    "fsm_afklaret",
    "fsm_virksomhedsforloeb_curve",
}


def test_catalogue_holds_every_indicator_of_domain_section_4_once() -> None:
    ids = [d.id for d in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert set(ids) == DOMAIN_SECTION_4


@pytest.mark.parametrize("indicator", CATALOGUE, ids=lambda d: d.id)
def test_every_definition_is_stated_in_both_languages_with_a_source(
    indicator: IndicatorDefinition,
) -> None:
    for words in (indicator.title, indicator.numerator, indicator.denominator, indicator.window):
        assert words.en.strip() and words.da.strip()
    assert re.search(r"seeds/004 .*L\d+", indicator.source)
    assert indicator.rule_set_version == RULE_SET_VERSION
    assert indicator.valid_to is None or indicator.valid_from <= indicator.valid_to
    assert indicator.groups


def test_only_the_success_criterion_has_the_40_percent_target() -> None:
    targets = {d.id: d.target for d in CATALOGUE if d.target is not None}
    assert {k: str(v) for k, v in targets.items()} == {"fsm_virksomhedsforloeb": "0.40"}


def test_every_indicator_is_evaluated_for_a_typical_citizen() -> None:
    # One group-1 citizen with activity and an afklaret touches every indicator's cells.
    h = History()
    h.visitation("2018-11-01", group=1)
    h.tilbud("2019-01-07", "virksomhedspraktik", ended="2019-02-28")
    h.hours("2019-03", 140)
    h.afklaret("2019-05-01")
    touched = {cell.indicator for cell in contributions(fold(h.events), d("2019-08-15"))}
    assert touched == DOMAIN_SECTION_4


def test_unknown_indicator_id_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        definition("fsm_nonsense")
