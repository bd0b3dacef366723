"""Prometheus metrics of one app: HTTP traffic, customer turns and the handoff queue.

Each :class:`Metrics` owns its registry, so several apps in one process (tests) never
share counters. ``create_app`` puts one on ``app.state.metrics``; routes reach it with
``get_metrics(request)`` and call ``observe_turn``, ``observe_claim`` and
``set_waiting``. ``GET /metrics`` serves it.

The registry is per process: run one scrape target per worker process or replica.
Labels only take values from bounded sets (route templates, tenants, policy
categories), never raw paths or ids.
"""

from __future__ import annotations

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNKNOWN_ROUTE = "other"

_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60)
_TURN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20)
_WAIT_BUCKETS = (5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._requests = Counter(
            "rafiq_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self._request_seconds = Histogram(
            "rafiq_http_request_duration_seconds",
            "Time from request to the end of the response; SSE routes measure the stream's life.",
            ["method", "route"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self._turns = Counter(
            "rafiq_turns",
            "Customer turns answered by the agent.",
            ["tenant", "action", "mode"],
            registry=r,
        )
        self._escalations = Counter(
            "rafiq_escalations",
            "Turns that escalated to an adviser, by category.",
            ["tenant", "category"],
            registry=r,
        )
        self._turn_seconds = Histogram(
            "rafiq_turn_duration_seconds",
            "Time the agent took for one customer turn.",
            ["mode"],
            buckets=_TURN_BUCKETS,
            registry=r,
        )
        self._handoff_wait = Histogram(
            "rafiq_handoff_wait_seconds",
            "Time from a handoff's creation to an adviser claiming it.",
            ["tenant"],
            buckets=_WAIT_BUCKETS,
            registry=r,
        )
        self._waiting = Gauge(
            "rafiq_handoffs_waiting",
            "Handoffs waiting for an adviser.",
            ["tenant"],
            registry=r,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        method = method if method in HTTP_METHODS else UNKNOWN_ROUTE
        self._requests.labels(method, route, str(status)).inc()
        self._request_seconds.labels(method, route).observe(seconds)

    def observe_turn(
        self, tenant: str, action: str, mode: str, category: str | None, seconds: float
    ) -> None:
        """``category`` is the escalation's category, ``None`` when the turn did not escalate."""
        self._turns.labels(tenant, action, mode).inc()
        if category is not None:
            self._escalations.labels(tenant, category).inc()
        self._turn_seconds.labels(mode).observe(seconds)

    def observe_claim(self, tenant: str, wait_seconds: float) -> None:
        self._handoff_wait.labels(tenant).observe(wait_seconds)

    def set_waiting(self, tenant: str, count: int) -> None:
        self._waiting.labels(tenant).set(count)


def get_metrics(request: Request) -> Metrics:
    """``app.state`` is untyped; this gives routes (and ``Depends``) a typed handle."""
    metrics: Metrics = request.app.state.metrics
    return metrics
