"""While cohorts works through a backlog the metrics worker spaces its flushes out, and
stops waiting as soon as a record says cohorts has caught up."""

import asyncio
import time

from prometheus_client import CollectorRegistry

from kommunepuls import facts
from kommunepuls.config import Settings
from services.metrics.agents import MetricsWorker, more_coming, should_pause

MORE = {facts.HEADER_MORE: b"1"}


def test_only_a_backlog_in_every_partition_of_the_batch_is_more_to_come() -> None:
    assert more_coming([(0, b"", MORE), (1, b"", MORE)])
    # Partition 1's newest record is the caught-up one: flush and go on.
    assert not more_coming([(0, b"", MORE), (1, b"", MORE), (1, b"", {})])
    # An older record without the header does not count, the newest one does.
    assert more_coming([(0, b"", {}), (0, b"", MORE)])
    assert not more_coming([(0, b"", {facts.HEADER_THROUGH: b"7"})])
    assert not more_coming([])


def test_facts_already_waiting_are_taken_without_a_pause() -> None:
    backlog = [(0, b"", MORE)]
    assert should_pause(backlog, lambda: 0)
    assert not should_pause(backlog, lambda: 3)  # arrived during the flush
    assert not should_pause([(0, b"", {})], lambda: 0)


def worker() -> MetricsWorker:
    return MetricsWorker(Settings(pseudonym_key="k" * 40, jwt_secret="j" * 40),
                         CollectorRegistry(), "dead")


async def test_the_pause_lasts_its_time_while_more_keeps_coming() -> None:
    w = worker()
    w.note_arrival([(facts.HEADER_MORE, b"1")])
    started = time.perf_counter()
    await w.pause(0.2)
    assert 0.19 <= time.perf_counter() - started < 0.5
    assert w.metrics.paused._value.get() >= 0.19


async def test_a_caught_up_record_ends_the_pause_at_once() -> None:
    w = worker()
    asyncio.get_running_loop().call_later(0.05, w.note_arrival, [])
    started = time.perf_counter()
    await w.pause(5.0)
    assert time.perf_counter() - started < 1.0
