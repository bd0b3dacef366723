"""Request rate limits: a token bucket per conversation and per publishable key.

``install_middleware`` stores a :class:`Limits` on ``app.state.limits``; routes call it
before doing any work::

    get_limits(request).per_key.check(f"key:{tenant.name}")  # POST /v1/conversations
    get_limits(request).per_conversation.check(f"conv:{conversation.id}")  # POST .../messages

``check`` raises ``ApiError(429, "rate_limited", ...)`` with a ``Retry-After`` header.

The buckets live in process memory, so with N replicas a client can get up to N times
the configured rate; that is acceptable for a flood guard and keeps the database out of
the hot path. They hold no data of record: losing them on restart only forgives a
client early.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from api.config import ApiConfig
from api.errors import ApiError

Clock = Callable[[], float]

PER_KEY_FACTOR = 10
"""A publishable key serves every customer of a tenant, so it gets ten conversations' worth."""


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, then ``rate_per_minute``."""

    def __init__(
        self,
        rate_per_minute: int,
        burst: int,
        clock: Clock = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if rate_per_minute <= 0 or burst < 1:
            raise ValueError("rate_per_minute must be positive and burst at least 1")
        self._per_second = rate_per_minute / 60.0
        self._burst = float(burst)
        # A bucket untouched this long is full again, indistinguishable from a new one,
        # so forgetting it changes no answer.
        self._refill_s = burst / self._per_second
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        # Least recently used first: idle buckets are found at the front.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def check(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            self._forget_idle(now)
            tokens, updated = self._buckets.pop(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - updated) * self._per_second)
            allowed = tokens >= 1.0
            if allowed:
                tokens -= 1.0
            self._buckets[key] = (tokens, now)
        if not allowed:
            retry_after = max(1, math.ceil((1.0 - tokens) / self._per_second))
            raise ApiError(
                429,
                "rate_limited",
                f"too many requests; retry in {retry_after} s",
                headers={"Retry-After": str(retry_after)},
            )

    def _forget_idle(self, now: float) -> None:
        buckets = self._buckets
        while buckets and now - next(iter(buckets.values()))[1] >= self._refill_s:
            buckets.popitem(last=False)
        # Under a flood of distinct keys, memory wins over fairness: the least recently
        # seen key starts over with a full bucket.
        while len(buckets) >= self._max_keys:
            buckets.popitem(last=False)


@dataclass(frozen=True)
class Limits:
    per_conversation: RateLimiter
    """Customer messages, keyed by conversation id."""
    per_key: RateLimiter
    """Calls carrying ``X-Rafiq-Key``, keyed by the key's tenant."""

    @classmethod
    def from_config(cls, config: ApiConfig, clock: Clock = time.monotonic) -> Limits:
        return cls(
            per_conversation=RateLimiter(config.rate_per_minute, config.rate_burst, clock),
            per_key=RateLimiter(
                config.rate_per_minute * PER_KEY_FACTOR, config.rate_burst * PER_KEY_FACTOR, clock
            ),
        )


def get_limits(request: Request) -> Limits:
    """``app.state`` is untyped; this gives routes (and ``Depends``) a typed handle."""
    limits: Limits = request.app.state.limits
    return limits
