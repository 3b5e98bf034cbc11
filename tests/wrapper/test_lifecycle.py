"""A request's connection: checked out raw, committed for real, returned clean."""

import pytest
from django.db import connections, transaction
from django.db.backends.base.base import NO_DB_ALIAS
from sqlalchemy.pool import PoolProxiedConnection

import django_pool
from django_pool import registry
from django_pool.wrapper import unpooled
from tests.helpers import session_id
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def stats(alias):
    return django_pool.get_stats(alias)[alias]


def names_seen_elsewhere(alias):
    """Return the Item names as a connection outside the pool sees them."""
    with unpooled():
        other = connections[alias].copy()
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT name FROM testapp_item ORDER BY name")
                return [row[0] for row in cursor.fetchall()]
        finally:
            other.close()


def test_django_works_on_the_raw_driver_connection(vendor):
    connection = connections[vendor]
    connection.ensure_connection()
    assert not isinstance(connection.connection, PoolProxiedConnection)
    assert type(connection.connection).__module__.split(".")[0] in {
        "psycopg",
        "psycopg2",
        "MySQLdb",
        "pymysql",
        "sqlite3",
    }


def test_a_save_in_autocommit_is_visible_from_another_connection(vendor):
    Item.objects.using(vendor).create(name="saved")
    # The save must be committed while this request still holds its connection.
    assert names_seen_elsewhere(vendor) == ["saved"]


def test_atomic_commits_and_rolls_back(vendor):
    with transaction.atomic(using=vendor):
        Item.objects.using(vendor).create(name="kept")
    with pytest.raises(ZeroDivisionError), transaction.atomic(using=vendor):
        Item.objects.using(vendor).create(name="lost")
        1 / 0  # noqa: B018
    assert names_seen_elsewhere(vendor) == ["kept"]


def test_a_returned_connection_is_reused(vendor):
    first = session_id(vendor)
    connections[vendor].close()
    assert session_id(vendor) == first
    connections[vendor].close()
    assert stats(vendor)["connections_num"] == 1
    assert stats(vendor)["checkouts_num"] == 2


def test_autocommit_off_and_open_transaction_reach_the_next_request_clean(vendor, configure_pool):
    configure_pool(vendor, pool_size=1, max_overflow=0)
    connection = connections[vendor]
    first = session_id(vendor)
    connection.set_autocommit(False)
    Item.objects.using(vendor).create(name="never committed")
    connection.close()  # the request ends without commit, autocommit off

    assert session_id(vendor) == first  # the same physical connection...
    assert connection.get_autocommit() is True  # ...in autocommit again
    assert not connection.pool_driver.in_transaction(connection.connection)
    assert not Item.objects.using(vendor).exists()  # the work was rolled back
    assert names_seen_elsewhere(vendor) == []


@pytest.mark.parametrize("start", ["BEGIN", "START TRANSACTION"])
def test_a_transaction_opened_with_raw_sql_is_rolled_back(vendor, configure_pool, start):
    connection = connections[vendor]
    if connection.vendor == "mysql":
        pytest.skip("MySQL drivers cannot tell an open transaction without a round trip (docs)")
    if start == "START TRANSACTION" and connection.vendor == "sqlite":
        pytest.skip("SQLite has no START TRANSACTION")
    configure_pool(vendor, pool_size=1, max_overflow=0)
    with connection.cursor() as cursor:
        cursor.execute(start)
        cursor.execute("INSERT INTO testapp_item (name) VALUES ('raw')")
    connection.close()
    connection.ensure_connection()
    assert not connection.pool_driver.in_transaction(connection.connection)
    assert not Item.objects.using(vendor).exists()


def test_closing_inside_atomic_closes_the_connection_for_real(vendor):
    with transaction.atomic(using=vendor):
        Item.objects.using(vendor).create(name="doomed")
        connections[vendor].close()
    assert stats(vendor)["invalidations_num"] == 1
    assert stats(vendor)["idle"] == 0
    assert names_seen_elsewhere(vendor) == []


def test_stock_setup_survives_on_a_reused_connection(vendor):
    connection = connections[vendor]
    connection.ensure_connection()
    connection.close()
    with connection.cursor() as cursor:  # second checkout: no new physical connection
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA foreign_keys")
            assert cursor.fetchone()[0] == 1
            # A function Django registers on each new sqlite3 connection.
            cursor.execute("SELECT django_date_extract('year', '2024-05-06')")
            assert cursor.fetchone()[0] == 2024
        elif connection.vendor == "postgresql":
            cursor.execute("SHOW TIME ZONE")
            assert cursor.fetchone()[0] == "UTC"
            assert connection.isolation_level is not None
        else:
            cursor.execute("SELECT @@SESSION.tx_isolation, @@SESSION.sql_auto_is_null")
            assert cursor.fetchone() == ("READ-COMMITTED", 0)
    assert stats(vendor)["connections_num"] == 1


def test_postgresql_isolation_level_option_applies_to_reused_connections(configure_pool):
    from django.db.backends.postgresql.psycopg_any import IsolationLevel

    from tests.conftest import _require

    _require("postgresql")
    settings_dict = connections.settings["postgresql"]
    configure_pool("postgresql")
    settings_dict["OPTIONS"] = {"isolation_level": IsolationLevel.REPEATABLE_READ}
    connection = connections["postgresql"]
    for _ in range(2):
        with transaction.atomic(using="postgresql"), connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            assert cursor.fetchone()[0] == "repeatable read"
        assert connection.isolation_level == IsolationLevel.REPEATABLE_READ
        connection.close()
    assert stats("postgresql")["connections_num"] == 1


def test_the_no_database_connection_is_never_pooled(server_vendor):
    # (SQLite has no such connection.)
    connection = connections[server_vendor]
    with connection._nodb_cursor() as cursor:
        cursor.execute("SELECT 1")
    assert not registry.pools(NO_DB_ALIAS)
    assert all(pool.alias == server_vendor for pool in registry.pools())


def test_changed_settings_get_a_new_pool_and_retire_the_old(vendor, configure_pool):
    configure_pool(vendor, pool_size=2)
    first = session_id(vendor)
    connections[vendor].close()
    old = registry.pools(vendor)
    assert [p.options.pool_size for p in old] == [2]

    configure_pool(vendor, pool_size=3)
    second = session_id(vendor)
    assert [p.options.pool_size for p in registry.pools(vendor)] == [3]
    assert old[0].retired and old[0].status()["idle"] == 0
    if connections[vendor].vendor != "sqlite":
        assert second != first


def test_close_after_a_direct_close_does_not_touch_the_pooled_connection(vendor, configure_pool):
    # Django's own test_is_usable_after_database_disconnects calls _close()
    # then close(): the second must not close the connection now in the pool.
    configure_pool(vendor, pool_size=1, max_overflow=0)
    connection = connections[vendor]
    first = session_id(vendor)
    connection._close()
    assert connection.connection is None and not connection.is_usable()
    connection.close()
    assert session_id(vendor) == first  # the pooled connection still works
    assert stats(vendor)["connections_num"] == 1
