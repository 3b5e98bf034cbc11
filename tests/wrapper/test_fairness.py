"""Waiters are served in arrival order; a returning thread cannot barge in."""

import signal
import threading
import time

import pytest
from django.db import connections

import django_pool
from django_pool.gate import PERMIT, FairGate
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def wait_for(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def gate_waiter(gate, order, name, slice_s=1.0, slices=None):
    """A thread body: wait in *gate*'s line, note the order served, give the permit back."""

    def housekeeping(waited):
        if waited and slices is not None:
            slices.append(name)

    hand = []
    assert gate.take(time.monotonic() + 10, housekeeping, hand, slice_s=slice_s)
    assert hand == [PERMIT]
    order.append(name)
    gate.release()


@pytest.mark.parametrize("slice_s", [1.0, 0.01])
def test_gate_serves_waiters_in_arrival_order(slice_s):
    # With 0.01 s slices each waiter runs its housekeeping many times while
    # it waits: it must keep its place in line all the same.
    gate = FairGate(1, keep_idle=1)
    assert gate.try_take(hand := []) and hand == [PERMIT]
    order, slices = [], []
    threads = []
    for i, name in enumerate("abcde"):
        thread = threading.Thread(target=gate_waiter, args=(gate, order, name, slice_s, slices))
        thread.start()
        threads.append(thread)
        wait_for(lambda i=i: gate.waiting == i + 1, f"{name} to wait")
    if slice_s < 1:
        wait_for(lambda: set(slices) == set("abcde"), "every waiter to wait past a slice")
    gate.release()
    for thread in threads:
        thread.join()
    assert order == list("abcde")


def test_gate_times_out_and_forgets_the_waiter():
    gate = FairGate(1, keep_idle=1)
    assert gate.try_take(hand := []) and hand == [PERMIT]
    assert gate.take(time.monotonic() + 0.05, lambda waited: None, [], slice_s=0.01) is False
    assert gate.waiting == 0
    gate.release()
    assert gate.try_take(hand := []) and hand == [PERMIT]  # the permit was not lost


def test_waiters_keep_their_place_across_slices(vendor, configure_pool):
    # Issue 11.2: pool of 1 held for longer than a wait slice (1 s); four
    # threads arrive one after another, each waiting more than a slice.
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=20)
    session_id(vendor)  # held by this thread
    [pool] = django_pool.registry.pools(vendor)
    order = []

    def waiter(name):
        session_id(vendor)
        order.append(name)
        connections[vendor].close()

    threads = []
    for i, name in enumerate("abcd"):
        thread = threading.Thread(target=waiter, args=(name,))
        thread.start()
        threads.append(thread)
        wait_for(lambda i=i: pool.status()["waiting"] == i + 1, f"{name} to wait")
        time.sleep(0.6)  # arrivals 0.6 s apart: the first waits past two slices
    connections[vendor].close()
    for thread in threads:
        thread.join()
    assert order == list("abcd")


def test_a_thread_returning_a_connection_cannot_take_it_back_before_a_waiter(
    vendor, configure_pool
):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=10)
    order = []
    session_id(vendor)  # this thread holds the only connection

    def other():
        session_id(vendor)
        order.append("waiter")
        connections[vendor].close()

    thread = threading.Thread(target=other)
    thread.start()
    [pool] = django_pool.registry.pools(vendor)
    wait_for(lambda: pool.status()["waiting"] == 1, "the other thread to wait")

    connections[vendor].close()  # give it back...
    session_id(vendor)  # ...and ask again at once: the waiter goes first
    order.append("returner")
    thread.join()
    assert order == ["waiter", "returner"]


class _Lease:
    """What the gate reads of a lease."""

    def __init__(self, holder):
        self.queued = False
        self.gives = 0
        self.last_loan = type("Loan", (), {"holder": holder})()


class _Interrupted(Exception):
    pass


def test_an_exception_from_a_signal_handler_never_leaves_the_gate_locked():
    # KeyboardInterrupt, Celery's soft time limit and alarm() timeouts are
    # raised by signal handlers, which run between any two bytecodes: a lock
    # taken with acquire() before a try: stays held if one lands in between,
    # and every later checkout of the process hangs. The gate uses ``with``
    # (and no lock at all to take a lease back).
    gate = FairGate(1, keep_idle=1)
    holder = object()
    lease = _Lease(holder)
    armed = [False]

    def handler(*_):
        if armed[0]:
            raise _Interrupted

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.00003, 0.00003)
    try:
        for _ in range(100_000):
            try:
                armed[0] = True
                if not gate.take_back(lease, holder):
                    gate.give_back(lease)
                armed[0] = False
            except _Interrupted:
                armed[0] = False
            assert not gate._lock.locked(), "the gate's lock was left held"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
