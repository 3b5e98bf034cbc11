"""What a pool did: counters, gauges and time distributions, cheap enough to be always on.

Counters are bumped where each thing happens (pool events, the checkout and
checkin paths); gauges are kept up to date the same way; distributions keep
fixed buckets (Prometheus' ``le`` convention), count, sum and max.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.pool import Pool

__all__ = ["Distribution", "PoolStats"]

# Durations waiting to be folded into the distributions, at most.
_FOLD_AT = 4096

#: Bucket upper bounds, in seconds, of every distribution.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Distribution:
    """Observed durations: count, sum, max and cumulative bucket counts (seconds)."""

    __slots__ = ("buckets", "count", "max", "sum")

    def __init__(self) -> None:
        self.count = 0
        self.sum = 0.0
        self.max = 0.0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one is +Inf

    def observe(self, seconds: float) -> None:
        """Add one duration (the caller holds the stats lock)."""
        self.observe_all((seconds,))

    def observe_all(self, durations: Iterable[float], _bucket=bisect.bisect_left) -> None:
        """Add durations (the caller holds the stats lock); one call for a batch."""
        buckets = self.buckets
        for seconds in durations:
            self.count += 1
            self.sum += seconds
            if seconds > self.max:
                self.max = seconds
            buckets[_bucket(BUCKETS, seconds)] += 1

    def as_dict(self) -> dict[str, Any]:
        """Return count, sum, max and cumulative buckets keyed by upper bound."""
        cumulative, running = {}, 0
        for bound, n in zip((*BUCKETS, float("inf")), self.buckets, strict=True):
            running += n
            cumulative[bound] = running
        return {"count": self.count, "sum": self.sum, "max": self.max, "buckets": cumulative}


class PoolStats:
    """Counters, gauges and distributions for one pool.

    Counter keys are the class constants below. ``get()`` and ``pop()``
    return every one of them (zero until it moves) with the distributions and
    the invalidation reasons.
    """

    CONNECTIONS_NUM = "connections_num"  # physical connections opened
    CONNECTIONS_ERRORS = "connections_errors"  # failed attempts to open one
    CHECKOUTS_NUM = "checkouts_num"
    CHECKINS_NUM = "checkins_num"
    INVALIDATIONS_NUM = "invalidations_num"  # connections closed instead of reused
    DISCONNECTS_NUM = "disconnects_num"  # disconnect-class errors seen by Django
    PINGS_FAILED = "pings_failed"
    RECYCLES_NUM = "recycles_num"  # connections replaced for their age
    TIMEOUTS_NUM = "timeouts_num"  # checkouts that raised PoolTimeout
    # Checkouts that failed otherwise: no connection could be opened in time
    # (a server down past the timeout), or the server refused the login.
    CHECKOUT_ERRORS = "checkout_errors_num"
    LEAKS_NUM = "leaks_num"  # connections held longer than leak_threshold

    #: Every counter; each is in :meth:`get`, zero until it moves.
    COUNTERS = (
        CONNECTIONS_NUM,
        CONNECTIONS_ERRORS,
        CHECKOUTS_NUM,
        CHECKINS_NUM,
        INVALIDATIONS_NUM,
        DISCONNECTS_NUM,
        PINGS_FAILED,
        RECYCLES_NUM,
        TIMEOUTS_NUM,
        CHECKOUT_ERRORS,
        LEAKS_NUM,
    )

    #: Distribution names: checkout wait, time lent out, time to open a connection.
    DISTRIBUTIONS = ("wait", "hold", "connect")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()
        # Gauge, never reset: physical connections open.
        self.open = 0
        # The hot path (every checkout and checkin) only appends its duration
        # here: deque.append needs no lock. The durations are folded into the
        # distributions when read, or every _FOLD_AT of them.
        self._pending_waits: deque[float] = deque()
        self._pending_holds: deque[float] = deque()
        self._lent_total = self._returned_total = 0  # folded so far, never reset

    def _reset(self) -> None:
        self._counter: Counter[str] = Counter()
        self._reasons: Counter[str] = Counter()
        self._times = {name: Distribution() for name in self.DISTRIBUTIONS}

    def attach(self, pool: Pool) -> None:
        """Listen to *pool*'s events (this pool instance only, never the class).

        Checkouts and checkins are hot: the pool's own listeners count them
        (:meth:`checked_out`, :meth:`checked_in`) rather than adding two more.
        """
        event.listen(pool, "connect", self._on_connect)
        event.listen(pool, "close", self._on_close)
        event.listen(pool, "close_detached", self._on_close_detached)

    def bump(self, key: str, n: int = 1) -> None:
        """Add *n* to counter *key*."""
        with self._lock:
            self._counter[key] += n

    def invalidated(self, reason: str) -> None:
        """Count a connection about to be closed instead of reused, and why."""
        with self._lock:
            self._counter[self.INVALIDATIONS_NUM] += 1
            self._reasons[reason] += 1

    def observe(self, name: str, seconds: float) -> None:
        """Add a duration to distribution *name* (one of :attr:`DISTRIBUTIONS`)."""
        with self._lock:
            self._times[name].observe(seconds)

    def checked_out(self, waited: float) -> None:
        """Count a checkout that waited *waited* seconds (the pool calls it)."""
        self._pending_waits.append(waited)
        if len(self._pending_waits) > _FOLD_AT:
            with self._lock:
                self._fold()

    def checked_in(self, held: float) -> None:
        """Count a checkin after *held* seconds lent out, garbage-collected ones included."""
        self._pending_holds.append(held)
        if len(self._pending_holds) > _FOLD_AT:
            with self._lock:
                self._fold()

    @property
    def in_use(self) -> int:
        """Return how many connections are lent out now."""
        # Under the lock: _fold() moves counts from the queues to the totals,
        # and four reads across it could count a batch twice or not at all.
        with self._lock:
            lent = self._lent_total + len(self._pending_waits)
            return lent - self._returned_total - len(self._pending_holds)

    def _fold(self) -> None:
        # Caller holds the lock. popleft() and append() are each atomic, so
        # durations appended meanwhile are folded next time, never lost.
        for pending, name in ((self._pending_waits, "wait"), (self._pending_holds, "hold")):
            folded = len(pending)
            self._times[name].observe_all([pending.popleft() for _ in range(folded)])
            if name == "wait":
                self._lent_total += folded
            else:
                self._returned_total += folded

    def get(self) -> dict[str, Any]:
        """Return the counters, the invalidation reasons and the distributions."""
        with self._lock:
            self._fold()
            return self._snapshot()

    def pop(self) -> dict[str, Any]:
        """Return what :meth:`get` returns and reset all but the gauges."""
        with self._lock:
            self._fold()
            snapshot = self._snapshot()
            self._reset()
        return snapshot

    def _snapshot(self) -> dict[str, Any]:
        counters = {key: self._counter[key] for key in self.COUNTERS}
        # Checkouts and checkins are the counts of their durations.
        counters[self.CHECKOUTS_NUM] = self._times["wait"].count
        counters[self.CHECKINS_NUM] = self._times["hold"].count
        return {
            **counters,
            "invalidations_by_reason": dict(self._reasons),
            **{f"{name}_seconds": d.as_dict() for name, d in self._times.items()},
        }

    def _on_connect(self, dbapi_connection, connection_record) -> None:
        with self._lock:
            self._counter[self.CONNECTIONS_NUM] += 1
            self.open += 1

    def _on_close(self, dbapi_connection, connection_record) -> None:
        with self._lock:
            self.open -= 1

    def _on_close_detached(self, dbapi_connection) -> None:
        with self._lock:
            self.open -= 1
