"""Each checkout-path hole of issue 11, item 6 (and 4): a test that failed before its fix."""

from __future__ import annotations

import gc
import threading
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from sqlalchemy.pool import QueuePool

import django_pool
from tests.helpers import in_a_thread, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


class SmallerQueuePool(QueuePool):
    """A QueuePool subclass whose own bound is tighter than the POOL settings say."""

    def __init__(self, creator, **kwargs):
        kwargs.update(pool_size=1, max_overflow=0, timeout=0.05)
        super().__init__(creator, **kwargs)


def test_a_queuepool_subclass_timing_out_keeps_its_places(vendor, configure_pool):
    configure_pool(
        vendor,
        pool_class=f"{__name__}.SmallerQueuePool",
        pool_size=2,
        max_overflow=0,
        timeout=0.5,
    )
    session_id(vendor)  # holds SQLAlchemy's only connection
    for _ in range(3):  # each timeout used to keep one of the gate's places
        with pytest.raises(django_pool.PoolTimeout):
            in_a_thread(lambda: session_id(vendor))
    connections[vendor].close()
    assert in_a_thread(lambda: session_id(vendor)) is not None  # still served
    # Nothing is lent: every place is free or held by an idle connection.
    [pool] = django_pool.registry.pools(vendor)
    gate = pool._gate
    assert gate.free + gate.idle == gate.capacity == 2


def test_dispose_takes_back_connections_of_ended_threads(server, configure_pool):
    # Issue 11.4: a test database cannot be dropped while a dead thread's
    # connection stays open; retiring the pool (dispose, release for a drop)
    # closes those too, not only the idle ones.
    configure_pool(server.alias, pool_size=2, max_overflow=0)
    thread = threading.Thread(target=lambda: session_id(server.alias))  # ends holding it
    thread.start()
    thread.join()
    assert server.count() == 1
    django_pool.dispose(server.alias)
    server.wait_until(lambda: server.count() == 0, "the dead thread's session to close")


def test_pool_false_with_an_explicit_engine_is_unpooled(vendor, configure_pool):
    configure_pool(vendor)
    connections.settings[vendor]["POOL"] = False
    connections[vendor].close()
    django_pool.dispose()
    first = session_id(vendor)
    connections[vendor].close()
    assert django_pool.registry.pools(vendor) == []
    if vendor != "default":  # a new server session per request, as with the stock ENGINE
        assert session_id(vendor) != first
        connections[vendor].close()


def test_a_static_pool_refuses_a_second_thread(vendor, configure_pool):
    configure_pool(vendor, pool_class="static")
    session_id(vendor)  # this thread holds the one shared connection
    with pytest.raises(ImproperlyConfigured, match="'static', which shares one connection"):
        in_a_thread(lambda: session_id(vendor))
    connections[vendor].close()
    assert in_a_thread(lambda: session_id(vendor)) is not None  # once returned: fine


@pytest.mark.parametrize("pool_class", ["static", "assertion"])
def test_a_one_connection_pool_opens_one_connection_when_new(
    vendor, configure_pool, monkeypatch, pool_class
):
    # SQLAlchemy creates the one connection of these pools lazily, without a
    # lock: threads asking a new pool at once each opened their own.
    configure_pool(vendor, pool_class=pool_class)
    wrapper_class = type(connections[vendor])
    opened = []
    second = threading.Event()
    get_new_connection = wrapper_class.get_new_connection

    def counted(self, params):
        opened.append(threading.get_ident())
        if len(opened) == 1:
            second.wait(timeout=1)  # the bug: another thread opens one meanwhile
        else:
            second.set()
        return get_new_connection(self, params)

    monkeypatch.setattr(wrapper_class, "get_new_connection", counted)
    start = threading.Barrier(4)
    outcomes: list = []

    def ask():
        start.wait()
        try:
            session_id(vendor)
            outcomes.append("served")
        except (ImproperlyConfigured, AssertionError) as err:  # the one connection is taken
            assert f"settings.DATABASES[{vendor!r}]['POOL']['pool_class']" in str(err)
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 1
    assert "served" in outcomes and len(outcomes) == 4


def test_an_assertion_pool_names_the_setting(vendor, configure_pool):
    configure_pool(vendor, pool_class="assertion")
    session_id(vendor)
    with pytest.raises(AssertionError) as info:
        in_a_thread(lambda: session_id(vendor))
    message = str(info.value)
    assert f"settings.DATABASES[{vendor!r}]['POOL']['pool_class'] is 'assertion'" in message
    assert "connection is already checked out" in message  # SQLAlchemy's, with where
    connections[vendor].close()
    assert in_a_thread(lambda: session_id(vendor)) is not None


def test_return_connections_discards_a_broken_connection(server, configure_pool):
    alias = server.alias
    configure_pool(alias, pool_size=1, max_overflow=0)
    with django_pool.return_connections():
        session_id(alias)
        connections[alias].errors_occurred = True  # as after a failed query
        server.kill_all()  # and is_usable() will say no
    stats = django_pool.get_stats(alias)[alias]
    assert stats["invalidations_by_reason"] == {"unusable": 1}
    assert stats["open"] == 0  # never back in the pool


def test_mysql_reset_session_uses_the_credentials_django_connected_with(
    server, configure_pool, tmp_path
):
    # Issue 11.6: credentials in OPTIONS (or an option file), not USER/PASSWORD.
    if server.vendor != "mysql":
        pytest.skip("COM_CHANGE_USER is MySQL's; PostgreSQL's reset (DISCARD ALL) needs none")
    from django.db.backends.mysql.base import Database

    if not hasattr(Database.connections.Connection, "change_user"):
        pytest.skip("PyMySQL has no COM_CHANGE_USER: its connections are closed instead (docs)")
    alias = server.alias
    settings_dict = connections.settings[alias]
    option_file = tmp_path / "my.cnf"
    option_file.write_text(f"[client]\nuser={settings_dict['USER']}\n")
    configure_pool(
        alias,
        reset_session=True,
        settings={
            "USER": "",
            "OPTIONS": {"read_default_file": str(option_file), "password": ""},
        },
    )
    sessions = set()
    for _ in range(3):
        sessions.add(session_id(alias))
        connections[alias].close()
    stats = django_pool.get_stats(alias)[alias]
    assert stats["invalidations_by_reason"] == {}  # every reset succeeded
    assert len(sessions) == 1 and stats["connections_num"] == 1


# Found in review of the lease-based path, each shown failing before its fix.


@pytest.mark.parametrize("when", ["before the wait", "between slices"])
def test_a_waiter_interrupted_in_line_gives_its_place_back(when):
    from django_pool.gate import PERMIT, FairGate

    gate = FairGate(1, keep_idle=1)
    assert gate.try_take(hand := []) and hand == [PERMIT]

    def housekeeping(waited):
        if waited == (when == "between slices"):
            raise KeyboardInterrupt  # or gevent.Timeout: anything, while waiting

    with pytest.raises(KeyboardInterrupt):
        gate.take(time.monotonic() + 5, housekeeping, [], slice_s=0.01)
    assert gate.waiting == 0  # no ticket left to swallow the next return
    gate.release()
    assert gate.try_take(hand := []) and hand == [PERMIT]


def test_a_checkin_interrupted_while_cleaning_loses_nothing(vendor, configure_pool):
    def interrupted(connection):
        raise KeyboardInterrupt  # a reset hook cut short: Ctrl-C, gevent.Timeout

    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=2, reset_session=interrupted)
    session_id(vendor)
    with pytest.raises(KeyboardInterrupt):
        connections[vendor].close()
    connections.settings[vendor]["POOL"]["reset_session"] = False
    django_pool.dispose(vendor)
    assert in_a_thread(lambda: session_id(vendor)) is not None


def test_a_collected_holder_gives_back_without_anyone_waiting(vendor, configure_pool):
    # A null pool never waits: its leases of ended threads must come back
    # once the thread's wrapper is collected, not at some saturation.
    configure_pool(vendor, pool_class="null")
    thread = threading.Thread(target=lambda: session_id(vendor))  # ends holding it
    thread.start()
    thread.join()
    gc.collect()
    session_id(vendor)
    connections[vendor].close()
    stats = django_pool.get_stats(vendor)[vendor]
    assert stats["invalidations_by_reason"] == {"thread ended": 1}
    assert (stats["in_use"], stats["open"]) == (0, 0)


def test_a_borrowed_connection_sets_what_reading_the_parameters_sets(configure_pool):
    # SQLite's get_connection_params() sets transaction_mode: a wrapper that
    # never opened a connection itself must have it before its first atomic().
    configure_pool("default", pool_size=1, max_overflow=0)
    session_id("default")
    connections["default"].close()  # parked; the next thread borrows it

    def atomic_in_a_new_thread():
        from django.db import transaction

        with transaction.atomic(using="default"):
            session_id("default")
        return True

    assert in_a_thread(atomic_in_a_new_thread)


def test_ended_leases_leave_the_idle_list(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, recycle=0.01, recycle_jitter=0)
    for _ in range(5):
        session_id(vendor)
        connections[vendor].close()
        time.sleep(0.02)  # past recycle: replaced at the next checkout
    [pool] = django_pool.registry.pools(vendor)
    assert len(pool._gate._idle) <= 1


# Found in the review of the interrupt-safe checkout path, each failing before its fix.


def _wait_until(condition, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.001)


class _Holder(threading.Thread):
    """A request that takes a connection, notes when it got it, and holds it until told."""

    def __init__(self, alias, name, served):
        super().__init__(name=name)
        self.alias, self.served, self.done = alias, served, threading.Event()

    def run(self):
        try:
            connections[self.alias].ensure_connection()
            self.served.append(self.name)
            self.done.wait(10)
        finally:
            connections.close_all()


def test_a_waiter_handed_a_stale_connection_keeps_its_place(vendor, configure_pool):
    # After a disconnect the oldest waiter was handed a connection opened
    # before it, closed it, gave the freed place to the next waiter and went
    # to the back of the line: the oldest requests were the ones to time out.
    configure_pool(vendor, pool_size=2, max_overflow=0, timeout=10)
    served: list[str] = []
    holders = [_Holder(vendor, f"H{i}", served) for i in (1, 2)]
    for holder in holders:
        holder.start()
    _wait_until(lambda: len(served) == 2, "both connections to be lent")
    [pool] = django_pool.registry.pools(vendor)
    waiters = []
    for i, name in enumerate(("W1", "W2", "W3")):
        waiter = _Holder(vendor, name, served)
        waiter.start()
        waiters.append(waiter)
        _wait_until(lambda i=i: pool._gate.waiting == i + 1, f"{name} in line")
    pool.mark_stale()  # as a disconnect does: both lent connections are now too old
    holders[0].done.set()  # its clean but stale connection goes to W1
    _wait_until(lambda: len(served) == 3, "a waiter to be served")
    holders[1].done.set()
    _wait_until(lambda: len(served) == 4, "a second waiter to be served")
    waiters[0].done.set()
    _wait_until(lambda: len(served) == 5, "the last waiter to be served")
    for thread in holders + waiters:
        thread.done.set()
        thread.join()
    assert served[2:] == ["W1", "W2", "W3"]


def test_a_waiter_on_a_retired_pool_is_served_by_its_successor(vendor, configure_pool):
    # dispose() while a request waits: the returned connection's place must
    # not open a connection for the retired pool (beyond the process's bound,
    # and on a test database about to be dropped), but send the waiter to the
    # pool that replaced it.
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=10)
    served: list[str] = []
    holder = _Holder(vendor, "H", served)
    holder.start()
    _wait_until(lambda: served == ["H"], "the connection to be lent")
    [retired] = django_pool.registry.pools(vendor)
    waiter = _Holder(vendor, "W", served)
    waiter.start()
    _wait_until(lambda: retired._gate.waiting == 1, "W in line")
    django_pool.dispose(vendor)
    holder.done.set()
    _wait_until(lambda: served == ["H", "W"], "W to be served")
    [successor] = django_pool.registry.pools(vendor)
    assert successor is not retired
    assert retired.status()["connections_num"] == 1  # H's only
    assert successor.status()["in_use"] == 1  # W's
    waiter.done.set()
    for thread in (holder, waiter):
        thread.join()


@pytest.mark.parametrize("vendor", ["postgresql"], indirect=True)
def test_a_connection_that_cannot_be_cleaned_is_logged_with_the_drivers_reason(
    vendor, configure_pool, caplog
):
    # The warning gave the exception's class only ("InterfaceError"); the
    # driver's text says why (a connection another thread was still using).
    configure_pool(vendor, pool_size=1)
    session_id(vendor)
    [pool] = django_pool.registry.pools(vendor)
    connection = connections[vendor].connection
    connection.close()  # closed behind the pool's back: no transaction status any more
    assert pool._clean(connection, idle=False) is False
    [warning] = [r.getMessage() for r in caplog.records if "could not be cleaned" in r.getMessage()]
    assert "could not be cleaned: InterfaceError: " in warning, warning
    connections[vendor].close()
