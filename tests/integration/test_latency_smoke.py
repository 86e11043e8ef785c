"""A short version of the end-to-end latency benchmark (bench/latency.py) so it cannot rot:
the four services on the suite's servers, 200 events/s for 5 s, every event visible in the
gateway; and the arithmetic that turns polls into per-event latencies, by hand."""

from pathlib import Path

from bench.latency import measure
from bench.latency_report import COHORTS_WITHIN_S, Poll, Quantiles, bursts, event_latencies
from kommunepuls.config import Settings


def _poll(at: float, gateway: int) -> Poll:
    return Poll(at=at, round_trip=0.01, head=9, relay=9, metrics={}, gateway=gateway,
                lag_events=0, lag_seconds=0.0)


def test_an_event_is_visible_at_the_first_poll_through_its_position() -> None:
    # Polls at 1.0, 1.5, 2.0, 2.5 s report through 0, 3, 2 (an older answer: through never
    # goes back, so it counts as 3), 6. Event 3 accepted at 1.2 s -> first poll >= 3 is at
    # 1.5 s: 0.3 s. Event 5 at 1.2 s -> 2.5 s: 1.3 s. Event 1 accepted at 1.6 s, after the
    # 1.5 s poll already showed it -> 0. Event 7 is never reported.
    polls = [_poll(1.0, 0), _poll(1.5, 3), _poll(2.0, 2), _poll(2.5, 6)]
    latencies, missing = event_latencies([(1, 1.6), (3, 1.2), (5, 1.2), (7, 1.2)], polls,
                                         lambda p: p.gateway)
    assert [round(x, 6) for x in latencies] == [0.0, 0.3, 1.3]
    assert missing == 1


def test_quantiles_take_the_value_at_the_rank() -> None:
    # 100 values 0.01 .. 1.00: p50 = the 51st (index 50) = 0.51, p90 = 0.91, p99 = 1.00.
    q = Quantiles.of([i / 100 for i in range(100, 0, -1)])
    assert (q.count, q.p50, q.p90, q.p99, q.max) == (100, 0.51, 0.91, 1.0, 1.0)
    assert Quantiles.of([]).count == 0


def test_facts_further_apart_than_half_the_take_window_are_separate_bursts() -> None:
    # In units of cohorts' take window w: records at 0, 0.1w, 0.2w | 1.6w, 1.7w | 3.2w ->
    # 3 bursts starting at 0, 1.6w and 3.2w, one every 1.6w.
    w = COHORTS_WITHIN_S
    facts = [(t * w, 0, 1) for t in (0.0, 0.1, 0.2, 1.6, 1.7, 3.2)]
    count, every = bursts(facts)
    assert (count, round(every / w, 6)) == (3, 1.6)


def test_every_event_posted_at_a_steady_rate_becomes_visible_in_the_gateway(
        settings: Settings, tmp_path: Path) -> None:
    report = measure(settings, tmp_path / "logs", rate=200, seconds=5, citizens=2_000,
                     drain_s=30)
    text = report.markdown()
    print(text)
    assert report.errors == 0
    assert report.offered == report.accepted == 1_000
    assert report.never_visible == 0
    assert report.gateway.count == report.read_models.count == report.relay.count == 1_000
    # Generous: seconds on a loaded 2-core machine, the target (1 s) is the benchmark's.
    assert report.gateway.p99 < 10
    # The stages follow one another: published, evaluated, written, then reported.
    assert report.relay.p50 <= report.cohorts.p50 <= report.read_models.p50
    assert report.read_models.p50 <= report.gateway.p50
    assert report.caught_up_s is not None
    for field in ("p50 ms", "p90 ms", "p99 ms", "max ms", "reported by the gateway",
                  "published on case-events", "/s over", "errors 0", "lag of", "Target p99"):
        assert field in text
