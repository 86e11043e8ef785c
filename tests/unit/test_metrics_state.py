from kommunepuls.domain.evaluation import DENOMINATOR, NUMERATOR, Cell, Count, CountKey
from kommunepuls.facts import Fact, pack_all
from services.metrics.state import PartitionState

DEN = Cell("fsm_virksomhedsforloeb", "851", "2018-03", 1, DENOMINATOR)
NUM = DEN._replace(part=NUMERATOR)
KEY = CountKey("fsm_virksomhedsforloeb", "851", "2018-03", 1)


def test_facts_add_up_and_a_newer_fact_replaces_the_citizens_cells() -> None:
    state = PartitionState(0)
    assert state.apply(Fact("a", 1, 10, pack_all([DEN, NUM])))
    assert state.apply(Fact("b", 2, 10, pack_all([DEN])))
    assert state.count(KEY) == Count(1, 2)
    assert state.apply(Fact("a", 3, 10, pack_all([DEN])))  # a leaves the numerator
    assert state.count(KEY) == Count(0, 2)
    # Changes since the last flush: a's numerator came and went, two denominators came.
    assert dict(state.dirty_cells) == {pack_all([DEN])[0]: 2, pack_all([NUM])[0]: 0}
    state.clean()  # flushed: the changes become the flushed counts
    assert state.count(KEY) == Count(0, 2) and not state.dirty_cells
    assert state.apply(Fact("b", 4, 10, pack_all([DEN, NUM])))
    assert state.count(KEY) == Count(1, 2)
    assert dict(state.dirty_cells) == {pack_all([NUM])[0]: 1}


def test_a_redelivered_or_older_fact_changes_nothing() -> None:
    state = PartitionState(0)
    state.apply(Fact("a", 5, 10, pack_all([DEN, NUM])))
    state.clean()
    assert not state.apply(Fact("a", 5, 10, pack_all([DEN, NUM])))
    assert not state.apply(Fact("a", 4, 10, pack_all([DEN])))
    assert state.count(KEY) == Count(1, 1) and not state.dirty_cells


def test_a_new_day_with_the_same_events_is_applied() -> None:
    state = PartitionState(0)
    state.apply(Fact("a", 5, 10, pack_all([DEN, NUM])))
    assert state.apply(Fact("a", 5, 11, pack_all([DEN])))
    assert state.count(KEY) == Count(0, 1)
