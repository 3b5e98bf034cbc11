"""Connections used outside a request find their way back to the pool."""

import threading

import pytest
from django.db import DatabaseError, connections

import django_pool
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def in_thread(target):
    thread = threading.Thread(target=target)
    thread.start()
    thread.join()


def test_release_connections_as_decorator_and_context_manager(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=1)

    @django_pool.release_connections()
    def task():
        session_id(vendor)

    in_thread(task)
    assert django_pool.get_stats(vendor)[vendor]["in_use"] == 0

    def block():
        with django_pool.release_connections():
            session_id(vendor)

    in_thread(block)
    stats = django_pool.get_stats(vendor)[vendor]
    assert stats["in_use"] == 0 and stats["connections_num"] == 1


def test_release_connections_without_parentheses(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=1)

    @django_pool.release_connections
    def task(value):
        """Keeps its name and docstring."""
        session_id(vendor)
        return value

    results = []
    in_thread(lambda: results.append(task(42)))
    assert results == [42] and task.__name__ == "task"
    assert django_pool.get_stats(vendor)[vendor]["in_use"] == 0


def test_a_thread_that_dies_holding_a_connection_does_not_leak_it(vendor, configure_pool, caplog):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=1)

    def leaky():
        connection = connections[vendor]
        connection.set_autocommit(False)  # and dirty: a transaction left open
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO testapp_item (name) VALUES ('orphan')")

    in_thread(leaky)
    # The next checkout finds the pool exhausted and takes the connection back
    # from the dead thread: closed (its state is unknown), never reused.
    with connections[vendor].cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM testapp_item")
        assert cursor.fetchone()[0] == 0  # the open transaction was not committed
    assert connections[vendor].get_autocommit()
    assert "ended without returning its connection; closing it" in caplog.text
    stats = django_pool.get_stats(vendor)[vendor]
    assert stats["invalidations_by_reason"] == {"thread ended": 1}
    assert (stats["connections_num"], stats["in_use"]) == (2, 1)


def test_a_wrapper_of_another_thread_opens_no_connection(vendor, configure_pool):
    # Django refuses it at the first cursor, after connecting: under gevent
    # patched after gunicorn's --preload every request opened a server
    # connection, then failed with this error and discarded it.
    configure_pool(vendor, pool_size=2)
    wrapper = connections[vendor]  # this thread's
    errors = []

    def use_it():
        try:
            wrapper.cursor()
        except DatabaseError as err:
            errors.append(str(err))

    in_thread(use_it)
    assert errors and "can only be used in that same thread" in errors[0]
    assert django_pool.get_stats(vendor)[vendor]["connections_num"] == 0
    wrapper.close()


@pytest.mark.parametrize("how", ["decorator", "async with"])
def test_return_connections_on_async_code(vendor, configure_pool, how):
    # On an async def it did nothing: its exit ran before the coroutine, in
    # the event loop's thread, while the async ORM's connection is in the
    # thread its sync_to_async calls use.
    import asyncio

    from tests.testapp.models import Item

    configure_pool(vendor, pool_size=2)

    async def job():
        return await Item.objects.using(vendor).acount()

    if how == "decorator":
        job = django_pool.return_connections(job)
        assert asyncio.run(job()) >= 0
    else:

        async def run():
            async with django_pool.return_connections():
                return await job()

        assert asyncio.run(run()) >= 0
    stats = django_pool.get_stats(vendor)[vendor]
    assert stats["checkouts_num"] >= 1
    assert stats["in_use"] == 0
