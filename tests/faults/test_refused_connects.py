"""A pool allowed more connections than the server gives: requests wait, they do not fail.

The server may refuse a connection the pool may open: a role's ``CONNECTION
LIMIT``, MariaDB's ``MAX_USER_CONNECTIONS``, ``max_connections`` reached. The
checkout then tries its connect again until ``timeout`` (retry.py); a
connection given back meanwhile must go to it. Before, it stayed idle in the
pool while the checkout kept being refused, and failed.
"""

from __future__ import annotations

import os
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connections

import django_pool
from django_pool.checks import check_server
from tests.helpers import join, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

LIMIT = 2


@pytest.fixture
def make_user(server):
    """Return ``make_user(limit)``: a user, no superuser, with at most *limit* connections."""
    made = []

    def make(limit: int | None) -> str:
        name = f"dp_user_{os.getpid()}_{len(made)}"
        made.append(name)
        if server.vendor == "postgresql":
            server.execute(f'DROP ROLE IF EXISTS "{name}"')
            server.execute(f'CREATE ROLE "{name}" LOGIN CONNECTION LIMIT {limit or -1}')
        else:
            server.execute(f"DROP USER IF EXISTS '{name}'@'%'")
            server.execute(f"CREATE USER '{name}'@'%' WITH MAX_USER_CONNECTIONS {limit or 0}")
            server.execute(f"GRANT SELECT ON `{server.database}`.* TO '{name}'@'%'")
        return name

    yield make
    django_pool.dispose()
    server.wait_until(lambda: not server.session_ids(), "the users' sessions to end")
    for name in made:
        if server.vendor == "postgresql":
            server.execute(f'DROP ROLE IF EXISTS "{name}"')
        else:
            server.execute(f"DROP USER IF EXISTS '{name}'@'%'")


@pytest.fixture
def limited_user(make_user):
    """Return a user the server lets hold at most LIMIT connections at once."""
    return make_user(LIMIT)


def test_a_connection_given_back_goes_to_a_checkout_the_server_refuses(
    server, limited_user, configure_pool
):
    alias = server.alias
    configure_pool(alias, pool_size=5, max_overflow=0, timeout=10, settings={"USER": limited_user})
    holding = threading.Barrier(LIMIT + 1)
    give_back = threading.Event()
    outcome: dict[str, object] = {}

    def holder():
        session_id(alias)  # one of the LIMIT connections the server allows
        holding.wait(timeout=10)
        give_back.wait(timeout=10)
        connections[alias].close()  # back to the pool, still open: the server counts it

    def late():
        try:
            outcome["session"] = session_id(alias)
        except Exception as err:  # noqa: BLE001 - the test reports it
            outcome["error"] = err
        finally:
            connections[alias].close()

    holders = [threading.Thread(target=holder) for _ in range(LIMIT)]
    for thread in holders:
        thread.start()
    holding.wait(timeout=10)
    stats = django_pool.get_stats(alias)[alias]
    refused_before = stats["connections_errors"]
    latecomer = threading.Thread(target=late)
    latecomer.start()
    # Refused by the server at least once: it is in its retry loop now.
    server.wait_until(
        lambda: django_pool.get_stats(alias)[alias]["connections_errors"] > refused_before,
        "the server to refuse the third connection",
    )
    give_back.set()
    for thread in [*holders, latecomer]:
        join(thread)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["session"] is not None
    assert django_pool.get_stats(alias)[alias]["connections_num"] == LIMIT


def test_the_server_check_names_the_limit_that_binds(server, limited_user, configure_pool):
    # W001 and pool_status compared the pool with max_connections only: a
    # user limited to 2 connections got no warning for a pool of 5.
    alias = server.alias
    configure_pool(alias, pool_size=5, max_overflow=0, settings={"USER": limited_user})
    limit = (
        f"the CONNECTION LIMIT of role '{limited_user}'"
        if server.vendor == "postgresql"
        else "max_user_connections"
    )
    [warning] = check_server(databases=[alias])
    assert warning.id == "django_pool.W001"
    assert f"but the server has 1 of {LIMIT} free ({limit})" in warning.msg, warning.msg
    out = StringIO()
    call_command("pool_status", database=alias, stdout=out)
    assert f"connection slots free ({limit})" in out.getvalue()


@pytest.mark.parametrize("server_vendor", ["postgresql"], indirect=True)
def test_a_role_that_is_no_superuser_counts_every_session(server, make_user, configure_pool):
    # PostgreSQL hides other roles' backend_type from a role that is no
    # superuser: the count of client sessions was its own only ("99 of 100
    # free" on a busy server), and W001 never fired for an application's role.
    alias = server.alias
    others = [server._connect() for _ in range(3)]  # the administrator's, on the server
    configure_pool(alias, settings={"USER": make_user(None)})  # (Server reads these settings)
    try:
        connection = connections[alias]
        with connection.cursor() as cursor:
            seen = connection.pool_driver.server_status(cursor.cursor)
        connection.close()
    finally:
        for other in others:
            other.close()
    assert seen["connections"] >= len(others) + 1  # theirs and this one, at least
    assert seen["limit"].startswith("max_connections less ")  # the reserved slots are not its
