"""POOL['release'] = "transaction": a request holds a connection only while it needs one.

Pitfall #20: a request runs one query, then waits on something slow (an
external API) while holding its connection, and the pool starves. In this
mode the connection goes back as soon as no cursor, no atomic() block and no
open transaction need the same session.
"""

import gc
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import ProgrammingError, connections, transaction
from django.db.backends.signals import connection_created

import django_pool
from django_pool import PoolTimeout
from tests.helpers import run_threads, session_id, sqlite_wrapper
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def stats(alias):
    return django_pool.get_stats(alias)[alias]


def other_thread_gets_a_connection(alias) -> bool:
    """Return whether another thread can check out now (the pool holds one)."""

    def attempt(i):
        try:
            session_id(alias)
        except PoolTimeout:
            return False
        return True

    return run_threads(1, attempt)[0]


@pytest.mark.parametrize(("release", "freed"), [("request", False), ("transaction", True)])
def test_a_request_waiting_on_something_slow_holds_no_connection(
    server_vendor, configure_pool, release, freed
):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release=release)
    Item.objects.using(alias).create(name="saved")  # the request's query...
    # ...and now its slow external call: can another request use the pool?
    assert (connections[alias].connection is None) is freed
    assert other_thread_gets_a_connection(alias) is freed
    # The request goes on where it was, and its save was committed.
    assert list(Item.objects.using(alias).values_list("name", flat=True)) == ["saved"]
    connections[alias].close()
    assert stats(alias)["in_use"] == 0


def test_atomic_runs_on_one_session_and_holds_it_to_the_end(server_vendor, configure_pool):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")
    with transaction.atomic(using=alias):
        first = session_id(alias)
        Item.objects.using(alias).create(name="in atomic")
        assert not other_thread_gets_a_connection(alias)
        assert session_id(alias) == first
    assert connections[alias].connection is None
    assert other_thread_gets_a_connection(alias)
    assert Item.objects.using(alias).count() == 1


def test_an_open_cursor_holds_the_connection(server_vendor, configure_pool):
    alias = server_vendor
    configure_pool(alias, pool_size=2, max_overflow=0, release="transaction")
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        held = session_id(alias)  # another cursor, opened and closed
        Item.objects.using(alias).count()
        assert connection.connection is not None
        assert session_id(alias) == held
    assert connection.connection is None
    assert stats(alias)["in_use"] == 0


def fetch_one(alias, sql):
    """Raw SQL as much code still writes it: the cursor is never closed."""
    cursor = connections[alias].cursor()
    cursor.execute(sql)
    return cursor.fetchone()


def test_a_cursor_dropped_unclosed_holds_the_connection_no_more(server_vendor, configure_pool):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")
    assert fetch_one(alias, "SELECT 1") == (1,)
    # Its cursor is gone with the helper's frame: the connection went back then.
    assert connections[alias].connection is None
    assert stats(alias)["in_use"] == 0
    assert other_thread_gets_a_connection(alias)


def test_a_cursor_the_garbage_collector_frees_frees_the_next_statement(
    server_vendor, configure_pool
):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")
    connection = connections[alias]
    cycle = {"cursor": connection.cursor()}
    cycle["self"] = cycle  # freed by the cyclic collector only, which may run anywhere
    cycle["cursor"].execute("SELECT 1")
    del cycle
    gc.collect()
    # Not given back from inside the collector; but it no longer counts as
    # open, so the next statement's end gives the connection back.
    assert Item.objects.using(alias).count() == 0
    assert connection.connection is None
    assert other_thread_gets_a_connection(alias)


def test_a_collection_in_another_thread_does_not_hold_this_threads_connection(
    server_vendor, configure_pool
):
    # Thread A is inside the cyclic collector (a finalizer that waits, with
    # the GIL released) while this thread drops its cursor in its own code:
    # only A's collection is A's business.
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")
    assert fetch_one(alias, "SELECT 1") == (1,)  # (the collector hook is in place)
    in_collection, finish = threading.Event(), threading.Event()

    class WaitsWhenCollected:
        def __del__(self):
            in_collection.set()
            finish.wait(10)

    def collect():
        garbage = WaitsWhenCollected()
        garbage.cycle = garbage
        del garbage
        gc.collect()

    collector = threading.Thread(target=collect)
    collector.start()
    try:
        assert in_collection.wait(10)
        assert fetch_one(alias, "SELECT 2") == (2,)
        assert connections[alias].connection is None
        assert stats(alias)["in_use"] == 0
    finally:
        finish.set()
        collector.join()


@pytest.mark.parametrize("closed", [False, True], ids=["unclosed", "closed"])
def test_a_connection_created_receivers_cursor_gives_nothing_back_mid_checkout(
    server_vendor, configure_pool, closed
):
    # A receiver running a statement on each new connection, its cursor left
    # unclosed (a common idiom) or closed: on a connection the pool had set
    # up already, the receiver's cursor gave the connection back inside
    # connect(), and atomic() then ran on no connection (AttributeError).
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")

    def on_connect(sender, connection, **kwargs):
        if connection.alias != alias:
            return
        if closed:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        else:
            connection.cursor().execute("SELECT 1")

    connection_created.connect(on_connect)
    try:
        assert Item.objects.using(alias).count() == 0  # the first checkout opens it
        assert connections[alias].connection is None
        for name in ("a", "b"):  # later checkouts reuse it: atomic() asks for it first
            with transaction.atomic(using=alias):
                Item.objects.using(alias).create(name=name)
        assert connections[alias].connection is None
    finally:
        connection_created.disconnect(on_connect)
    assert sorted(Item.objects.using(alias).values_list("name", flat=True)) == ["a", "b"]


def test_iterating_a_queryset_holds_the_connection_to_the_end(server_vendor, configure_pool):
    # On PostgreSQL, iterator() reads through a server-side cursor that only
    # exists in its own session; on MySQL a chunked read is a cursor too.
    alias = server_vendor
    configure_pool(alias, pool_size=2, max_overflow=0, release="transaction")
    Item.objects.using(alias).bulk_create(Item(name=f"item {i}") for i in range(7))
    connection = connections[alias]
    held, renamed = [], []
    for item in Item.objects.using(alias).order_by("pk").iterator(chunk_size=2):
        held.append(connection.connection)
        Item.objects.using(alias).filter(pk=item.pk).update(name=item.name.upper())
        renamed.append(item.name)
    assert renamed == [f"item {i}" for i in range(7)]
    assert len(set(map(id, held))) == 1 and held[0] is not None
    assert connection.connection is None
    assert Item.objects.using(alias).filter(name__startswith="ITEM").count() == 7


def test_on_commit_callbacks_run_on_the_transactions_connection(server_vendor, configure_pool):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")
    seen = []
    with transaction.atomic(using=alias):
        Item.objects.using(alias).create(name="committed")
        transaction.on_commit(lambda: seen.append(Item.objects.using(alias).count()), using=alias)
    assert seen == [1]
    assert connections[alias].connection is None
    assert other_thread_gets_a_connection(alias)


def test_after_an_error_the_connection_is_judged_then_given_back(server_vendor, configure_pool):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, release="transaction")
    before = session_id(alias)
    with pytest.raises(ProgrammingError), connections[alias].cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")
    # Django's is_usable() said yes: back in the pool, not discarded.
    assert connections[alias].connection is None
    assert session_id(alias) == before
    assert stats(alias).get("invalidations_num", 0) == 0


def test_set_autocommit_false_holds_until_it_is_turned_back_on(server_vendor, configure_pool):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, timeout=0.2, release="transaction")
    transaction.set_autocommit(False, using=alias)
    try:
        Item.objects.using(alias).create(name="manual")
        assert not other_thread_gets_a_connection(alias)
        transaction.commit(using=alias)
    finally:
        transaction.set_autocommit(True, using=alias)
    assert connections[alias].connection is None
    assert other_thread_gets_a_connection(alias)
    assert Item.objects.using(alias).count() == 1


def test_a_query_run_on_connecting_does_not_take_the_connection_away(
    server_vendor, configure_pool, monkeypatch
):
    # Code that runs a query of its own once connected, between Django's
    # ensure_connection() and the cursor it is opening (Django's
    # AssertNumQueriesUponConnectionTests does), must find the connection there.
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, release="transaction")
    connection = connections[alias]
    real_ensure_connection = connection.ensure_connection

    def ensure_and_configure():
        opening = connection.connection is None
        real_ensure_connection()
        if opening:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

    monkeypatch.setattr(connection, "ensure_connection", ensure_and_configure)
    assert Item.objects.using(alias).count() == 0
    assert connection.connection is None


def test_conn_max_age_none_written_on_a_live_connection_keeps_it(
    server_vendor, configure_pool, monkeypatch
):
    # Django's rule for what code writes on a live connection (its own tests
    # do): CONN_MAX_AGE=None keeps the connection, across statements too, and
    # its health check runs once per request, not once per statement.
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, release="transaction", health_checks=True)
    connection = connections[alias]
    connection.settings_dict["CONN_MAX_AGE"] = None  # configure_pool restores it
    checks = []
    real_is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or real_is_usable())
    first = session_id(alias)
    assert session_id(alias) == session_id(alias) == first
    assert connection.connection is not None
    assert checks == []  # a new connection is healthy; no request ended yet
    connection.close_if_unusable_or_obsolete()  # request_finished
    assert session_id(alias) == session_id(alias) == first
    assert checks == [1]


def test_many_threads_share_a_small_pool(server_vendor, configure_pool):
    # 8 threads, each pausing between queries, on 2 connections: none waits
    # for another's pause, so none times out.
    alias = server_vendor
    configure_pool(alias, pool_size=2, max_overflow=0, timeout=5, release="transaction")
    pause = threading.Barrier(8, timeout=30)

    def request(i):
        Item.objects.using(alias).create(name=f"thread {i}")
        pause.wait()  # every thread is between its queries at once
        return Item.objects.using(alias).filter(name=f"thread {i}").count()

    assert run_threads(8, request) == [1] * 8
    assert stats(alias)["connections_num"] <= 2


def test_sqlite_refuses_it(tmp_path, django_db_blocker):
    wrapper = sqlite_wrapper(str(tmp_path / "db.sqlite3"), "local", POOL={"release": "transaction"})
    with django_db_blocker.unblock(), pytest.raises(ImproperlyConfigured) as info:
        wrapper.ensure_connection()
    assert "settings.DATABASES['local']['POOL']['release']" in str(info.value)
    assert "SQLite" in str(info.value)


def test_manage_refuses_it():
    import sqlite3

    with pytest.raises(ImproperlyConfigured, match=r"manage\(\)\['release'\]"):
        django_pool.manage(sqlite3, release="transaction")
