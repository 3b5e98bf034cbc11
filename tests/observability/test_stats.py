"""A known sequence of checkouts, waits, timeouts and kills gives the expected numbers."""

import logging
import socket
import threading
import time

import pytest
from django.db import OperationalError, connections, transaction

import django_pool
from tests.helpers import join, run_threads, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def stats(alias):
    return django_pool.get_stats(alias)[alias]


def request(alias):
    try:
        return session_id(alias)
    finally:
        connections[alias].close()


def test_counters_gauges_and_distributions(server, configure_pool):
    alias = server.alias
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2)
    for _ in range(3):
        request(alias)
    s = stats(alias)
    assert (s["connections_num"], s["checkouts_num"], s["checkins_num"]) == (1, 3, 3)
    assert (s["open"], s["idle"], s["in_use"], s["waiting"]) == (1, 1, 0, 0)
    assert s["wait_seconds"]["count"] == 3 and s["hold_seconds"]["count"] == 3
    assert s["connect_seconds"]["count"] == 1 and s["connect_seconds"]["max"] > 0
    assert s["hold_seconds"]["buckets"][float("inf")] == 3

    session_id(alias)  # held: the next thread times out
    with pytest.raises(django_pool.PoolTimeout):
        run_threads(1, lambda i: session_id(alias))
    assert stats(alias)["timeouts_num"] == 1
    assert stats(alias)["in_use"] == 1
    connections[alias].close()

    server.kill_all()  # while idle: seen at checkout, replaced, no error
    request(alias)
    assert stats(alias)["invalidations_by_reason"] == {"dropped by the server": 1}

    session_id(alias)
    server.kill_all()  # while lent: the request fails, the pool learns
    with pytest.raises(OperationalError):
        request(alias)
    s = stats(alias)
    assert s["disconnects_num"] == 1
    assert s["invalidations_by_reason"] == {"dropped by the server": 1, "disconnect": 1}
    assert s["invalidations_num"] == 2

    with transaction.atomic(using=alias):
        session_id(alias)
        connections[alias].close()
    assert stats(alias)["invalidations_by_reason"]["closed inside atomic()"] == 1

    popped = django_pool.pop_stats(alias)[alias]
    # 3 requests, the held one, the one after the kill, the killed one, the
    # atomic one (the timed-out attempt never checked out).
    assert popped["checkouts_num"] == 7
    after = stats(alias)
    assert after["checkouts_num"] == 0 and after["wait_seconds"]["count"] == 0
    assert after["open"] == popped["open"]  # gauges are not reset


def test_log_lines_name_the_alias(vendor, configure_pool, caplog):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=0.1, recycle=0.05, recycle_jitter=0)
    caplog.set_level(logging.DEBUG, logger="django_pool")
    request(vendor)
    time.sleep(0.06)  # older than recycle: replaced at the next checkout, or at
    # its return already if that first request took longer than 0.05 s
    session_id(vendor)
    with pytest.raises(django_pool.PoolTimeout):
        run_threads(1, lambda i: session_id(vendor))
    connections[vendor].close()
    messages = [
        (r.levelname, r.getMessage()) for r in caplog.records if r.name.startswith("django_pool")
    ]
    text = "\n".join(m for _, m in messages)
    for expected in (
        "new connection",
        "checkout (",
        "checkin after",
        "pool exhausted, requests wait",
        "no connection became free",
    ):
        assert expected in text, expected
    assert "closing a connection: recycled" in text
    assert "1 in use, 1 waiting (pool_size 1 + max_overflow 0)" in text  # the waiter once
    assert all(f"database {vendor!r}" in m for _, m in messages)
    levels = {m.split(":")[1].strip().split(" ")[0]: lvl for lvl, m in messages}
    assert levels["pool"] == "WARNING" and levels["no"] == "WARNING"


def hold_a_connection(alias):
    """The application code a leak report must point at."""
    session_id(alias)


def test_leak_warning_carries_the_checkout_stack(vendor, configure_pool, caplog):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=0.2, leak_threshold=0.05)
    hold_a_connection(vendor)
    time.sleep(0.06)  # now held longer than leak_threshold
    with pytest.raises(django_pool.PoolTimeout) as info:
        run_threads(1, lambda i: session_id(vendor))
    # The timeout says who holds the connection and from where (the innermost
    # frame outside Django and django-pool: here the test helper).
    assert "Held by: thread 'MainThread' for" in str(info.value)
    assert "helpers.py" in str(info.value) and "in session_id" in str(info.value)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    leak = next(m for m in warnings if "leak_threshold" in m)
    assert "held for" in leak and "MainThread" in leak
    assert "in hold_a_connection" in leak and "test_stats.py" in leak  # the whole stack
    # down to the caller: the ORM's, the backend's and the pool's own frames are left out.
    assert "connection.cursor()" in leak.rstrip().splitlines()[-1]  # helpers.session_id
    assert "/django_pool/" not in leak.split("checked out at", 1)[1]
    assert stats(vendor)["leaks_num"] == 1
    connections[vendor].close()


def test_a_leak_seen_at_return_is_reported_once_and_the_checkin_logged(
    vendor, configure_pool, caplog
):
    configure_pool(vendor, pool_size=1, max_overflow=0, leak_threshold=0.01)
    caplog.set_level(logging.DEBUG, logger="django_pool")
    hold_a_connection(vendor)
    time.sleep(0.02)  # held longer than leak_threshold; nobody waits
    connections[vendor].close()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("django_pool")]
    [leak] = [m for m in messages if "leak_threshold" in m]
    assert "returned after" in leak and "helpers.py" in leak  # the innermost own frame
    assert any("checkin after" in m for m in messages)  # as for every logged checkout
    assert stats(vendor)["leaks_num"] == 1


def test_a_leak_taken_back_from_an_ended_thread_says_so(vendor, configure_pool, caplog):
    # It said "returned after ... by thread 'forgetful'" right after "thread
    # 'forgetful' ended without returning its connection".
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=5, leak_threshold=0.01)

    def forgetful():
        hold_a_connection(vendor)
        time.sleep(0.02)  # held longer than leak_threshold before the thread ends

    thread = threading.Thread(target=forgetful, name="forgetful")
    thread.start()
    join(thread)
    session_id(vendor)  # the pool's one place: taken back from the ended thread
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("thread 'forgetful' ended without returning" in m for m in messages)
    [leak] = [m for m in messages if "leak_threshold" in m]
    assert "connection taken back after" in leak and "from thread 'forgetful'" in leak, leak
    assert "helpers.py" in leak  # the innermost own frame, as for a connection returned
    assert stats(vendor)["leaks_num"] == 1


def test_no_stack_is_taken_without_leak_threshold(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=0.1)
    session_id(vendor)
    [pool] = django_pool.registry.pools(vendor)
    assert all(lease.loan is None or lease.loan.site is None for lease in pool._leases)
    with pytest.raises(django_pool.PoolTimeout) as info:
        run_threads(1, lambda i: session_id(vendor))
    assert "Set settings.DATABASES" in str(info.value) and "['leak_threshold']" in str(info.value)
    connections[vendor].close()


def test_gauges_while_threads_wait(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=10)
    session_id(vendor)
    waiters = [threading.Thread(target=request, args=(vendor,)) for _ in range(3)]
    for thread in waiters:
        thread.start()
    deadline = time.monotonic() + 10
    while stats(vendor)["waiting"] < 3:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert stats(vendor)["in_use"] == 1
    connections[vendor].close()
    for thread in waiters:
        thread.join()
    s = stats(vendor)
    assert (s["waiting"], s["in_use"], s["checkouts_num"]) == (0, 0, 4)
    assert s["wait_seconds"]["max"] > 0


def test_a_leak_by_an_async_view_names_the_view(vendor, configure_pool, caplog):
    # Django's async ORM runs the query in asgiref's executor thread, whose
    # stack holds the executor and the ORM: the report named
    # concurrent/futures/thread.py, never the coroutine that awaited it.
    import asyncio

    from tests.testapp.models import Item

    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=0.2, leak_threshold=0.01)

    async def async_view():
        async with django_pool.return_connections():
            await Item.objects.using(vendor).acount()  # checks out, in asgiref's thread
            await asyncio.sleep(0.02)  # held longer than leak_threshold

    asyncio.run(async_view())
    [leak] = [r.getMessage() for r in caplog.records if "leak_threshold" in r.getMessage()]
    assert "in async_view" in leak and "test_stats.py" in leak, leak


def test_a_checkout_that_gets_no_connection_is_counted(server_vendor, configure_pool):
    # A server down past the timeout: each request that gave up was in no
    # counter (timeouts_num is PoolTimeout's; connections_errors counts the
    # attempts, several per request), so a dashboard showed no failure.
    alias = server_vendor
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    configure_pool(alias, timeout=0.3, settings={"HOST": "127.0.0.1", "PORT": str(port)})
    for _ in range(2):
        with pytest.raises(OperationalError, match="gave up after"):
            connections[alias].ensure_connection()
    s = stats(alias)
    assert s["checkout_errors_num"] == 2
    assert s["connections_errors"] >= 2 and s["timeouts_num"] == 0
    assert s["wait_seconds"]["count"] == 0  # the waits of checkouts that got a connection


def test_a_manage_pool_counts_a_checkout_that_gets_no_connection(tmp_path):
    # manage()'s creator raises the driver's own error, not Django's: such a
    # checkout was in no counter either.
    import sqlite3

    pooled = django_pool.manage(sqlite3, pool_size=1, timeout=0.2)
    try:
        with pytest.raises(sqlite3.Error):
            pooled.connect(str(tmp_path / "no" / "such" / "dir.sqlite3"))
        stats = next(iter(pooled.get_stats().values()))
        assert stats["checkout_errors_num"] == 1 and stats["connections_errors"] >= 1
    finally:
        pooled.dispose()


def test_the_exhausted_warning_counts_only_connections_being_opened(vendor, configure_pool, caplog):
    # It counted every place taken but not lent as "being opened" (an outage):
    # here the one connection is on its way back, its session being reset.
    resetting, go_on = threading.Event(), threading.Event()

    def slow_reset(connection):
        resetting.set()
        return go_on.wait(10)

    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=10, reset_session=slow_reset)
    caplog.set_level(logging.WARNING, logger="django_pool.pool")

    def request() -> None:
        session_id(vendor)
        connections[vendor].close()

    giving_back = threading.Thread(target=request)
    giving_back.start()
    try:
        assert resetting.wait(10)
        waiter = threading.Thread(target=request)
        waiter.start()
        said: list[str] = []
        deadline = time.monotonic() + 10
        while not said and time.monotonic() < deadline:  # logged as the waiter gets in line
            said = [r.getMessage() for r in caplog.records if "pool exhausted" in r.getMessage()]
            time.sleep(0.01)
    finally:
        go_on.set()
        join(giving_back)
    join(waiter)
    assert "1 in use, 1 waiting" in said[0] and "being opened" not in said[0], said
