"""The metrics worker's compact citizen state: same counts, a few bytes per citizen."""

from hypothesis import given
from hypothesis import strategies as st

from kommunepuls.domain.evaluation import DENOMINATOR, Cell, Count, CountKey
from kommunepuls.facts import Fact, citizen_id_of, citizen_key, pack, pack_all, version_key
from services.metrics.state import PartitionState, decode_citizen, encode_citizen

PSEUDONYM = "0f" * 32
MARCH = Cell("fsm_virksomhedsforloeb", "851", "2018-03", 1, DENOMINATOR)
KEY = CountKey("fsm_virksomhedsforloeb", "851", "2018-03", 1)


@given(st.integers(0, 2**40), st.integers(0, 800_000),
       st.lists(st.integers(0, 2**34), max_size=40).map(lambda c: tuple(sorted(c))))
def test_a_citizen_decodes_to_what_was_encoded(position: int, day: int,
                                               cells: tuple[int, ...]) -> None:
    assert decode_citizen(encode_citizen(position, day, cells)) == (position, day, cells)


def test_pseudonyms_are_keyed_by_their_number_and_other_ids_stay_as_they_are() -> None:
    assert citizen_key(PSEUDONYM) == int(PSEUDONYM, 16)
    for other in ("citizen-a", "0F" * 32, "zz" * 32, "0x" + "0f" * 31, " " + "0f" * 31 + "0"):
        assert citizen_key(other) == other
    for citizen_id in (PSEUDONYM, "citizen-a", "0F" * 32):
        assert citizen_id_of(citizen_key(citizen_id)) == citizen_id


def test_a_newer_fact_with_the_same_cells_counts_nothing_again() -> None:
    state = PartitionState(0)
    state.apply(Fact(PSEUDONYM, 5, 10, pack_all([MARCH])))
    state.clean()
    assert state.apply(Fact(PSEUDONYM, 6, 10, pack_all([MARCH])))
    # Applied (its version moved on and must be written) but no count changed.
    assert state.dirty_citizens == {PSEUDONYM} and not state.dirty_cells
    assert state.count(KEY) == Count(0, 1)
    assert state.citizen(PSEUDONYM) == (6, 10, (pack(MARCH),))


def test_a_citizen_with_one_run_of_months_is_a_few_bytes() -> None:
    # 24 months of one denominator cell: one run, so the citizen's bytes are its version
    # and two small numbers, whatever the number of months.
    cells = tuple(pack(MARCH._replace(period=f"{2018 + m // 12}-{m % 12 + 1:02d}"))
                  for m in range(24))
    state = PartitionState(0)
    state.apply(Fact(PSEUDONYM, 123_456_789, 737_000, cells))
    (key, blob), = state.citizens.items()
    assert len(blob) <= 16 and key == int(PSEUDONYM, 16)


@given(st.tuples(st.integers(0, 2**40), st.integers(0, 2**20 - 1)),
       st.tuples(st.integers(0, 2**40), st.integers(0, 2**20 - 1)))
def test_version_keys_order_as_versions_do(a: tuple[int, int], b: tuple[int, int]) -> None:
    assert (version_key(*a) < version_key(*b)) == (a < b)
    assert (version_key(*a) == version_key(*b)) == (a == b)
