"""While cohorts works through a backlog the metrics worker spaces its flushes out, and
stops waiting as soon as a record says cohorts has caught up, even one queued behind
records of the backlog."""

import asyncio
import time

import faust
from faust.types import Message
from prometheus_client import CollectorRegistry

from kommunepuls import facts
from kommunepuls.config import Settings
from services.metrics.agents import ArrivalSchema, MetricsWorker, more_coming, should_pause

MORE = {facts.HEADER_MORE: b"1"}


def test_only_a_backlog_in_every_partition_of_the_batch_is_more_to_come() -> None:
    assert more_coming([(0, b"", MORE), (1, b"", MORE)])
    # Partition 1's newest record is the caught-up one: flush and go on.
    assert not more_coming([(0, b"", MORE), (1, b"", MORE), (1, b"", {})])
    # An older record without the header does not count, the newest one does.
    assert more_coming([(0, b"", {}), (0, b"", MORE)])
    assert not more_coming([(0, b"", {facts.HEADER_THROUGH: b"7"})])
    assert not more_coming([])


def test_a_backlog_pauses_unless_a_caught_up_record_is_already_here() -> None:
    backlog = [(0, b"", MORE)]
    assert should_pause(backlog, caught_up=False)
    assert not should_pause(backlog, caught_up=True)  # arrived during the flush
    assert not should_pause([(0, b"", {})], caught_up=False)


def worker() -> MetricsWorker:
    return MetricsWorker(Settings(pseudonym_key="k" * 40, jwt_secret="j" * 40),
                         CollectorRegistry(), "dead")


async def test_the_pause_lasts_its_time_while_more_keeps_coming() -> None:
    w = worker()
    w.note_arrival(0, 7, [(facts.HEADER_MORE, b"1")], b"[]")
    started = time.perf_counter()
    await w.pause(0.2)
    assert 0.19 <= time.perf_counter() - started < 0.5
    assert w.metrics.paused._value.get() >= 0.19


async def test_a_caught_up_record_ends_the_pause_at_once() -> None:
    w = worker()
    # Behind records of the backlog (offsets 3, 4), still queued.
    w.note_arrival(1, 3, [(facts.HEADER_MORE, b"1")], b"[]")
    w.note_arrival(1, 4, [(facts.HEADER_MORE, b"1")], b"[]")
    asyncio.get_running_loop().call_later(0.05, w.note_arrival, 1, 5, [], b"[]")
    started = time.perf_counter()
    await w.pause(5.0)
    assert time.perf_counter() - started < 1.0


def test_a_caught_up_record_counts_until_its_batch_is_processed() -> None:
    w = worker()
    w.note_arrival(2, 9, [(facts.HEADER_THROUGH, b"5")], b"[]")
    assert w.caught_up()
    w.taken[2] = 8  # a batch up to offset 8 does not hold it
    assert w.caught_up()
    w.taken[2] = 9
    assert not w.caught_up()
    w.note_arrival(2, 10, [(facts.HEADER_MORE, b"1")], b"[]")
    assert not w.caught_up()
    # A revoked partition's records are not ours to wait for any more.
    w.note_arrival(3, 1, [], b"[]")
    w.forget({3})
    assert not w.caught_up()


async def test_faust_shows_each_record_to_the_worker_as_it_decodes_it() -> None:
    seen: list[tuple[int, int, object, bytes]] = []
    schema = ArrivalSchema(lambda p, o, h, v: seen.append((p, o, h, v)))
    headers = [(facts.HEADER_MORE, b"1")]
    message = Message("cohort-facts", 1, 42, 0.0, 0, headers, b"1", b"facts", None)
    event = await schema.decode(faust.App("test-arrival", broker="kafka://127.0.0.1:1"), message)
    assert (event.key, event.value) == (b"1", b"facts")  # raw bytes, as before
    assert seen == [(1, 42, headers, b"facts")]
