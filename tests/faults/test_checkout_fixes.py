"""Each checkout-path hole of issue 11, item 6 (and 4): a test that failed before its fix."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from sqlalchemy.pool import QueuePool

import django_pool
from tests.helpers import session_id

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
            threading_result(lambda: session_id(vendor))
    connections[vendor].close()
    assert threading_result(lambda: session_id(vendor)) is not None  # still served
    # Nothing is lent: every place is free or held by an idle connection.
    [pool] = django_pool.registry.pools(vendor)
    gate = pool._gate
    assert gate.free + gate.idle == gate.capacity == 2


def threading_result(call):
    """Run *call* in a thread (with its own connections); return its result or raise."""
    box: list = []

    def run():
        try:
            box.append(call())
        except BaseException as err:  # noqa: BLE001 - re-raised below
            box.append(err)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]


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
        threading_result(lambda: session_id(vendor))
    connections[vendor].close()
    assert threading_result(lambda: session_id(vendor)) is not None  # once returned: fine


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
