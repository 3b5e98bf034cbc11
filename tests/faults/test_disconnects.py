"""Killed sessions: the next request succeeds with pre_ping, at most one fails without."""

import pytest
from django.db import OperationalError, connections
from django.db.backends.signals import connection_created

import django_pool
from tests.helpers import hold_at_once, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def requests(alias, count):
    """Run *count* sequential requests; return (session ids served, failures)."""
    served, failures = [], 0
    for _ in range(count):
        try:
            served.append(session_id(alias))
        except OperationalError:
            failures += 1
        finally:
            connections[alias].close()
    return served, failures


def test_with_pre_ping_no_request_sees_a_killed_session(server, configure_pool):
    configure_pool(server.alias, pool_size=3, max_overflow=0, pre_ping=True, pre_ping_idle=0)
    killed = hold_at_once(server.alias, 3)
    assert server.kill_all() == 3

    served, failures = requests(server.alias, 6)
    assert failures == 0
    assert not set(served) & killed
    assert django_pool.get_stats(server.alias)[server.alias]["pings_failed"] >= 1


def test_without_pre_ping_at_most_one_request_fails(server, configure_pool):
    configure_pool(server.alias, pool_size=3, max_overflow=0, pre_ping=False)
    killed = hold_at_once(server.alias, 3)
    assert server.kill_all() == 3

    served, failures = requests(server.alias, 6)
    assert failures <= 1
    assert len(served) == 6 - failures
    # A dead connection is never served again: every later request ran on a new session.
    assert not set(served) & killed
    stats = django_pool.get_stats(server.alias)[server.alias]
    assert stats["disconnects_num"] == failures


@pytest.mark.parametrize("earlier", [1, 3])
@pytest.mark.parametrize("pre_ping", [True, False])
def test_a_session_killed_right_after_its_last_use_is_never_served(
    server, configure_pool, earlier, pre_ping
):
    # Issue 11.1: the sessions die less than pre_ping_idle (0.5 s) after their
    # last use, so no pre-ping is due; the socket, readable while idle, tells.
    configure_pool(server.alias, pool_size=4, max_overflow=0, pre_ping=pre_ping)
    used = hold_at_once(server.alias, earlier)
    assert server.kill_all() == earlier

    served, failures = requests(server.alias, 3)
    assert failures == 0
    assert not set(served) & used
    stats = django_pool.get_stats(server.alias)[server.alias]
    assert stats["invalidations_by_reason"] == {"dropped by the server": earlier}
    assert stats["disconnects_num"] == 0


def test_conn_health_checks_turns_pre_ping_on(server, configure_pool):
    configure_pool(server.alias, health_checks=True, pool_size=2, max_overflow=0, pre_ping_idle=0)
    killed = hold_at_once(server.alias, 2)
    server.kill_all()
    served, failures = requests(server.alias, 3)
    assert failures == 0 and not set(served) & killed


def test_a_connection_whose_setup_fails_goes_back_at_once(vendor, configure_pool):
    # Anything raising inside connect(), after the checkout (here a
    # connection_created receiver), must not leave the connection lent out.
    configure_pool(vendor, pool_size=1, max_overflow=0, timeout=2)

    def fail(**kwargs):
        raise RuntimeError("setup failed")

    connection_created.connect(fail)
    try:
        with pytest.raises(RuntimeError):
            connections[vendor].ensure_connection()
    finally:
        connection_created.disconnect(fail)
    assert connections[vendor].connection is None
    stats = django_pool.get_stats(vendor)[vendor]
    assert stats["in_use"] == 0 and stats["invalidations_num"] == 1
    assert requests(vendor, 2)[1] == 0  # and the pool of one still serves


def test_a_cursor_used_after_its_block_is_no_disconnect(server, configure_pool):
    # psycopg raises InterfaceError("the cursor is closed"), a programming
    # error: it must not replace the pool's connections as a disconnect would.
    configure_pool(server.alias, pool_size=2, max_overflow=0)
    hold_at_once(server.alias, 2)  # two connections open and idle
    connection = connections[server.alias]
    with connection.cursor() as cursor:
        pass
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error, whatever it is
        cursor.execute("SELECT 1")
    connection.close()
    stats = django_pool.get_stats(server.alias)[server.alias]
    assert stats["disconnects_num"] == 0
    assert stats["invalidations_num"] == 0 and stats["connections_num"] == 2
