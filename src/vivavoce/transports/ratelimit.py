"""A rate limit per client address: a token bucket refilled steadily."""

from __future__ import annotations

import time
from collections.abc import Callable

# Past this many addresses tracked, those whose buckets have refilled are forgotten.
_PRUNE_AT = 1024


class RateLimit:
    """At most `per_minute` requests a minute from one address, in bursts of as many."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address → (tokens, when)

    def _tokens(self, address: str, now: float) -> float:
        tokens, then = self._buckets.get(address, (self.per_minute, now))
        return min(self.per_minute, tokens + (now - then) * self.per_minute / 60)

    def take(self, address: str) -> float | None:
        """Count one request: None if it may go ahead, else the seconds until one may."""
        now = self._clock()
        if len(self._buckets) > _PRUNE_AT:
            self._buckets = {a: b for a, b in self._buckets.items()
                             if self._tokens(a, now) < self.per_minute}
        tokens = self._tokens(address, now)
        if tokens < 1:
            return (1 - tokens) * 60 / self.per_minute
        self._buckets[address] = (tokens - 1, now)
        return None
