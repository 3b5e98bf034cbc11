"""Connections age out (recycle, with jitter) and are taken back from threads that died."""

import gc
import logging
import threading
import time

import pytest
from django.db import OperationalError, connections
from django.db.utils import load_backend

import django_pool
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def stats(alias):
    return django_pool.get_stats(alias)[alias]


def test_recycle_replaces_an_old_connection_at_checkout(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, recycle=0.05, recycle_jitter=0)
    session_id(vendor)
    connections[vendor].close()
    time.sleep(0.06)  # now older than recycle
    session_id(vendor)
    assert stats(vendor)["recycles_num"] == 1
    assert stats(vendor)["connections_num"] == 2


def test_recycle_closes_an_old_connection_at_return(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0, recycle=0.05, recycle_jitter=0)
    session_id(vendor)
    time.sleep(0.06)  # it ages while lent out
    connections[vendor].close()
    assert stats(vendor)["open"] == 0
    assert stats(vendor)["invalidations_num"] == 1


def test_jitter_takes_up_to_its_fraction_off_recycle(configure_pool):
    configure_pool("default", pool_size=8, max_overflow=0, recycle=100, recycle_jitter=0.5)
    deadlines = []
    all_holding = threading.Barrier(8)  # eight connections open at once

    def grab(results):
        connection = connections["default"]
        connection.ensure_connection()
        state = connection._pool_lease.state
        results.append(state.recycle_at - state.born)
        all_holding.wait()

    threads = []
    for _ in range(8):
        thread = threading.Thread(target=lambda: (grab(deadlines), connections.close_all()))
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    assert all(50 <= d <= 100 for d in deadlines)
    assert len(set(deadlines)) > 1  # not one herd


def test_1000_threads_that_die_holding_a_connection(server, configure_pool):
    # Each thread takes a connection and ends without giving it back. With
    # the garbage collector off, the pool itself must take them back.
    alias = server.alias
    configure_pool(alias, pool_size=4, max_overflow=0, timeout=10)
    most_seen = 0
    failures = []

    def leaky():
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as err:  # noqa: BLE001 - collected for the assertion
            failures.append(err)

    gc.disable()
    try:
        for i in range(1000):
            thread = threading.Thread(target=leaky)
            thread.start()
            thread.join()
            if failures:
                break
            if i % 100 == 0:
                most_seen = max(most_seen, server.count())
    finally:
        gc.enable()
    assert not failures
    assert most_seen <= 4
    assert server.count() <= 4
    assert stats(alias)["in_use"] <= 4


def test_connect_errors_name_the_alias_and_never_the_password(server_vendor, django_db_blocker):
    # Refused: tried again until POOL['timeout'], then the last error.
    settings = {
        **connections.settings[server_vendor],
        "PORT": "1",
        "PASSWORD": "hunter2-secret",
        "POOL": {"timeout": 0.5},
    }
    wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="unreachable")
    started = time.monotonic()
    with django_db_blocker.unblock(), pytest.raises(OperationalError) as info:
        wrapper.ensure_connection()
    assert time.monotonic() - started < 0.5 + 1.5  # the timeout, not a hang
    message = str(info.value)
    assert "database 'unreachable': cannot open a connection" in message
    assert "gave up after" in message
    assert "settings.DATABASES['unreachable']['POOL']['timeout'] = 0.5 s" in message
    assert "hunter2-secret" not in message
    # It tried again, with backoff: pauses from 25-50 ms doubling, so 4 or 5
    # attempts in 0.5 s (a loop without pauses would make hundreds).
    assert 2 <= stats("unreachable")["connections_errors"] <= 6
    assert wrapper.connection is None
    django_pool.dispose("unreachable")


def test_timeout_bounds_connect_retries_with_any_pool_class(server_vendor, django_db_blocker):
    # NullPool has no connection to wait for, but a refused connect still
    # waits for the server, up to its timeout.
    settings = {
        **connections.settings[server_vendor],
        "PORT": "1",
        "POOL": {"pool_class": "null", "timeout": 0.3},
    }
    wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="unpooled")
    started = time.monotonic()
    with django_db_blocker.unblock(), pytest.raises(OperationalError) as info:
        wrapper.ensure_connection()
    assert time.monotonic() - started < 0.3 + 1.5
    assert "['POOL']['timeout'] = 0.3 s" in str(info.value)
    django_pool.dispose("unpooled")


@pytest.mark.parametrize(
    "mistake", ["unknown database", "unknown user", "unknown user 1698", "impossible option"]
)
def test_connect_errors_waiting_cannot_fix_fail_at_once(server_vendor, django_db_blocker, mistake):
    # Waiting for a failover cannot fix these: no retry, whatever the timeout.
    # (A wrong password: tests/deployment_pg, on a server that asks for one.)
    settings = {**connections.settings[server_vendor], "POOL": {"timeout": 20}}
    mysql = connections[server_vendor].vendor == "mysql"
    if mistake == "unknown database":
        settings["NAME"] = "django_pool_no_such_database"
    elif mistake == "impossible option":  # a value the client library refuses
        extra = {"sslmode": "bogus"}
        if mysql:  # (PyMySQL fails on an unknown charset with an AttributeError)
            mysqlclient = connections[server_vendor].Database.__name__ == "MySQLdb"
            extra = {"charset": "nonesuch"} if mysqlclient else {"init_command": "SELEC 1"}
        settings["OPTIONS"] = {**settings.get("OPTIONS", {}), **extra}
    elif mysql and mistake == "unknown user 1698":
        # MariaDB answers some unknown names, without a password, with 1698.
        settings["USER"] = "django_pool_nouser"
    elif mysql:
        settings["USER"] = "django_pool_no_such_user"  # 1045 access denied
    else:
        settings["USER"] = "django_pool_no_such_role"  # 28000
    wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias="mistaken")
    started = time.monotonic()
    with django_db_blocker.unblock(), pytest.raises(OperationalError) as info:
        wrapper.ensure_connection()
    assert time.monotonic() - started < 2
    assert "database 'mistaken': cannot open a connection" in str(info.value)
    assert "gave up after" not in str(info.value)
    assert stats("mistaken")["connections_errors"] == 1
    django_pool.dispose("mistaken")


def test_a_refused_login_is_logged_once_not_per_request(server_vendor, django_db_blocker, caplog):
    # A rotated password fails every request at once: django_pool's logger
    # said nothing, and one line per request would flood it.
    settings = {**connections.settings[server_vendor], "NAME": "django_pool_no_such_database"}
    alias = f"refused_{server_vendor}"  # (the log's pace is per alias)
    caplog.set_level(logging.WARNING, logger="django_pool.pool")
    with django_db_blocker.unblock():
        for _ in range(3):
            wrapper = load_backend(settings["ENGINE"]).DatabaseWrapper(settings, alias=alias)
            with pytest.raises(OperationalError):
                wrapper.ensure_connection()
    said = [r.getMessage() for r in caplog.records if "refused a connection" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith(f"database '{alias}': the server refused a connection")
    assert stats(alias)["checkout_errors_num"] == 3
    django_pool.dispose(alias)
