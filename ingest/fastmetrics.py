"""Lock-free counters and histograms for the per-request path, exported as usual.

prometheus-client guards every ``inc``/``observe`` with a lock and several checks: at 10k
requests a second that is a visible share of the request's CPU. The request path runs on one
event loop thread, and ``/metrics`` is served from that same loop, so plain numbers suffice;
a custom collector turns them into ordinary Prometheus families at scrape time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["LoopCounter", "LoopHistogram"]


class _CounterChild:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class LoopCounter(Collector):
    """A labelled counter for single-thread use; ``name`` without the ``_total`` suffix."""

    def __init__(
        self, name: str, doc: str, labels: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self._name, self._doc, self._labels = name, doc, tuple(labels)
        self._children: dict[tuple[str, ...], _CounterChild] = {}
        registry.register(self)

    def labels(self, **values: str) -> _CounterChild:
        key = tuple(values[name] for name in self._labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = _CounterChild()
        return child

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labels)
        for key, child in self._children.items():
            family.add_metric(list(key), child.value)
        yield family


class _HistogramChild:
    __slots__ = ("_bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self._bounds, value)] += 1
        self.sum += value


class LoopHistogram(Collector):
    """A histogram (optionally labelled) for single-thread use."""

    def __init__(
        self,
        name: str,
        doc: str,
        buckets: Sequence[float],
        registry: CollectorRegistry,
        labels: Sequence[str] = (),
    ) -> None:
        self._name, self._doc, self._labels = name, doc, tuple(labels)
        self._bounds = tuple(sorted(buckets))
        self._children: dict[tuple[str, ...], _HistogramChild] = {}
        self._root = self.labels() if not self._labels else None
        registry.register(self)

    def labels(self, **values: str) -> _HistogramChild:
        key = tuple(values[name] for name in self._labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = _HistogramChild(self._bounds)
        return child

    def observe(self, value: float) -> None:
        assert self._root is not None, "labelled histogram: use labels(...).observe"
        self._root.observe(value)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._doc, labels=self._labels)
        for key, child in self._children.items():
            cumulative, buckets = 0, []
            for bound, count in zip((*self._bounds, float("inf")), child.counts, strict=True):
                cumulative += count
                buckets.append((_le(bound), float(cumulative)))
            family.add_metric(list(key), buckets, child.sum)
        yield family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))
