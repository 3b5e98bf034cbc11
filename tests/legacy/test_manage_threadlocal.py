"""manage(use_threadlocal=True): a thread's nested connect() shares the connection it holds."""

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured

import django_pool
from tests.legacy.test_activation_and_manage import dbapi

DRIVERS = ["sqlite3", "psycopg", "MySQLdb"]


def session_of(connection) -> object:
    """Return the server's id of *connection*'s session (SQLite: the raw connection)."""
    raw = connection._connection
    module = type(raw).__module__
    if "sqlite3" in module:  # the standard library's, or pysqlite3 (the alt run)
        return raw
    sql = "SELECT pg_backend_pid()" if module.startswith("psycopg") else "SELECT CONNECTION_ID()"
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        cursor.close()


@pytest.fixture(params=DRIVERS)
def managed(request):
    """Return (counted module, connect kwargs, manage) for one driver; dispose after."""
    if request.param == "psycopg":
        pytest.importorskip("psycopg")
    module, kwargs, _ = dbapi(request.param)
    made = []

    def manage(**options):
        pooled = django_pool.manage(module, **options)
        made.append(pooled)
        return pooled

    yield module, kwargs, manage
    for pooled in made:
        pooled.dispose()
    assert module.now() == 0


def test_nested_connect_returns_the_held_connection(managed):
    module, kwargs, manage = managed
    # One connection in the pool and no overflow: a second checkout would
    # wait out the timeout. Sharing needs none.
    pooled = manage(pool_size=1, max_overflow=0, timeout=2)
    outer = pooled.connect(**kwargs)
    inner = pooled.connect(**kwargs)
    assert inner is outer
    assert module.now() == 1
    [stats] = pooled.get_stats().values()
    assert stats["checkouts_num"] == 1 and stats["in_use"] == 1

    inner.close()  # not the last holder: the connection stays checked out
    assert session_of(outer) is not None
    [stats] = pooled.get_stats().values()
    assert stats["in_use"] == 1

    outer.close()  # the last holder: back to the pool
    [stats] = pooled.get_stats().values()
    assert stats["in_use"] == 0 and stats["checkins_num"] == 1
    with pytest.raises(module.InterfaceError, match="was closed"):
        outer.cursor()
    with pytest.raises(module.InterfaceError, match="was closed"):
        outer.autocommit = True
    outer.close()  # a second close does nothing

    again = pooled.connect(**kwargs)  # a new checkout, of the pooled connection
    assert again is not outer and again._connection is not None
    again.close()


def test_nested_code_runs_on_the_outer_session(managed):
    module, kwargs, manage = managed
    pooled = manage(pool_size=2, max_overflow=0, timeout=5)

    def nested_work():
        connection = pooled.connect(**kwargs)
        try:
            return session_of(connection)
        finally:
            connection.close()

    outer = pooled.connect(**kwargs)
    try:
        assert nested_work() == session_of(outer)
    finally:
        outer.close()


def test_other_threads_and_arguments_get_their_own(managed):
    module, kwargs, manage = managed
    pooled = manage(pool_size=2, max_overflow=0, timeout=5)
    mine = pooled.connect(**kwargs)
    theirs = []

    def other_thread():
        connection = pooled.connect(**kwargs)
        theirs.append(session_of(connection))
        connection.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert theirs and theirs[0] != session_of(mine)

    own = pooled.unique_connection(**kwargs)  # bypasses sharing
    assert own is not mine and session_of(own) != session_of(mine)
    own.close()
    mine.close()


def test_use_threadlocal_false_gives_a_connection_per_call(managed):
    module, kwargs, manage = managed
    pooled = manage(use_threadlocal=False, pool_size=2, max_overflow=0, timeout=5)
    first = pooled.connect(**kwargs)
    second = pooled.connect(**kwargs)
    assert first is not second and session_of(first) != session_of(second)
    first.close()
    second.close()


def test_a_dropped_connection_is_not_shared_again(managed):
    module, kwargs, manage = managed
    pooled = manage(pool_size=1, max_overflow=0, timeout=5)
    connection = pooled.connect(**kwargs)
    connection.close()
    fresh = pooled.connect(**kwargs)
    assert fresh is not connection  # returned: never handed out again
    fresh.close()


def test_use_threadlocal_must_be_a_bool():
    import sqlite3

    with pytest.raises(ImproperlyConfigured, match=r"manage\(\)\['use_threadlocal'\]"):
        django_pool.manage(sqlite3, use_threadlocal="yes")
