"""Checkout and checkin cost the server nothing: counted at the socket, not timed."""

import time

import pytest
from django.db import connections
from django.db.utils import load_backend

from django_pool.bench.proxy import RoundTripCounter

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def proxied(server_vendor, configure_pool):
    """Return (alias, counter) with the alias's traffic going through a RoundTripCounter."""
    settings_dict = connections.settings[server_vendor]
    counter = RoundTripCounter((settings_dict["HOST"], int(settings_dict["PORT"])))
    configure_pool(server_vendor, settings={"PORT": str(counter.port)}, pool_size=1, max_overflow=0)
    yield server_vendor, counter
    connections[server_vendor].close()
    counter.close()


def query(alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def test_checkout_and_checkin_send_nothing(proxied):
    alias, counter = proxied
    query(alias)  # opens the one physical connection
    connections[alias].close()
    assert counter.reset()[1] == 1

    for _ in range(20):
        connections[alias].ensure_connection()
        connections[alias].close()
    assert counter.reset() == (0, 0)


def test_a_one_query_request_costs_one_round_trip(proxied):
    alias, counter = proxied
    query(alias)
    connections[alias].close()
    counter.reset()
    for _ in range(20):
        query(alias)
        connections[alias].close()
    assert counter.reset() == (20, 0)


def stock_persistent(alias):
    """Return Django's own backend for *alias*'s settings, with a persistent connection."""
    settings_dict = {**connections.settings[alias], "CONN_MAX_AGE": None, "POOL": None}
    engine = settings_dict["ENGINE"].replace("django_pool.backends", "django.db.backends")
    return load_backend(engine).DatabaseWrapper(settings_dict, alias=f"{alias}_stock")


def atomic_request(connection):
    # What atomic() does for an outermost block (the stock wrapper has no alias
    # in django.db.connections, which atomic() needs).
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.commit()
    connection.set_autocommit(True)
    connection.close_if_unusable_or_obsolete()  # what request_finished does


def test_an_atomic_request_costs_what_a_persistent_connection_costs(proxied):
    alias, counter = proxied
    stock = stock_persistent(alias)
    stock.ensure_connection()
    counter.reset()
    atomic_request(stock)
    floor = counter.reset()[0]
    stock.close()

    query(alias)
    connections[alias].close()
    counter.reset()
    atomic_request(connections[alias])
    assert counter.reset() == (floor, 0)
    # and the next checkout finds it back in autocommit without asking.
    connections[alias].ensure_connection()
    assert connections[alias].get_autocommit()
    connections[alias].close()
    assert counter.reset() == (0, 0)


def test_pre_ping_skips_connections_returned_within_the_window(proxied, configure_pool):
    alias, counter = proxied
    configure_pool(
        alias,
        settings={"PORT": str(counter.port)},
        pool_size=1,
        max_overflow=0,
        pre_ping=True,
        pre_ping_idle=0.05,
    )
    query(alias)
    connections[alias].close()
    counter.reset()
    for _ in range(10):  # a busy pool: each checkout follows a return at once
        connections[alias].ensure_connection()
        connections[alias].close()
    assert counter.reset() == (0, 0)

    time.sleep(0.06)  # idle longer than the window: the next checkout pings
    connections[alias].ensure_connection()
    connections[alias].close()
    assert counter.reset() == (1, 0)


def test_a_direct_init_connection_state_call_still_runs(server_vendor, configure_pool):
    # Skipped at checkout once a physical connection is set up, but a direct
    # call (Django's test_auto_is_null_auto_config makes one) runs it.
    from django.test.utils import CaptureQueriesContext

    if connections[server_vendor].vendor != "mysql":
        pytest.skip("PostgreSQL's connection setup sends nothing when already applied")
    configure_pool(server_vendor, pool_size=1, max_overflow=0)
    query(server_vendor)
    connections[server_vendor].close()
    connection = connections[server_vendor]
    connection.ensure_connection()  # a reused connection: setup skipped
    with CaptureQueriesContext(connection) as captured:
        connection.init_connection_state()
    assert any("ISOLATION LEVEL" in q["sql"].upper() for q in captured.captured_queries)
