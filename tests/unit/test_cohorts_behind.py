"""When the cohorts worker says it is behind (its facts carry `more`, so the metrics worker
spaces its flushes): a backlog of a quarter batch of segments, or a partition whose end is
not known yet."""

from services.cohorts.agents import BATCH_SEGMENTS, BEHIND_SEGMENTS, catching_up


def test_a_few_waiting_segments_are_a_steady_rate() -> None:
    assert BEHIND_SEGMENTS == 100 == BATCH_SEGMENTS // 4
    assert not catching_up({0: 0, 1: 3}, {0, 1})
    assert not catching_up({0: 60, 1: 39}, {0, 1})  # 99 waiting in all


def test_a_quarter_batch_waiting_in_all_partitions_is_a_backlog() -> None:
    assert catching_up({0: 60, 1: 40}, {0, 1})
    assert catching_up({3: 100}, {3})


def test_a_partition_whose_end_is_unknown_counts_as_behind() -> None:
    # Just assigned: lag_after leaves it out until the consumer has seen its highwater.
    assert catching_up({0: 0}, {0, 1})
    assert catching_up({}, {2})
