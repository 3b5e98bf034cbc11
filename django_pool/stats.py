"""Counters of what a pool did, fed by SQLAlchemy pool events and by the checkout path."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import event
from sqlalchemy.pool import Pool

__all__ = ["PoolStats"]


class PoolStats:
    """Counters for one pool; cheap enough to be always on.

    Keys are the class constants below. Gauges (idle, in use, ...) are not kept
    here: the pool reports them when asked (``DatabasePool.status()``).
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

    def __init__(self) -> None:
        self._counter: Counter[str] = Counter()
        self._lock = threading.Lock()
        # Gauges, never reset: physical connections open, and lent out.
        self.open = 0
        self.in_use = 0

    def attach(self, pool: Pool) -> None:
        """Listen to *pool*'s events (this pool instance only, never the class).

        Checkouts and checkins are hot: the pool's own listeners count them
        (:meth:`checked_out`, :meth:`checked_in`) rather than adding two more.
        """
        event.listen(pool, "connect", self._on_connect)
        event.listen(pool, "invalidate", self._on_invalidate)
        event.listen(pool, "close", self._on_close)
        event.listen(pool, "close_detached", self._on_close_detached)

    def bump(self, key: str, n: int = 1) -> None:
        """Add *n* to counter *key*."""
        with self._lock:
            self._counter[key] += n

    def get(self) -> dict[str, int]:
        """Return the counters."""
        with self._lock:
            return dict(self._counter)

    def pop(self) -> dict[str, int]:
        """Return the counters and reset them to zero."""
        with self._lock:
            counter, self._counter = self._counter, Counter()
        return dict(counter)

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

    def checked_out(self) -> None:
        """Count a checkout (the pool's checkout listener calls it)."""
        with self._lock:
            self._counter[self.CHECKOUTS_NUM] += 1
            self.in_use += 1

    def checked_in(self) -> None:
        """Count a checkin, including a garbage-collected one (the pool's checkin listener)."""
        with self._lock:
            self._counter[self.CHECKINS_NUM] += 1
            self.in_use -= 1

    def _on_invalidate(self, dbapi_connection, connection_record, exception) -> None:
        self.bump(self.INVALIDATIONS_NUM)
