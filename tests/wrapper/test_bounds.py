"""The pool's bound holds under any thread count, and waiting for it is bounded."""

import threading

import pytest
from django.db import OperationalError, connections

import django_pool
from django_pool import PoolTimeout
from tests.helpers import run_threads, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_32_threads_on_4_connections_never_exceed_4(server, configure_pool):
    alias = server.alias
    configure_pool(alias, pool_size=4, max_overflow=0)
    seen_by_server: list[int] = []

    def requests(i):
        sessions = set()
        for _ in range(10):
            sessions.add(session_id(alias))
            seen_by_server.append(server_count())
            connections[alias].close()
        return sessions

    lock = threading.Lock()

    def server_count():
        with lock:  # one witness connection, shared by the threads
            return server.count()

    sessions = set().union(*run_threads(32, requests))
    # The server's own session ids: every request ran on one of at most 4.
    assert len(sessions) <= 4
    assert max(seen_by_server) <= 4
    stats = django_pool.get_stats(alias)[alias]
    assert stats["checkouts_num"] == 320
    assert stats["connections_num"] <= 4


def test_sqlite_bound(configure_pool):
    configure_pool("default", pool_size=2, max_overflow=1)

    def requests(i):
        for _ in range(20):
            session_id("default")
            connections["default"].close()

    run_threads(16, requests)
    stats = django_pool.get_stats("default")["default"]
    assert stats["checkouts_num"] == 320
    assert stats["open"] <= 3


def test_an_exhausted_pool_raises_pooltimeout_naming_the_numbers(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=0.2)
    session_id(vendor)  # this thread holds the only connection

    def second_request(i):
        with pytest.raises(PoolTimeout) as info:
            session_id(vendor)
        return info.value

    error = run_threads(1, second_request)[0]
    assert isinstance(error, OperationalError)
    message = str(error)
    assert f"database {vendor!r}" in message
    assert "within 0.2 s" in message
    assert "pool_size=1, in use=1, others waiting=0, overflow=0 of max_overflow=0" in message
    assert f"settings.DATABASES[{vendor!r}]['POOL']['pool_size']" in message
    assert type(error).__module__ == "django_pool"
    assert django_pool.get_stats(vendor)[vendor]["timeouts_num"] == 1
    # The holder is unaffected and the pool works once it is returned.
    connections[vendor].close()
    run_threads(1, lambda i: session_id(vendor))
