"""Release per transaction keeps working, and keeps releasing, under cursor-wrapping packages.

django-debug-toolbar's SQL panel subclasses the backend's cursor wrapper and
calls ``__init__(cursor, db)``, dropping the first wrapper unclosed;
sentry-sdk's Django integration patches ``CursorWrapper.execute``. Both are
switched on for real here (PITFALLS #29, issue 11.3).
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

import django_pool
from tests.testapp.models import Item

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


class Recorder:
    """What the toolbar's SQL panel offers its cursors: a place to record queries."""

    def __init__(self) -> None:
        self.queries: list[dict] = []

    def record(self, **kwargs) -> None:
        self.queries.append(kwargs)

    def new_transaction_id(self, alias: str) -> str:
        return "t1"

    def current_transaction_id(self, alias: str) -> str:
        return "t1"


def served_between_two_queries(alias: str) -> None:
    """With a pool of 1: a query, another thread served, a query; all succeed."""
    assert Item.objects.using(alias).count() == 0
    assert django_pool.get_stats(alias)[alias]["in_use"] == 0  # released already
    other: list[int] = []
    thread = threading.Thread(
        target=lambda: (other.append(Item.objects.using(alias).count()), connections.close_all())
    )
    thread.start()
    thread.join(timeout=10)
    assert other == [0]  # the other thread got the only connection and gave it back
    assert Item.objects.using(alias).count() == 0


@pytest.fixture
def released_per_transaction(server_vendor, configure_pool):
    configure_pool(server_vendor, pool_size=1, max_overflow=0, timeout=5, release="transaction")
    return server_vendor


def test_debug_toolbar_sql_panel(released_per_transaction):
    from debug_toolbar.panels.sql import tracking

    alias = released_per_transaction
    connection = connections[alias]
    recorder = Recorder()
    tracking.wrap_cursor(connection)
    connection._djdt_logger = recorder
    try:
        served_between_two_queries(alias)
    finally:
        # The toolbar patches this wrapper for good; later tests get it clean.
        for name in ("cursor", "chunked_cursor", "_djdt_cursor", "_djdt_chunked_cursor"):
            vars(connection).pop(name, None)
        connection._djdt_logger = None
    # Both ORM queries recorded (a new connection's setup may add a SET).
    assert len([q for q in recorder.queries if "testapp_item" in q["sql"]]) == 2
    assert all(q["alias"] == alias for q in recorder.queries)


@pytest.fixture(scope="module")
def sentry_breadcrumbs():
    """Switch sentry-sdk's Django integration on for this module; put Django back after.

    The integration patches Django's classes for the life of the process (its
    connect() reads connection parameters before Django checks the settings):
    the rest of the suite must not run under it.
    """
    import sentry_sdk
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper
    from sentry_sdk.integrations.django import DjangoIntegration

    patched = [
        (CursorWrapper, "execute"),
        (CursorWrapper, "executemany"),
        (BaseDatabaseWrapper, "connect"),
        (BaseDatabaseWrapper, "_commit"),
        (BaseDatabaseWrapper, "_rollback"),
    ]
    originals = [(klass, name, vars(klass)[name]) for klass, name in patched]
    breadcrumbs: list[dict] = []

    def keep(crumb, hint):
        breadcrumbs.append(crumb)
        return None  # nothing is ever sent

    sentry_sdk.init(
        dsn="http://key@127.0.0.1:9/1",  # loopback, never reached: every event is dropped
        integrations=[DjangoIntegration()],
        default_integrations=False,
        before_breadcrumb=keep,
        before_send=lambda event, hint: None,
    )
    yield breadcrumbs
    sentry_sdk.init()  # switched off again: no DSN
    for klass, name, original in originals:
        setattr(klass, name, original)


def test_sentry_django_integration(released_per_transaction, sentry_breadcrumbs):
    alias = released_per_transaction
    sentry_breadcrumbs.clear()
    served_between_two_queries(alias)
    queries = [c for c in sentry_breadcrumbs if c.get("category") == "query"]
    assert len(queries) >= 2
