"""Waiters are served in arrival order; a returning thread cannot barge in."""

import threading
import time

import pytest
from django.db import connections

import django_pool
from django_pool.gate import FairGate
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def wait_for(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


def test_gate_serves_waiters_in_arrival_order():
    gate = FairGate(1)
    assert gate.acquire(timeout=1)
    order = []

    def waiter(name):
        assert gate.acquire(timeout=10)
        order.append(name)
        gate.release()

    threads = []
    for i, name in enumerate("abcde"):
        thread = threading.Thread(target=waiter, args=(name,))
        thread.start()
        threads.append(thread)
        wait_for(lambda i=i: gate.waiting == i + 1, f"{name} to wait")
    gate.release()
    for thread in threads:
        thread.join()
    assert order == list("abcde")


def test_gate_times_out_and_forgets_the_waiter():
    gate = FairGate(1)
    assert gate.acquire(timeout=1)
    assert not gate.acquire(timeout=0.05)
    assert gate.waiting == 0
    gate.release()
    assert gate.acquire(timeout=0)  # the permit was not lost


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
