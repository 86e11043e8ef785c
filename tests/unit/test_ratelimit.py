from services.ingest.ratelimit import TokenBuckets


def test_a_burst_is_allowed_then_the_rate_applies() -> None:
    buckets = TokenBuckets(rate_per_s=2, burst=3)
    assert [buckets.take("a", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", 0.0) == 0.5  # one token refills in 1/2 s
    assert buckets.take("a", 0.5) == 0.0
    assert buckets.take("b", 0.5) == 0.0  # another token has its own bucket
