"""Prometheus metrics, one registry per daemon (tests run several in one process)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_appended = Counter(
            "ilertd_events_appended", "Events committed to the event store", registry=self.registry
        )
        self.appends = Counter(
            "ilertd_appends",
            "Append calls committed (each may hold several events)",
            registry=self.registry,
        )
        self.append_latency = Histogram(
            "ilertd_append_latency_seconds",
            "From append() to its commit",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "ilertd_append_batch_appends",
            "Appends sharing one group-commit transaction",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
            registry=self.registry,
        )
        self.projection_position = Gauge(
            "ilertd_projection_position",
            "Last position applied",
            ["projection"],
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "ilertd_projection_lag_events",
            "Events committed but not yet applied",
            ["projection"],
            registry=self.registry,
        )
        self.store_head = Gauge(
            "ilertd_event_store_head_position",
            "Highest committed position",
            registry=self.registry,
        )
        self.timer_lag = Histogram(
            "ilertd_timer_lag_seconds",
            "From a timer's due time to when it fired",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.leader = Gauge(
            "ilertd_engine_leader", "1 while this instance runs the engine", registry=self.registry
        )
        self.http_requests = Counter(
            "ilertd_http_requests",
            "HTTP requests answered",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "ilertd_http_request_duration_seconds",
            "HTTP request handling time",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.read_wait = Histogram(
            "ilertd_http_read_wait_seconds",
            "How long requests waited for the read models to reach the store's head",
            buckets=(0.0, *LATENCY_BUCKETS),
            registry=self.registry,
        )
        self.read_models_behind = Counter(
            "ilertd_http_read_models_behind",
            "Requests answered 503 because the read models stayed behind http.read_wait_s",
            registry=self.registry,
        )
        #: labelled children by (method, route, status): labels() validates and locks on
        #: every call, and every request calls it
        self._answered: dict[tuple[str, str, str], tuple[Any, Any]] = {}

        self.deliveries = Counter(
            "ilertd_outbound_deliveries",
            "Delivery attempts by target type and outcome",
            ["target", "outcome"],
            registry=self.registry,
        )
        self.delivery_lag = Histogram(
            "ilertd_outbound_delivery_lag_seconds",
            "From a delivery's due time (its event, or its delay) to its successful send",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def request_answered(self, method: str, route: str, status: str, seconds: float) -> None:
        children = self._answered.get((method, route, status))
        if children is None:
            children = (
                self.http_requests.labels(method, route, status),
                self.http_latency.labels(route),
            )
            if len(self._answered) < 10_000:  # routes are few; unmatched paths share one
                self._answered[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, appends: int, events: int, latencies: list[float]) -> None:
        """Group-commit observer: called once per committed transaction."""
        self.appends.inc(appends)
        self.events_appended.inc(events)
        self.batch_size.observe(appends)
        for seconds in latencies:
            self.append_latency.observe(seconds)

    def set_projections(self, head: int, positions: dict[str, int]) -> None:
        self.store_head.set(head)
        for name, position in positions.items():
            self.projection_position.labels(name).set(position)
            self.projection_lag.labels(name).set(max(head - position, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)
