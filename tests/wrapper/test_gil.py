"""A request on a parked connection keeps the GIL from its checkout to its checkin.

Under threads, every release of the GIL wakes a thread that waits for it,
and the releasing thread often waits in turn to get it back: context
switches, which cost more than the whole checkout. The socket poll that
tells whether the server hung up (django_pool.hangup) released it once per
checkout, and cost 20 % of throughput with 8 threads on a pool of 8.

How it is observed: a second thread does nothing but wait for the GIL (and
give it back at once when it gets it). Each release signals it awake; it
mostly finds the GIL taken again and sleeps: a voluntary context switch of
its own, which Linux counts per thread. With the switch interval at a
minute, nothing else wakes it.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections

pytestmark = [
    pytest.mark.django_db(transaction=True, databases="__all__"),
    pytest.mark.skipif(
        not Path("/proc/self/task").is_dir(), reason="counts context switches in /proc (Linux)"
    ),
]

REQUESTS = 500
# Reading /proc releases the GIL a few times itself (open, read, close).
SLACK = 10


def switches(native_id: int) -> int:
    """Return the voluntary context switches of thread *native_id* so far."""
    status = Path(f"/proc/self/task/{native_id}/status").read_text()
    return int(status.split("voluntary_ctxt_switches:")[1].split()[0])


def wakeups_of_a_gil_waiter(work) -> int:
    """Run *work* while another thread waits for the GIL; return how often it woke."""
    stop = threading.Event()

    def wait_for_the_gil() -> None:
        while not stop.is_set():
            time.sleep(0)  # gives the GIL back, and waits for it again

    waiter = threading.Thread(target=wait_for_the_gil, name="gil-waiter")
    interval = sys.getswitchinterval()
    gc.collect()
    gc.disable()  # a finalizer closing a socket would release the GIL too
    sys.setswitchinterval(60)
    waiter.start()
    try:
        before = switches(waiter.native_id)
        work()
        after = switches(waiter.native_id)
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        gc.enable()
        waiter.join()
    return after - before


def requests(alias: str) -> None:
    """Run REQUESTS requests that check out the parked connection and return it."""
    connection = connections[alias]
    for _ in range(REQUESTS):
        request_started.send(sender=None)
        connection.ensure_connection()
        request_finished.send(sender=None)


def test_a_request_on_a_parked_connection_keeps_the_gil(server_vendor, configure_pool):
    configure_pool(server_vendor, pool_size=1, max_overflow=0)
    requests(server_vendor)  # the connection is open, set up and parked
    assert wakeups_of_a_gil_waiter(lambda: requests(server_vendor)) <= SLACK
