"""An interrupt anywhere on the checkout or checkin path loses no connection and no permit.

A signal handler's exception (KeyboardInterrupt, Celery's SoftTimeLimitExceeded)
or gevent.Timeout is raised where CPython runs pending handlers: at the entry
of a Python function, and after a call into C returns. A profile hook raises
KeyboardInterrupt once at such a point, in the thread making a request; the
application catches it and goes on. Whatever the point, the pool must then
serve every later request, in any thread, with all of its places: before
the fix, an interrupt at the entry of the gate's ``_park`` (at checkin) or of
``_lendable`` (at a take-back) lost the connection and its permit for good,
and every later checkout timed out.
"""

from __future__ import annotations

import sys
import threading
from collections import deque

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections

import django_pool
from django_pool.gate import FairGate
from django_pool.lease import Lease
from django_pool.owners import current_owner_and_end
from django_pool.pool import DatabasePool
from django_pool.stats import PoolStats
from django_pool.wrapper import PooledDatabaseWrapperMixin
from tests.helpers import in_a_thread, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

# Where a take-back (the connection this thread used last) and its checkin pass.
TAKE_BACK_AND_CHECKIN = [
    PooledDatabaseWrapperMixin._release_pooled,
    FairGate.take_back,
    DatabasePool._lendable,
    PoolStats.checked_out,
    DatabasePool.checkin,
    DatabasePool._returned,
    PoolStats.checked_in,
    FairGate.give_back,
    FairGate._park,
]
# Where a first checkout passes: a permit, a new connection, its lease, its loan.
FIRST_CHECKOUT = [
    FairGate.take,
    DatabasePool._open_lease,
    Lease.__init__,
    DatabasePool._lend,
    current_owner_and_end,
]


class InterruptOnce:
    """Raise KeyboardInterrupt once, at the entry of *function* or after a C call returns."""

    def __init__(self, function=None, c_return=None):
        self.code = function.__code__ if function is not None else None
        # (type of the C method's object, method name), or a test of the method.
        if isinstance(c_return, tuple):
            owner, name = c_return
            c_return = lambda m: m.__name__ == name and type(m.__self__) is owner  # noqa: E731
        self.c_return = c_return
        self.fired = False

    def __call__(self, frame, event, arg):
        if self.fired:
            return
        entered = event == "call" and frame.f_code is self.code
        returned = event == "c_return" and self.c_return is not None and hasattr(arg, "__self__")
        if entered or (returned and self.c_return(arg)):
            self.fire()

    @classmethod
    def after(cls, name, of):
        """Interrupt once after method *name* of the object *of* returns."""
        return cls(c_return=lambda method: method.__name__ == name and method.__self__ is of)

    def fire(self):
        self.fired = True
        sys.setprofile(None)
        raise KeyboardInterrupt("a signal handler ran here")


def request(alias):
    """One request, as Django's handler runs it: the connection goes back at its end."""
    request_started.send(sender=None)
    try:
        return session_id(alias)
    finally:
        request_finished.send(sender=None)


def interrupted_request(alias, hook):
    sys.setprofile(hook)
    try:
        request(alias)
    except KeyboardInterrupt:
        pass  # the application catches it and goes on
    finally:
        sys.setprofile(None)
        connections[alias].close()  # what Django does at the next request's start


def assert_whole(alias, places):
    """Every place of the pool serves again: *places* threads hold a connection at once."""
    barrier = threading.Barrier(places)
    results = []

    def hold():
        try:
            session_id(alias)
            barrier.wait(timeout=5)  # all of them at once: every permit is there
            results.append("served")
        except BaseException as err:  # noqa: BLE001 - shown below
            results.append(repr(err))
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold) for _ in range(places)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["served"] * places
    [pool] = django_pool.registry.pools(alias)
    gate = pool._gate
    assert gate.free + gate.idle == gate.capacity == places  # nothing lent, nothing lost
    assert len(pool._leases) == gate.idle
    stats = django_pool.get_stats(alias)[alias]
    assert (stats["in_use"], stats["open"]) == (0, gate.idle)  # and the stats say so


@pytest.mark.parametrize("where", TAKE_BACK_AND_CHECKIN, ids=lambda f: f.__qualname__)
def test_an_interrupt_on_the_take_back_path(vendor, configure_pool, where):
    configure_pool(vendor, pool_size=2, max_overflow=0, timeout=2)
    request(vendor)  # this thread's connection, parked for its take-back
    hook = InterruptOnce(where)
    interrupted_request(vendor, hook)
    assert hook.fired
    assert in_a_thread(lambda: request(vendor)) is not None
    assert request(vendor) is not None  # this thread's next request
    assert_whole(vendor, 2)


@pytest.mark.parametrize("where", FIRST_CHECKOUT, ids=lambda f: f.__qualname__)
def test_an_interrupt_on_a_first_checkout(vendor, configure_pool, where):
    configure_pool(vendor, pool_size=2, max_overflow=0, timeout=2)
    hook = InterruptOnce(where)
    interrupted_request(vendor, hook)
    assert hook.fired
    assert_whole(vendor, 2)


# An interrupt can land in a finalizer that runs meanwhile: ignored there, as Python does.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    "c_return",
    [(deque, "append"), (dict, "pop"), (list, "append")],
    ids=lambda c: f"{c[0].__name__}.{c[1]}",
)
def test_an_interrupt_after_a_c_call_returns(vendor, configure_pool, c_return):
    configure_pool(vendor, pool_size=2, max_overflow=0, timeout=2)
    interrupted_request(vendor, InterruptOnce(c_return=c_return))  # a first checkout
    request(vendor)
    interrupted_request(vendor, InterruptOnce(c_return=c_return))  # a take-back
    assert_whole(vendor, 2)


def test_an_interrupt_while_handing_over_to_a_waiter(vendor, configure_pool):
    # The returning thread is cut short as it serves the oldest waiter: the
    # waiter is served all the same (a connection, or the permit to open one).
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=5)
    request_started.send(sender=None)
    session_id(vendor)  # held by this thread
    [pool] = django_pool.registry.pools(vendor)
    served = []
    waiter = threading.Thread(target=lambda: served.append(in_a_thread(lambda: request(vendor))))
    waiter.start()
    while pool._gate.waiting == 0:  # the waiter is in line
        threading.Event().wait(0.001)
    hook = InterruptOnce(FairGate._serve)
    sys.setprofile(hook)
    try:
        request_finished.send(sender=None)
    except KeyboardInterrupt:
        pass
    finally:
        sys.setprofile(None)
        connections[vendor].close()
    waiter.join()
    assert hook.fired
    assert served and served[0] is not None  # (an error would have ended the thread)
    assert_whole(vendor, 1)


def test_an_interrupt_inside_the_take_back_check(vendor, configure_pool):
    # Inside _lendable, which closes the connection it was checking and frees
    # its place: the take-back must not free that place a second time.
    configure_pool(vendor, pool_size=2, max_overflow=0, timeout=2)
    request(vendor)
    [pool] = django_pool.registry.pools(vendor)
    hook = InterruptOnce(type(pool.driver).is_closed)  # the first check of a take-back
    interrupted_request(vendor, hook)
    assert hook.fired
    assert_whole(vendor, 2)


def test_an_interrupt_as_an_overflow_connection_frees_its_place(vendor, configure_pool):
    # An overflow connection is closed at its return and its place freed: cut
    # short as the gate frees it, the place must not be lost.
    configure_pool(vendor, pool_size=1, max_overflow=1, timeout=2)
    request_started.send(sender=None)
    session_id(vendor)  # held here while another request opens the second connection
    in_a_thread(lambda: request(vendor))  # returned: parked, the one kept idle
    hook = InterruptOnce(FairGate.release)
    sys.setprofile(hook)
    try:
        request_finished.send(sender=None)  # one idle already: this one is closed
    except KeyboardInterrupt:
        pass
    finally:
        sys.setprofile(None)
        connections[vendor].close()
    assert hook.fired
    assert_whole(vendor, 2)


def test_an_interrupt_leaving_a_one_connection_pool_lock(vendor, configure_pool):
    # "assertion" and "static" decide checkouts one at a time, under a lock:
    # cut short as it is let go, the checkout's connection must not stay lent.
    configure_pool(vendor, pool_class="assertion", timeout=2)
    request(vendor)
    [pool] = django_pool.registry.pools(vendor)
    hook = InterruptOnce.after("__exit__", of=pool._one_at_a_time)
    interrupted_request(vendor, hook)
    assert hook.fired
    assert in_a_thread(lambda: request(vendor)) is not None  # not "already checked out"


@pytest.mark.parametrize("timeout", [2, 0.5])
def test_an_interrupt_while_reclaiming_from_an_ended_thread(vendor, configure_pool, timeout):
    # Housekeeping takes back the connection of a thread that ended holding
    # it; cut short as it closes it, the claim must stay for the next pass,
    # which the next checkout makes before it waits: a wait shorter than the
    # 1 s housekeeping slice has no other.
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=timeout)
    ended = threading.Thread(target=lambda: session_id(vendor))  # ends holding it
    ended.start()
    ended.join()
    hook = InterruptOnce(DatabasePool._end)  # the reclaim's close, in this checkout's wait
    interrupted_request(vendor, hook)
    assert hook.fired
    assert request(vendor) is not None
    assert_whole(vendor, 1)


def test_an_interrupt_returning_to_a_pool_without_idle_connections(vendor, configure_pool):
    # pool_class "null": each return closes the connection. Cut short after
    # the pool forgot it, it was never closed.
    configure_pool(vendor, pool_class="null", timeout=2)
    request(vendor)
    [pool] = django_pool.registry.pools(vendor)
    hook = InterruptOnce.after("discard", of=pool._leases)
    interrupted_request(vendor, hook)
    assert hook.fired
    assert django_pool.get_stats(vendor)[vendor]["open"] == 0  # closed all the same
