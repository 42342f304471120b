"""The Prometheus series the platform exports at `/metrics`.

Each app gets its own registry, so several apps in one process (tests) do not collide. Values
that live in components (WebSocket connections, cache counters, log positions) are read when
`/metrics` is scraped, by `refresh`, instead of being pushed on every change.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Tally:
    """One label set's observations, counted per bucket in plain Python: requests are timed on
    the event loop's one thread, where `Histogram.observe` (a lock and a call per count) cost a
    good part of a cached catalog read."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds


class TalliedHistogram(Collector):
    """A histogram over `LATENCY_BUCKETS` whose children are `Tally`s, exposed as a Prometheus
    histogram (cumulative buckets, `_count`, `_sum`) when scraped."""

    def __init__(
        self, name: str, documentation: str, labels: Sequence[str], registry: CollectorRegistry
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = list(labels)
        self._tallies: dict[tuple[str, ...], Tally] = {}
        registry.register(self)

    def labels(self, *values: str) -> Tally:
        found = self._tallies.get(values)
        if found is None:
            found = self._tallies[values] = Tally()
        return found

    def describe(self) -> Iterator[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=self.label_names)

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.label_names)
        bounds = [*map(floatToGoString, LATENCY_BUCKETS), "+Inf"]
        for values, tally in list(self._tallies.items()):
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, tally.counts, strict=True):
                cumulative += count
                buckets.append((bound, float(cumulative)))
            family.add_metric(list(values), buckets, tally.total)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.http_latency = TalliedHistogram(
            "kartshoppe_http_request_duration_seconds",
            "HTTP request latency by route template, method and status",
            ["route", "method", "status"],
            r,
        )
        self.errors = Counter(
            "kartshoppe_errors_total", "Error answers by error code", ["code"], registry=r
        )
        self.rate_limited = Counter(
            "kartshoppe_rate_limited_total",
            "Requests refused with 429",
            ["route_class"],
            registry=r,
        )
        self.events_appended = Counter(
            "kartshoppe_events_appended_total",
            "Events appended to the log by this process, by topic and event type",
            ["topic", "event_type"],
            registry=r,
        )
        self.append_latency = Histogram(
            "kartshoppe_log_append_duration_seconds",
            "Time to append a batch to the log (durable on return)",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.circuit_open = Gauge(
            "kartshoppe_circuit_open", "1 while a circuit breaker is open", ["name"], registry=r
        )
        self.log_lag = Gauge(
            "kartshoppe_log_lag_records",
            "Records in the log not yet applied, by consumer",
            ["consumer"],
            registry=r,
        )
        self.command_lag = Gauge(
            "kartshoppe_command_lag_records",
            "Commands waiting to be decided, per command partition this instance owns",
            ["partition"],
            registry=r,
        )
        self.ws_connections = Gauge(
            "kartshoppe_websocket_connections", "Open WebSocket connections", registry=r
        )
        self.ws_closed_for_flooding = Counter(
            "kartshoppe_websocket_flood_closes_total",
            "WebSocket connections closed for exceeding their message budget",
            registry=r,
        )
        self.cache_lookups = Gauge(
            "kartshoppe_catalog_cache_lookups",
            "Catalog cache lookups since start, by result (hit or miss)",
            ["result"],
            registry=r,
        )
        self.cache_hit_ratio = Gauge(
            "kartshoppe_catalog_cache_hit_ratio", "Catalog cache hits / lookups", registry=r
        )
        self.processor_latency = Histogram(
            "kartshoppe_processor_latency_seconds",
            "Time from the append of a batch's last event to its processing, by processor",
            ["processor"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

        self.processor_events = Gauge(
            "kartshoppe_processor_events",
            "Events a processor has handled since start, by result (processed or failed)",
            ["processor", "result"],
            registry=r,
        )
        self.processor_lag = Gauge(
            "kartshoppe_processor_lag_records",
            "Records in a processor's input topics it has not committed yet (its consumer lag)",
            ["processor"],
            registry=r,
        )
        self.processor_watermark_lag = Gauge(
            "kartshoppe_processor_watermark_lag_seconds",
            "How far a processor's event-time watermark trails the wall clock",
            ["processor"],
            registry=r,
        )

    def set_processor_lag(self, lags: Mapping[str, int]) -> None:
        """From `EmbeddedRunner.lag()`: records each processor has not committed yet."""
        for name, records in lags.items():
            self.processor_lag.labels(name).set(records)

    def set_processors(self, stats: Mapping[str, Mapping[str, int]], now_ms: int) -> None:
        """From `EmbeddedRunner.stats()`."""
        for name, numbers in stats.items():
            self.processor_events.labels(name, "processed").set(numbers.get("processed", 0))
            self.processor_events.labels(name, "failed").set(numbers.get("failed", 0))
            watermark = numbers.get("watermark")
            if watermark is not None and watermark > 0:
                self.processor_watermark_lag.labels(name).set(max(0, now_ms - watermark) / 1000)

    def observe_processor(self, processor: str, seconds: float) -> None:
        """Seconds from a batch's last append to its processing, per processor."""
        self.processor_latency.labels(processor).observe(seconds)

    def set_cache(self, hits: int, misses: int) -> None:
        self.cache_lookups.labels("hit").set(hits)
        self.cache_lookups.labels("miss").set(misses)
        lookups = hits + misses
        self.cache_hit_ratio.set(hits / lookups if lookups else 0.0)

    def set_lag(self, lags: Mapping[str, int]) -> None:
        for consumer, lag in lags.items():
            self.log_lag.labels(consumer).set(max(0, lag))

    def set_command_lag(self, lags: Mapping[int, int]) -> None:
        """Partitions this instance no longer owns drop out of the series."""
        self.command_lag.clear()
        for partition, lag in lags.items():
            self.command_lag.labels(str(partition)).set(lag)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
