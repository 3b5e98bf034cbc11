"""The fast path: a parked connection taken back by its thread, and what it must keep.

A wrapper whose connection already ran Django's setup skips Django's
``connect()`` and resets only what that method resets (``_adopt``). These tests
hold it to that, and hold the guarantees the fast path must not weaken: the
bound, first come first served, and reclaim from dead threads, with 32 threads.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import threading
from unittest import mock

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

import django_pool
from django_pool.wrapper import PooledDatabaseWrapperMixin
from tests.helpers import run_threads, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def assigned_attributes(function) -> set[str]:
    """Return the ``self.<name>`` attributes *function*'s body assigns."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return {
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    }


def test_adopt_resets_what_djangos_connect_resets():
    # If a Django release makes connect() reset one more attribute, this
    # fails: _adopt() must learn it too. set_autocommit() sets autocommit.
    django = assigned_attributes(BaseDatabaseWrapper.connect) | {"autocommit"}
    ours = assigned_attributes(PooledDatabaseWrapperMixin._adopt)
    assert django <= ours, sorted(django - ours)
    # (_pool_connecting: the guard around connection_created, as in Django's connect().)
    assert ours - django <= {"run_commit_hooks_on_set_autocommit_on", "_pool_connecting"}


STATE = (
    "in_atomic_block",
    "savepoint_ids",
    "atomic_blocks",
    "needs_rollback",
    "health_check_enabled",
    "closed_in_transaction",
    "errors_occurred",
    "health_check_done",
    "autocommit",
    "run_on_commit",
)


def test_a_taken_back_connection_leaves_the_wrapper_as_a_new_one(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0)
    connection = connections[vendor]
    connection.ensure_connection()  # a new physical connection: Django's connect()
    fresh = {name: getattr(connection, name) for name in STATE}
    raw = connection.connection
    connection.close()
    connection.ensure_connection()  # taken back: the fast path
    assert connection.connection is raw
    assert {name: getattr(connection, name) for name in STATE} == fresh
    assert connection.close_at is not None
    stats = django_pool.get_stats(vendor)[vendor]
    assert (stats["connections_num"], stats["checkouts_num"]) == (1, 2)


def test_a_parked_connection_is_taken_by_another_thread_when_none_is_free(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=5)
    mine = session_id(vendor)
    connections[vendor].close()  # parked, still this thread's first choice
    [theirs] = run_threads(1, lambda i: (session_id(vendor), connections[vendor].close())[0])
    assert theirs == mine  # the same physical connection, not a second one
    assert session_id(vendor) == mine  # and back to this thread after
    assert django_pool.get_stats(vendor)[vendor]["connections_num"] == 1


def test_32_threads_keep_the_bound_and_dead_threads_give_back(server, configure_pool):
    alias = server.alias
    configure_pool(alias, pool_size=8, max_overflow=0, timeout=30)

    def leak():
        session_id(alias)  # and end holding it

    leakers = [threading.Thread(target=leak) for _ in range(4)]
    for thread in leakers:
        thread.start()
    for thread in leakers:
        thread.join()
    witness = threading.Lock()
    peak = [0]

    def requests(i):
        for _ in range(10):
            session_id(alias)
            with witness:  # one witness connection, shared by the threads
                peak[0] = max(peak[0], server.count())
            connections[alias].close()

    # 32 threads, 8 places, 4 of them lent to ended threads: the waiters take
    # those back, once each, and the server never sees more than 8.
    run_threads(32, requests)
    stats = django_pool.get_stats(alias)[alias]
    assert peak[0] <= 8
    assert stats["checkouts_num"] == 4 + 320
    assert stats["connections_num"] <= 8 + 4
    assert stats["invalidations_by_reason"] == {"thread ended": 4}
    assert stats["invalidations_num"] == 4
    assert stats["in_use"] == 0


def test_a_connection_another_wrapper_used_meanwhile_is_prepared_again(vendor, configure_pool):
    # State a wrapper caches about its connection (django-tenants' search_path
    # with TENANT_LIMIT_SET_CALLS) holds only if nobody else used it since.
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=5)
    connection = connections[vendor]
    prepared = []
    prepare = connection.prepare_pooled_connection
    connection.prepare_pooled_connection = lambda raw: (prepared.append(raw), prepare(raw))
    try:
        mine = session_id(vendor)  # a new connection: prepared as it opens
        connection.close()
        prepared.clear()
        assert session_id(vendor) == mine  # taken back: nothing to prepare
        connection.close()
        assert prepared == []
        run_threads(1, lambda i: session_id(vendor))  # another wrapper uses it
        assert session_id(vendor) == mine  # the same connection, but used meanwhile
        assert len(prepared) == 1
    finally:
        del connection.prepare_pooled_connection
        connection.close()


# The request end settles the common case itself (no error, autocommit as
# configured, outside atomic()), without Django's close() chain. What that
# chain would have done must still happen.


def request_end(alias):
    """What ``request_finished`` does to one connection."""
    connections[alias].close_if_unusable_or_obsolete()


def test_a_backend_that_overrides_close_has_it_run_at_request_end(vendor, monkeypatch):
    # django-tenants' close() forgets the search_path it cached for the
    # connection: a request end that skipped it would leave the cache stale.
    connection = connections[vendor]
    closed = []

    class Tenantish(type(connection)):
        def close(self):
            closed.append(self.connection)
            super().close()

    monkeypatch.setattr(connection, "__class__", Tenantish)
    connection.ensure_connection()
    raw = connection.connection
    request_end(vendor)
    assert closed == [raw]
    assert connection.connection is None
    assert django_pool.get_stats(vendor)[vendor]["in_use"] == 0


def test_a_driver_left_out_of_autocommit_behind_djangos_back_is_restored(vendor, configure_pool):
    # Django believes autocommit is on; the driver says otherwise. The next
    # borrower must not get a connection that opens transactions it never ends.
    configure_pool(vendor, pool_size=1, max_overflow=0)
    connection = connections[vendor]
    connection.ensure_connection()
    raw = connection.connection
    connection.pool_driver.set_autocommit(raw, False)
    request_end(vendor)
    connection.ensure_connection()
    assert connection.connection is raw
    assert connection.pool_driver.autocommit(raw) is True


def test_a_request_end_in_another_thread_is_refused_as_django_refuses_it(vendor):
    from django.db import DatabaseError

    connection = connections[vendor]
    connection.ensure_connection()
    with pytest.raises(DatabaseError, match="can only be used in that same thread"):
        run_threads(1, lambda i: connection.close_if_unusable_or_obsolete())
    assert connection.connection is not None  # still this thread's
    request_end(vendor)
    assert django_pool.get_stats(vendor)[vendor]["in_use"] == 0


def test_an_interrupted_checkin_at_request_end_leaves_no_connection(vendor, configure_pool):
    # As Django's close() does in its finally: a KeyboardInterrupt (or a
    # gevent.Timeout) inside the checkin must not leave the wrapper holding
    # a connection the pool may lend to somebody else.
    def reset_session(raw):
        raise KeyboardInterrupt

    configure_pool(vendor, reset_session=reset_session)
    connection = connections[vendor]
    connection.ensure_connection()
    with pytest.raises(KeyboardInterrupt):
        request_end(vendor)
    assert connection.connection is None


def test_a_request_end_inside_an_event_loop_is_refused_as_django_refuses_it(vendor):
    from django.core.exceptions import SynchronousOnlyOperation

    connection = connections[vendor]
    connection.ensure_connection()

    async def end():
        connection.close_if_unusable_or_obsolete()  # this thread's wrapper, in the loop

    with pytest.raises(SynchronousOnlyOperation):
        asyncio.run(end())
    request_end(vendor)
    assert connection.connection is None


def test_a_close_patched_on_the_class_after_a_request_end_runs_at_the_next(vendor):
    connection = connections[vendor]
    connection.ensure_connection()
    request_end(vendor)  # the class is judged plain
    connection.ensure_connection()
    original = type(connection).close
    with mock.patch.object(type(connection), "close", autospec=True, side_effect=original) as close:
        request_end(vendor)
    assert close.called
    assert connection.connection is None
