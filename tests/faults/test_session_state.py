"""reset_session: one request's session state does not reach the next.

Each test sets state on the pool's only connection, returns it, and looks
for the state from the next checkout, with reset_session on and off (off, it
leaks: that is what the docs warn about).
"""

import pytest
from django.db import DatabaseError, connections

import django_pool
from tests.conftest import _require
from tests.helpers import session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def run(alias, sql, params=()):
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else None


def next_request(alias):
    connections[alias].close()


POSTGRES_STATE = {
    "search_path": (
        ["SET search_path TO tenant_x, public"],
        "SHOW search_path",
        [("tenant_x, public",)],
    ),
    "role": (
        [
            "DROP ROLE IF EXISTS django_pool_tenant",
            "CREATE ROLE django_pool_tenant",
            "SET ROLE django_pool_tenant",
        ],
        "SELECT current_user",
        [("django_pool_tenant",)],
    ),
    "temporary table": (
        ["CREATE TEMPORARY TABLE scratch (x int)"],
        "SELECT count(*) FROM pg_class WHERE relname = 'scratch' AND relpersistence = 't'",
        [(1,)],
    ),
    "advisory lock": (
        ["SELECT pg_advisory_lock(4242)"],
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 "
        "AND pid = pg_backend_pid()",
        [(1,)],
    ),
}


@pytest.mark.parametrize("state", POSTGRES_STATE)
@pytest.mark.parametrize("reset", [True, False])
def test_postgresql_session_state(configure_pool, state, reset):
    _require("postgresql")
    alias = "postgresql"
    configure_pool(alias, pool_size=1, max_overflow=0, reset_session=reset)
    setup, probe, leaked = POSTGRES_STATE[state]
    first = session_id(alias)
    for sql in setup:
        run(alias, sql)
    assert run(alias, probe) == leaked
    next_request(alias)

    assert session_id(alias) == first  # the same physical connection
    assert (run(alias, probe) == leaked) is not reset
    # Django's own setup is back after the reset: UTC, as configured.
    assert run(alias, "SHOW TIME ZONE") == [("UTC",)]
    next_request(alias)
    if state == "role":
        django_pool.dispose(alias)
        run(alias, "DROP ROLE IF EXISTS django_pool_tenant")


@pytest.mark.parametrize("reset", [True, False])
def test_mysql_session_state(configure_pool, reset):
    _require("mysql")
    alias = "mysql"
    if reset and connections[alias].pool_driver.name == "pymysql":
        pytest.skip("PyMySQL cannot reset a session: see test_pymysql_reset_closes")
    configure_pool(alias, pool_size=1, max_overflow=0, reset_session=reset)
    first = session_id(alias)
    run(alias, "SET @tenant = 'x'")
    run(alias, "SET SESSION sql_mode = 'ANSI_QUOTES'")
    run(alias, "CREATE TEMPORARY TABLE scratch (x int)")
    next_request(alias)

    assert session_id(alias) == first
    variable, sql_mode = run(alias, "SELECT @tenant, @@SESSION.sql_mode")[0]
    assert (variable == "x") is not reset
    assert (sql_mode == "ANSI_QUOTES") is not reset
    assert temporary_table_exists(alias) is not reset
    # Django's own setup is back after the reset.
    assert run(alias, "SELECT @@SESSION.sql_auto_is_null")[0][0] == 0


def temporary_table_exists(alias):
    try:
        run(alias, "SELECT COUNT(*) FROM scratch")
    except DatabaseError:
        return False
    return True


def test_pymysql_reset_closes_the_connection(configure_pool):
    _require("mysql")
    if connections["mysql"].pool_driver.name != "pymysql":
        pytest.skip("PyMySQL only")
    configure_pool("mysql", pool_size=1, max_overflow=0, reset_session=True)
    first = session_id("mysql")
    run("mysql", "SET @tenant = 'x'")
    next_request("mysql")
    assert session_id("mysql") != first
    assert list(run("mysql", "SELECT @tenant")) == [(None,)]


def forget_temp_tables(connection):
    """A user's reset hook: what it returns decides whether the connection is kept."""
    connection.execute("DROP TABLE IF EXISTS temp.scratch")
    return True


def test_callable_reset_hook(configure_pool):
    configure_pool(
        "default",
        pool_size=1,
        max_overflow=0,
        reset_session="tests.faults.test_session_state.forget_temp_tables",
    )
    run("default", "CREATE TEMPORARY TABLE scratch (x int)")
    next_request("default")
    assert run("default", "SELECT name FROM sqlite_temp_master") == []
    assert django_pool.get_stats("default")["default"]["connections_num"] == 1
