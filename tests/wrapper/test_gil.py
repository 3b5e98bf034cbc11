"""A request on a parked connection keeps the GIL from its checkout to its checkin.

Under threads, every release of the GIL wakes a thread that waits for it,
and the releasing thread often waits in turn to get it back: context
switches, which cost more than the whole checkout. The socket poll that
tells whether the server hung up (django_pool.hangup) released it once per
checkout: with 8 threads on a pool of 8, 18.2 context switches per request
against the native pool's 14.3, and 0.92x its throughput.

How it is observed: a second thread does nothing but wait for the GIL (and
give it back at once when it gets it). Each release signals it awake; it
mostly finds the GIL taken again and sleeps: a voluntary context switch of
its own, which Linux counts per thread. With the switch interval at a
minute, nothing else wakes it.

Held with the drivers' C builds (psycopg's pure-Python libpq binding calls
libpq through ctypes.CDLL, which releases the GIL at every call).
"""

from __future__ import annotations

import gc
import select
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from django.db import connections

from django_pool import hangup

REQUESTS = 500
# Well below the one wake-up per request of a release per request; reading
# /proc releases the GIL a few times itself (open, read, close).
MOST_WAKEUPS = REQUESTS // 10


def switches(native_id: int) -> int | None:
    """Return the voluntary context switches of thread *native_id* so far (None: not counted)."""
    try:
        status = Path(f"/proc/self/task/{native_id}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return None


def wakeups_of_a_gil_waiter(work) -> int:
    """Run *work* while another thread waits for the GIL; return how often it woke."""
    stop = threading.Event()

    def wait_for_the_gil() -> None:
        while not stop.is_set():
            time.sleep(0)  # gives the GIL back, and waits for it again

    waiter = threading.Thread(target=wait_for_the_gil, name="gil-waiter")
    interval = sys.getswitchinterval()
    collecting = gc.isenabled()
    try:
        gc.collect()
        gc.disable()  # a finalizer closing a socket would release the GIL too
        sys.setswitchinterval(60)
        waiter.start()
        before = switches(waiter.native_id)
        if before is None:
            pytest.skip("this system does not count a thread's context switches in /proc")
        work()
        after = switches(waiter.native_id)
    finally:
        stop.set()
        sys.setswitchinterval(interval)
        if collecting:
            gc.enable()
        if waiter.ident is not None:
            waiter.join()
    assert after is not None
    return after - before


def requests(alias: str) -> None:
    """Run REQUESTS requests that check out the parked connection and return it."""
    connection = connections[alias]
    for _ in range(REQUESTS):
        request_started.send(sender=None)
        connection.ensure_connection()
        request_finished.send(sender=None)


def keeps_no_gil_here() -> str | None:
    """Return why this interpreter cannot show a kept GIL, or None."""
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return "free-threaded Python: no GIL to keep"
    if hangup._libc_poll() is None:
        return "no C library poll() through ctypes here: the hang-up check uses select.poll"
    return None


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize("release", ["request", "transaction"])
def test_a_request_on_a_parked_connection_keeps_the_gil(server_vendor, configure_pool, release):
    if reason := keeps_no_gil_here():
        pytest.skip(reason)
    libpq = getattr(connections[server_vendor].Database, "pq", None)  # psycopg 3
    if getattr(libpq, "__impl__", None) == "python":
        pytest.skip("psycopg's pure-Python libpq binding releases the GIL at every libpq call")
    configure_pool(server_vendor, pool_size=1, max_overflow=0, release=release)
    requests(server_vendor)  # the connection is open, set up and parked
    assert wakeups_of_a_gil_waiter(lambda: requests(server_vendor)) < MOST_WAKEUPS


@pytest.mark.parametrize("libc", [True, False], ids=["ctypes", "select.poll"])
def test_the_hangup_check_sees_the_peer_hang_up(libc, monkeypatch):
    if libc and hangup._libc_poll() is None:
        pytest.skip("no C library poll() through ctypes here")
    if not libc:
        if not hasattr(select, "poll"):
            pytest.skip("no select.poll here")
        monkeypatch.setattr(hangup, "_libc_poll", lambda: None)
    ours, server = socket.socketpair()
    with ours, server:
        readable = hangup.watcher(ours.fileno())
        assert readable is not None
        assert not readable()  # idle
        server.close()  # the server hangs up
        assert readable()


def test_a_connection_without_a_socket_is_not_watched():
    assert hangup.watcher(None) is None
    assert hangup.watcher(-1) is None
