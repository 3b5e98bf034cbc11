"""FairGate: a counting semaphore that serves waiters in arrival order.

SQLAlchemy's QueuePool wakes an arbitrary waiter when a connection comes back,
and a thread that just arrived can take it before any of them: under load
some threads wait for ever while others are served again and again. In front
of the pool, this gate holds one permit per connection the pool may open
(``pool_size + max_overflow``). A returned permit goes straight to the
longest-waiting thread, so nobody can barge in; a thread holding a permit
always finds a connection, or room to open one, in the pool.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["FairGate"]


class FairGate:
    """Up to *permits* holders at once; waiters are served first come, first served."""

    def __init__(self, permits: int) -> None:
        #: How many permits there are.
        self.capacity = permits
        self._free = permits
        self._lock = threading.Lock()
        # One locked lock per waiting thread; release() unlocks the oldest.
        self._waiters: deque[threading.Lock] = deque()

    @property
    def waiting(self) -> int:
        """Return how many threads are waiting for a permit."""
        return len(self._waiters)

    @property
    def free(self) -> int:
        """Return how many permits nobody holds."""
        return self._free

    def acquire(self, timeout: float) -> bool:
        """Take a permit, waiting up to *timeout* seconds; return whether one was taken."""
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # release() handed us its permit
        with self._lock:
            try:
                self._waiters.remove(waiter)
            except ValueError:
                # A permit was handed over between the timeout and here: keep it.
                return True
        return False

    def release(self) -> None:
        """Give a permit back: to the oldest waiter if there is one."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1
