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

import pytest
from django.db import connections

import django_pool
from tests.helpers import join, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

LIMIT = 2


@pytest.fixture
def limited_user(server):
    """Return a user the server lets hold at most LIMIT connections at once."""
    name = f"dp_limited_{os.getpid()}"
    if server.vendor == "postgresql":
        server.execute(f'DROP ROLE IF EXISTS "{name}"')
        server.execute(f'CREATE ROLE "{name}" LOGIN CONNECTION LIMIT {LIMIT}')
    else:
        server.execute(f"DROP USER IF EXISTS '{name}'@'%'")
        server.execute(f"CREATE USER '{name}'@'%' WITH MAX_USER_CONNECTIONS {LIMIT}")
        server.execute(f"GRANT SELECT ON `{server.database}`.* TO '{name}'@'%'")
    yield name
    django_pool.dispose()
    server.wait_until(lambda: not server.session_ids(), "the limited user's sessions to end")
    if server.vendor == "postgresql":
        server.execute(f'DROP ROLE IF EXISTS "{name}"')
    else:
        server.execute(f"DROP USER IF EXISTS '{name}'@'%'")


def test_a_connection_given_back_goes_to_a_checkout_the_server_refuses(
    server, limited_user, configure_pool
):
    alias = server.alias
    configure_pool(
        alias, pool_size=5, max_overflow=0, timeout=10, settings={"USER": limited_user}
    )
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
