"""A short version of `make soak` (bench/soak.py) so the load test cannot rot: the whole
embedded platform under steady writes and reads, no error, and the read models catch up."""

from bench.soak import SERVICES, soak


def test_steady_writes_and_reads_give_no_error_and_the_read_models_catch_up() -> None:
    result = soak(seconds=6, events_per_s=200, requests_per_s=20)
    print("\n".join(result.lines))
    assert result.errors == 0
    assert result.sent == 6 * 200
    assert result.caught_up_s < 120
    assert set(result.growth_mb) == set(SERVICES)
    assert not result.over_bound, result.growth_mb
