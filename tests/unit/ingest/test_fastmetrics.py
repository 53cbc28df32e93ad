"""The lock-free request-path metrics export like ordinary prometheus-client ones."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from ingest.fastmetrics import LoopCounter, LoopHistogram


def test_counter_exports_a_total_per_label_set() -> None:
    registry = CollectorRegistry()
    counter = LoopCounter("shotline_test_things", "Things.", ["kind"], registry)
    counter.labels(kind="a").inc()
    counter.labels(kind="a").inc(2)
    counter.labels(kind="b").inc()
    assert registry.get_sample_value("shotline_test_things_total", {"kind": "a"}) == 3.0
    assert registry.get_sample_value("shotline_test_things_total", {"kind": "b"}) == 1.0


def test_histogram_buckets_are_cumulative_with_sum_and_count() -> None:
    registry = CollectorRegistry()
    histogram = LoopHistogram("shotline_test_seconds", "Durations.", [0.1, 1.0], registry)
    for value in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(value)
    sample = registry.get_sample_value
    assert sample("shotline_test_seconds_bucket", {"le": "0.1"}) == 2.0  # le is inclusive
    assert sample("shotline_test_seconds_bucket", {"le": "1.0"}) == 3.0
    assert sample("shotline_test_seconds_bucket", {"le": "+Inf"}) == 4.0
    assert sample("shotline_test_seconds_count") == 4.0
    assert sample("shotline_test_seconds_sum") == 3.65
    assert b"# TYPE shotline_test_seconds histogram" in generate_latest(registry)
