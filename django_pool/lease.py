"""Lease and ConnectionState: per-loan and per-connection state, kept apart.

SQLAlchemy splits the same way: ``_ConnectionRecord`` lives as long as a
physical connection, ``_ConnectionFairy`` as long as one checkout.

* :class:`ConnectionState` is what django-pool knows of one physical
  connection (when it was opened, when to recycle it, whether Django's setup
  ran on it). It lives in the SQLAlchemy record's ``info`` dict, which
  SQLAlchemy clears when the connection is replaced.
* :class:`Lease` is one physical connection taken out of SQLAlchemy's pool.
  With a ``queue`` or ``lifo`` pool it lasts as long as the connection: Django
  checkouts borrow it one after another, and between them it is parked in
  the gate, where the thread that used it last takes it back first and any
  other thread may take it when no connection is free. With the other pool
  classes there is one lease per checkout.

Who holds a lease is one attribute, :attr:`Lease.loan`, so that housekeeping
in other threads reads a consistent view without a lock, and ``fork`` and
dead-thread handling have one thing to reset.
"""

from __future__ import annotations

import traceback
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import hangup

if TYPE_CHECKING:
    from sqlalchemy.pool import PoolProxiedConnection

    from .owners import Owner
    from .pool import DatabasePool

__all__ = ["ConnectionState", "Lease", "Loan", "holder_collected"]

# Frames of these packages are not "where the connection was checked out"
# (the executor and event loop frames of async code neither).
_OWN_FRAMES = (
    "/django_pool/",
    "/django/",
    "/sqlalchemy/",
    "/asgiref/",
    "/threading.py",
    "/concurrent/futures/",
    "/asyncio/",
)
_INSTALLED = ("/site-packages/", "/dist-packages/")


#: How many lease holders are gone: wrappers and ``manage()`` proxies garbage
#: collected, threads ended (:func:`~django_pool.owners.current_owner_and_end`).
#: The pools compare it at each checkout and checkin and then look for leases
#: whose holder is gone: the weakref callback itself may run anywhere (inside
#: a lock the collecting thread holds, in a thread being torn down), so it
#: only counts.
collected = 0


def holder_collected(ref: weakref.ref[Any]) -> None:
    """Weakref callback for a holder or its thread: count it; the pools do the rest."""
    global collected
    collected += 1


class ConnectionState:
    """What django-pool knows of one physical connection."""

    __slots__ = (
        "born",
        "connection",
        "initialized",
        "params",
        "readable",
        "recycle_at",
        "returned",
    )

    def __init__(
        self,
        connection: Any,
        born: float,
        recycle_at: float,
        params: dict[str, Any] | None,
    ) -> None:
        #: The DB-API connection.
        self.connection = connection
        #: ``time.monotonic()`` when it was opened.
        self.born = born
        #: ``time.monotonic()`` after which it is replaced.
        self.recycle_at = recycle_at
        #: The parameters Django opened it with (secrets included: never log them).
        self.params = params
        #: The time zone Django's per-connection setup ran for; None: not run.
        self.initialized: str | None = None
        #: ``time.monotonic()`` of its last return to the pool.
        self.returned = born
        #: ``readable()`` is truthy when the server may have closed this idle
        #: connection (:mod:`django_pool.hangup`); None for a connection
        #: without a socket (SQLite). Set by :meth:`watch`.
        self.readable: Callable[[], Any] | None = None

    def watch(self, fd: int | None) -> None:
        """Watch socket *fd* (None: the connection has none) for the server hanging up."""
        self.readable = hangup.watcher(fd)


class Loan:
    """Who borrows a lease: a holder in a thread; reused while they stay the same.

    Immutable by convention; slots, not a NamedTuple, so that the reads at
    every checkout are specialized on Python 3.12.
    """

    __slots__ = ("end", "holder", "ident", "site", "thread")

    def __init__(
        self,
        holder: weakref.ref[Any],
        thread: Owner,
        ident: int,
        site: traceback.StackSummary | None,
        end: weakref.ref[Any] | None = None,
    ) -> None:
        self.holder = holder
        #: The thread, or under gevent the greenlet (:mod:`django_pool.owners`).
        self.thread = thread
        self.ident = ident
        self.site = site
        #: Dies when the thread's state is cleared (its end), which its
        #: callback counts: the pools then look for gone holders. Kept here so
        #: that it lives until then. None: gevent, the pools ask instead.
        self.end = end

    def holder_gone(self) -> bool:
        """Return whether nobody can give this loan back: thread ended or wrapper collected."""
        return not self.thread.is_alive() or self.holder() is None

    def ending(self) -> bool:
        """Return whether the thread's state was cleared while it still says it is alive.

        For a moment at a thread's end; for good in a thread Python did not
        start that enters Python call by call (its state is cleared after
        each). Not gone: such a thread may return the connection at its next call.
        """
        end = self.end
        return end is not None and end() is None and self.thread.is_alive()

    def where(self) -> str:
        """Return the innermost application frame of the checkout, or '?'.

        Installed packages' frames (a toolbar that wraps cursors) come second:
        the application's own code is what the reader looks for.
        """
        frames = list(reversed(self.site or ()))
        for skipped in (_OWN_FRAMES + _INSTALLED, _OWN_FRAMES):
            for frame in frames:
                if not any(part in frame.filename for part in skipped):
                    return f"{frame.filename}:{frame.lineno} in {frame.name}"
        return "?"

    def stack(self) -> str:
        """Return the checkout's stack down to its innermost frame outside Django and django-pool.

        The frames below it (the ORM, the backend, the pool) are the same for
        every checkout and hide the caller at the end of the report.
        """
        frames = list(self.site or ())
        while frames and any(part in frames[-1].filename for part in _OWN_FRAMES):
            frames.pop()
        return "".join(traceback.format_list(frames or list(self.site or ()))) or "?"


class Lease:
    """One physical connection out of SQLAlchemy's pool, lent to Django checkouts."""

    __slots__ = (
        "connection",
        "disconnected",
        "fairy",
        "gives",
        "loan",
        "last_loan",
        "logged",
        "freed",
        "pool",
        "queued",
        "since",
        "state",
        "warned",
    )

    def __init__(self, pool: DatabasePool, fairy: PoolProxiedConnection, state: ConnectionState):
        self.pool = pool
        self.fairy = fairy
        #: The raw DB-API connection Django works on.
        self.connection = fairy.driver_connection
        self.state = state
        #: The current checkout's borrower; None while parked. Whoever pops
        #: it from the pool's lent loans ends the checkout (the checkin, or
        #: housekeeping for a holder that is gone): one atomic step, no lock.
        self.loan: Loan | None = None
        #: The last borrower, reused when the same one borrows again.
        self.last_loan: Loan | None = None
        #: The current checkout was logged (DEBUG): its return is logged too.
        self.logged = False
        #: ``time.monotonic()`` when the current checkout began.
        self.since = 0.0
        #: Listed in the gate's idle deque (changed under the gate's lock).
        self.queued = False
        #: A disconnect-class error was seen during the current checkout.
        self.disconnected = False
        #: The loan already reported as held too long.
        self.warned: Loan | None = None
        #: How many times the gate took it from a checkin (parked, or handed
        #: to a waiter): a checkin cut short sees whether it got that far.
        self.gives = 0
        #: Its permit is back with the gate (set by the gate, in the same step).
        #: A lease closed without it has left its permit to its closer.
        self.freed = False
