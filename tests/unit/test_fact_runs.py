"""Cells travel as runs of consecutive months; the encoding must give back exactly the cells."""

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kommunepuls import facts
from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell
from kommunepuls.facts import (
    MONTH_STEP,
    PART_BIT,
    Fact,
    decode,
    encode,
    from_runs,
    pack,
    runs_literal,
    to_runs,
)
from kommunepuls.storage.arrays import literal

packed_cells = st.lists(st.integers(0, 2**34), max_size=60).map(lambda c: tuple(sorted(c)))


@given(packed_cells)
def test_runs_give_back_the_sorted_cells_duplicates_included(cells: tuple[int, ...]) -> None:
    assert from_runs(to_runs(cells)) == cells


def test_consecutive_months_of_a_cell_are_one_run() -> None:
    # fsm_virksomhedsforloeb, 851, group 1: denominator 2019-01..2019-06 and the numerator
    # in 2019-03 and 2019-04 -> one run of 6 months and one of 2.
    months = [f"2019-{m:02d}" for m in range(1, 7)]
    den = [pack(Cell("fsm_virksomhedsforloeb", "851", m, 1, DENOMINATOR)) for m in months]
    num = [pack(Cell("fsm_virksomhedsforloeb", "851", m, 1, NUMERATOR)) for m in months[2:4]]
    cells = tuple(sorted(den + num))
    assert den[1] - den[0] == MONTH_STEP and num[0] - den[2] == PART_BIT
    # The numerator run starts PART_BIT after 2019-03's denominator, i.e. PART_BIT - 3 months
    # after the last denominator (2019-06).
    assert to_runs(cells) == [den[0], 6, PART_BIT - 3 * MONTH_STEP, 2]


def test_a_record_of_the_first_format_is_still_read() -> None:
    old = orjson.dumps([("c1", 42, 737000, [5, 7])])
    assert decode(old) == [Fact("c1", 42, 737000, (5, 7))]
    assert decode(encode([Fact("c1", 42, 737000, (5, 7))])) == [Fact("c1", 42, 737000, (5, 7))]


@given(packed_cells, st.integers(1, 4))
def test_a_runs_literal_is_the_array_literal_of_the_cells(cells: tuple[int, ...],
                                                          limit: int) -> None:
    # Small cache limits make it fill and empty within one literal.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(facts, "_RUN_TEXT_LIMIT", limit)
        for _ in range(2):  # the second time from the cache
            assert runs_literal(to_runs(cells)) == literal(cells)
    assert runs_literal([]) == "{}"


def test_a_runs_literal_spells_out_each_run() -> None:
    step = MONTH_STEP
    cells = (5, 5 + step, 5 + 2 * step, 9000, 9000 + step)
    assert to_runs(cells) == [5, 3, 9000 - 5 - 2 * step, 2]
    assert runs_literal(to_runs(cells)) == f"{{5,{5 + step},{5 + 2 * step},9000,{9000 + step}}}"
