"""A cursor kept open across ``close()`` fails, as on a closed connection; it never runs elsewhere.

With Django's own ENGINEs, ``close_old_connections()`` (or ``close()``) closes
the connection, and a cursor still open on it fails loudly. A pooled
connection goes back to the pool instead: the cursor, left open, ran its next
statement on the session another thread had borrowed meanwhile, inside that
thread's transaction, and vanished with its rollback. The cursors a checkout
opened are now closed when its connection goes back.
"""

from __future__ import annotations

import threading

import pytest
from django.db import Error, close_old_connections, connections, transaction

from tests.helpers import join, session_id

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.mark.parametrize("release", ["request", "transaction"])
def test_a_cursor_kept_across_close_old_connections_fails(server_vendor, configure_pool, release):
    alias = server_vendor
    configure_pool(alias, pool_size=1, max_overflow=0, release=release)
    handed_over, borrowed, finished = threading.Event(), threading.Event(), threading.Event()
    sessions: dict[str, int] = {}

    def other_request() -> None:
        handed_over.wait(10)
        try:
            with transaction.atomic(using=alias):
                sessions["other"] = session_id(alias)
                borrowed.set()
                finished.wait(10)
                transaction.set_rollback(True, using=alias)
        finally:
            connections[alias].close()

    other = threading.Thread(target=other_request)
    other.start()
    try:
        with connections[alias].cursor() as cursor:
            sessions["mine"] = session_id(alias)
            close_old_connections()  # the connection goes back, the cursor stays open
            handed_over.set()
            assert borrowed.wait(10)
            with pytest.raises(Error):  # as Django says of a closed connection
                cursor.execute("INSERT INTO testapp_item (name) VALUES ('orphan')")
    finally:
        finished.set()
        join(other)
    assert sessions["other"] == sessions["mine"]  # the one connection, lent on
    with connections[alias].cursor() as cursor:  # the pool is whole
        cursor.execute("SELECT COUNT(*) FROM testapp_item WHERE name = 'orphan'")
        assert cursor.fetchone()[0] == 0
