"""FairGate: the bound, the idle connections and the line of waiters, under one lock.

SQLAlchemy's QueuePool wakes an arbitrary waiter when a connection comes
back, and a thread that just arrived can take it before any of them: under
load some threads wait for ever while others are served again and again. The
gate sits in front of it and decides who gets what:

* it holds one permit per connection the pool may open
  (``pool_size + max_overflow``); every open connection holds one;
* it keeps the idle connections (parked :class:`~django_pool.lease.Lease`
  objects), in the order ``queue`` (oldest first) or ``lifo`` asks for;
* a thread that finds neither an idle connection nor a free permit takes a
  ticket and waits. A connection or permit coming back goes to the oldest
  ticket, directly: nobody can barge in, and a ticket keeps its place for
  the whole wait, however long (psycopg_pool's ``WaitingClient`` is the model).

Invariant: while anybody waits, no connection is idle and no permit is free.

Interrupts (an exception raised by a signal handler, KeyboardInterrupt or
Celery's soft time limit, or gevent.Timeout) can land at any function call.
So each hand-over here is written as steps that run no Python code between
them (``del`` of an entry, attribute stores), and a taker receives what it
got in its *hand* (a list) before anything can interrupt it: whoever is cut
short knows what it holds and gives it back (``DatabasePool``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .lease import Lease

__all__ = ["PERMIT", "FairGate"]

#: What a hand holds after taking a permit rather than an idle lease: the
#: right to open one connection.
PERMIT = "permit"


class _Ticket:
    """One waiter's place in line, from arrival until served or timed out."""

    __slots__ = ("lease", "served", "signal")

    def __init__(self) -> None:
        self.signal = threading.Lock()
        self.signal.acquire()
        self.served = False
        self.lease: Lease | None = None


class FairGate:
    """Up to *permits* connections; idle ones are reused first; waiters are served in order."""

    def __init__(self, permits: int, *, keep_idle: int, lifo: bool = False) -> None:
        #: How many connections may be open at once.
        self.capacity = permits
        #: How many idle connections are kept; more are closed when returned.
        self.keep_idle = keep_idle
        self._lifo = lifo
        self._free = permits
        self._lock = threading.Lock()
        # The parked leases. Whoever pops one from here owns it: a take-back
        # does so without the lock (a dict pop is one atomic step, under the
        # GIL and under free threading); everything else under the lock.
        self._parked: dict[Lease, bool] = {}
        # The order to lend parked leases in; an entry whose lease was taken
        # back since is skipped.
        self._idle: deque[Lease] = deque()
        self._line: deque[_Ticket] = deque()

    @property
    def waiting(self) -> int:
        """Return how many threads are waiting in line."""
        return len(self._line)

    @property
    def free(self) -> int:
        """Return how many permits nobody holds."""
        return self._free

    @property
    def idle(self) -> int:
        """Return how many connections are parked, ready for anybody."""
        return len(self._parked)

    # ##### Borrowing #####

    def take_back(self, lease: Lease, holder: object) -> bool:
        """Take *lease* back from idle for *holder*; False unless it is parked and *holder*'s.

        Only its last holder may take a parked lease back without a full
        checkout: per-connection state cached on a wrapper (django-tenants'
        ``search_path``) is true only of the connection it used last.
        """
        loan = lease.last_loan
        if loan is None or loan.holder is not holder:
            return False
        try:
            del self._parked[lease]  # the claim: one step, no lock
        except KeyError:
            return False
        if lease.last_loan is loan:
            return True
        # Taken, lent and parked again by another holder between the test and
        # the claim (free-threaded Python only: with a GIL nothing runs in
        # between): not a take-back. Back where it was, or to the oldest waiter.
        with self._lock:
            self._pass_on(lease)
        return False

    def try_take(self, hand: list[Lease | str]) -> bool:
        """Without waiting, put an idle lease or a :data:`PERMIT` into *hand*; False: neither."""
        with self._lock:
            return self._take_locked(hand)

    def trade(self, hand: list[Lease | str]) -> None:
        """Trade the :data:`PERMIT` in *hand* for an idle lease, if one is parked.

        For a checkout whose lease turned out dead: reusing another beats
        opening one. Nobody waits while a lease is parked, so nobody is passed.
        """
        with self._lock:
            if self._line:  # (never with a lease parked; but a freed permit is theirs)
                return
            lease = self._pop_idle()
            if lease is not None:
                hand[0] = lease
                self._free += 1

    def _take_locked(self, hand: list[Lease | str]) -> bool:
        if self._parked and not self._line:
            lease = self._pop_idle()
            if lease is not None:
                hand.append(lease)
                return True
        if self._free and not self._line:
            self._free -= 1
            hand.append(PERMIT)
            return True
        return False

    def take(
        self,
        deadline: float,
        housekeeping: Callable[[bool], None],
        hand: list[Lease | str],
        slice_s: float = 1.0,
    ) -> bool:
        """Put an idle lease or a permit into *hand*, waiting in line until *deadline* (monotonic).

        Return False on timeout.
        *housekeeping* runs once in line before the wait (``False``), then
        every *slice_s* seconds of waiting (``True``); it may return
        connections, which then serve the line, this waiter's place in it
        kept.
        """
        ticket = _Ticket()
        try:
            with self._lock:
                if self._take_locked(hand):
                    return True
                self._line.append(ticket)
            housekeeping(False)
            while True:
                remaining = deadline - time.monotonic()
                if remaining > 0 and ticket.signal.acquire(True, min(remaining, slice_s)):
                    break
                with self._lock:
                    if ticket.served:  # served between the timeout and here
                        break
                    if remaining <= slice_s:
                        self._line.remove(ticket)
                        return False
                housekeeping(True)
        except BaseException:
            # Interrupted while waiting (KeyboardInterrupt, gevent.Timeout, a
            # failing housekeeping): leave the line, and pass on what was
            # handed over meanwhile, or the next return would serve nobody.
            self._leave(ticket)
            raise
        # Served: from here the hand says what this waiter holds.
        hand.append(PERMIT if ticket.lease is None else ticket.lease)
        return True

    def _leave(self, ticket: _Ticket) -> None:
        with self._lock:
            if ticket.served:
                self._pass_on(ticket.lease)
            elif ticket in self._line:  # (not yet in line, or out after a timeout)
                self._line.remove(ticket)

    # ##### Returning #####

    def give_back(self, lease: Lease) -> bool:
        """Hand *lease* to the oldest waiter, or park it; False: close it instead.

        A lease is closed when ``keep_idle`` connections are idle already (an
        overflow connection going away). Its permit is then freed by
        :meth:`release` once it is closed.
        """
        with self._lock:
            if self._line:
                self._serve(lease)
                return True
            if len(self._parked) >= self.keep_idle:
                return False
            self._park(lease)
            return True

    def _pop_idle(self) -> Lease | None:
        # The next parked lease in lending order, taken out; None if none is.
        idle, end = self._idle, -1 if self._lifo else 0
        while idle:
            lease = idle[end]
            del idle[end]
            lease.queued = False
            if lease in self._parked:  # else taken back since it was listed
                del self._parked[lease]
                return lease
        return None

    def _park(self, lease: Lease) -> None:
        self._parked[lease] = True
        lease.gives += 1  # with the store above: nothing can run in between
        if not lease.queued:
            lease.queued = True
            self._idle.append(lease)

    def forget(self, lease: Lease) -> None:
        """Take an ended *lease* out of the idle deque, where a take-back left it listed."""
        with self._lock:
            self._parked.pop(lease, None)
            if lease.queued:
                lease.queued = False
                self._idle.remove(lease)

    def release(self, lease: Lease | None = None) -> None:
        """Free a permit (that of closed *lease*, once): the oldest waiter may open one.

        Marking the lease and freeing the permit run no Python code in
        between: whoever is interrupted here can tell, from ``lease.freed``,
        whether the permit came back.
        """
        with self._lock:
            if lease is not None:
                if lease.freed:
                    return
                lease.freed = True
            line = self._line
            if line:  # _serve(None), inline
                ticket = line[0]
                del line[0]
                ticket.served = True
                ticket.signal.release()
            else:
                self._free += 1

    def _pass_on(self, lease: Lease | None) -> None:
        # A lease (or, None, a permit) nobody holds any more: to the oldest
        # waiter, else parked (or, a permit, free). The caller holds the lock.
        if self._line:
            self._serve(lease)
        elif lease is None:
            self._free += 1
        else:
            self._park(lease)

    def _serve(self, lease: Lease | None) -> None:
        # The hand-over runs no Python code until the waiter is served:
        # an interrupt cannot leave a ticket out of line and unserved.
        line = self._line
        ticket = line[0]
        del line[0]
        ticket.lease = lease
        if lease is not None:
            lease.gives += 1
        ticket.served = True
        ticket.signal.release()

    def drain_idle(self) -> list[Lease]:
        """Take every idle lease out (to close them); their permits stay taken."""
        with self._lock:
            drained = [lease for lease in list(self._parked) if self._parked.pop(lease, False)]
            for lease in self._idle:
                lease.queued = False
            self._idle.clear()
        return drained
