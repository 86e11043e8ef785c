import re
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from kommunepuls.domain.catalogue import CATALOGUE
from kommunepuls.domain.citizen import fold
from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, contributions
from kommunepuls.facts import (
    INDICATOR_CODES,
    Fact,
    decode,
    encode,
    key_columns,
    pack,
    pack_all,
    packed_contributions,
    unpack,
)
from kommunepuls.reference import municipalities
from tests.unit.test_indicators_properties import PROPERTY, population, store, todays
from tests.unit.test_indicators_properties import Fact as PropertyFact

cells = st.builds(
    Cell,
    st.sampled_from(sorted(INDICATOR_CODES)),
    st.sampled_from(sorted(municipalities())),
    st.one_of(st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2000, 2099),
                        st.integers(1, 12)),
              st.builds(lambda m: f"m{m:02d}", st.integers(1, 29))),
    st.sampled_from([None, 1, 2, 3, 6]),
    st.sampled_from([NUMERATOR, DENOMINATOR]),
)


@given(cells)
def test_a_packed_cell_unpacks_to_itself(cell: Cell) -> None:
    assert unpack(pack(cell)) == cell


@given(st.lists(cells, max_size=20))
def test_key_columns_name_the_cells_as_unpack_does(found: list[Cell]) -> None:
    packed = [pack(c) for c in found]
    assert list(zip(*key_columns(packed), strict=True)) == [
        (c.indicator, c.municipality, c.period, c.group or 0) for c in found]


def test_every_catalogued_indicator_has_a_stable_code() -> None:
    assert {d.id for d in CATALOGUE} <= set(INDICATOR_CODES)
    assert len(set(INDICATOR_CODES.values())) == len(INDICATOR_CODES)


def test_facts_round_trip_through_their_encoding() -> None:
    cell = Cell("fsm_virksomhedsforloeb", "851", "2018-03", 1, NUMERATOR)
    fact = Fact("c1", 42, 737000, pack_all([cell]))
    assert decode(encode([fact])) == [fact]


@given(st.lists(cells, min_size=1, max_size=20))
def test_cell_keys_need_no_quoting_as_array_literals(found: list[Cell]) -> None:
    # The metrics flush sends them as unquoted `{a,b}` literals (kommunepuls/storage/arrays.py):
    # a comma, brace, quote, backslash, space or the word NULL would change what arrives.
    for column in key_columns([pack(c) for c in found]):
        for value in map(str, column):
            assert re.fullmatch(r"[A-Za-z0-9_-]+", value) and value.upper() != "NULL", value


@PROPERTY
@given(facts=population(), today=todays)
def test_packed_contributions_are_the_packed_cells_of_contributions(
        facts: list[PropertyFact], today: date) -> None:
    """The cohorts worker's fast path (rows of packed cells) gives what packing each cell
    of `contributions` gives, for the plain-Cell rows already made and for fresh ones."""
    events = store(facts)
    for citizen in sorted({e.citizen_id for e in events}):
        state = fold([e for e in events if e.citizen_id == citizen])
        expected = pack_all(contributions(state, today))
        assert packed_contributions(state, today) == expected
        assert list(expected) == sorted(set(expected))  # sorted, each cell once
