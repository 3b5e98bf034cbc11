"""SQLAlchemy's own spellings, as the replaced packages' users wrote them, mean what they say.

django-postgrespool2's README sets ``DATABASE_POOL_CLASS = "sqlalchemy.pool.<Class>"``;
the ``sqlalchemy.pool.manage()`` recipe passes ``poolclass=``; django-db-connection-pool's
issues use ``MAX_OVERFLOW: -1``. Each gets the behaviour or a message that says why not.
"""

import sqlite3
import threading

import pytest
import sqlalchemy.pool
from django.core.exceptions import ImproperlyConfigured

import django_pool
from django_pool.config import PoolOptions
from tests.conftest import _require
from tests.helpers import run_threads, session_id


@pytest.mark.parametrize(
    ("spelling", "short"),
    [
        ("sqlalchemy.pool.StaticPool", "static"),
        ("sqlalchemy.pool.impl.StaticPool", "static"),
        ("sqlalchemy.pool.AssertionPool", "assertion"),
        ("sqlalchemy.pool.NullPool", "null"),
        ("sqlalchemy.pool.QueuePool", "queue"),
        (sqlalchemy.pool.StaticPool, "static"),
    ],
)
def test_sqlalchemys_own_class_gets_its_short_name(settings, spelling, short):
    # The pool refuses to share a "static" connection, takes "assertion"
    # checkouts one at a time, and pool_status shows no sizes for "null":
    # each by the short name.
    settings.DATABASE_POOL_CLASS = spelling
    assert PoolOptions.from_settings("x", {}).pool_class == short


def _two_threads_at_once(alias):
    """Two threads each take a connection and hold it until both have one."""
    pids, errors = [], []
    both = threading.Barrier(2)

    def hold(i):
        try:
            pids.append(session_id(alias))
            both.wait(timeout=5)
        except Exception as err:  # the refusal, in the second thread
            errors.append(err)
            both.abort()

    run_threads(2, hold)
    return pids, errors


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_dotted_static_pool_never_opens_two_connections(settings, configure_pool):
    # Set through DATABASE_POOL_CLASS, as postgrespool2 users do: the dotted
    # path opened a second server connection for a second thread, silently.
    _require("postgresql")
    configure_pool("postgresql")
    settings.DATABASE_POOL_CLASS = "sqlalchemy.pool.StaticPool"
    settings.DATABASE_POOL_ARGS = {}
    django_pool.dispose()
    pids, errors = _two_threads_at_once("postgresql")
    assert len(pids) == 1, pids
    refused = [err for err in errors if isinstance(err, ImproperlyConfigured)]
    assert len(refused) == 1, errors  # (the other thread's wait for it is cut short)
    # Named as the project wrote it, not as a POOL entry it does not have.
    assert str(refused[0]).startswith("settings.DATABASE_POOL_CLASS is 'static'"), refused[0]


def test_poolclass_is_pool_class():
    # sqlalchemy.pool.manage(module, poolclass=QueuePool, ...): the recipe's call.
    pooled = django_pool.manage(sqlite3, poolclass=sqlalchemy.pool.QueuePool, pool_size=1)
    pooled.dispose()
    with pytest.raises(ImproperlyConfigured, match="has both 'poolclass' and 'pool_class'"):
        django_pool.manage(sqlite3, poolclass="queue", pool_class="queue")


@pytest.mark.parametrize(("key", "unlimited"), [("max_overflow", -1), ("pool_size", 0)])
def test_sqlalchemys_no_limit_is_refused_with_a_word(key, unlimited):
    with pytest.raises(ImproperlyConfigured) as refused:
        PoolOptions.from_settings("x", {"POOL_OPTIONS": {key.upper(): unlimited}})
    message = str(refused.value)
    assert message.startswith(f"settings.DATABASES['x']['POOL_OPTIONS']['{key.upper()}']")
    assert f"SQLAlchemy reads {unlimited} as no limit" in message


def test_a_project_wide_settings_error_names_the_database(settings):
    settings.DATABASE_POOL_ARGS = {"pool_sizes": 2}
    with pytest.raises(ImproperlyConfigured) as refused:
        PoolOptions.from_settings("reports", {})
    assert str(refused.value).startswith(
        "Database 'reports': settings.DATABASE_POOL_ARGS has an unknown option 'pool_sizes'."
    )


class OwnStaticPool(sqlalchemy.pool.StaticPool):
    """A project's StaticPool subclass: one connection, never shared, like the class."""


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_static_pool_subclass_is_never_shared_either(configure_pool):
    # The refusal went by the name "static": a subclass, named by its dotted
    # path, shared its one connection between threads without a word.
    _require("postgresql")
    configure_pool("postgresql", pool_class=f"{__name__}.OwnStaticPool")
    pids, errors = _two_threads_at_once("postgresql")
    assert len(pids) == 1, pids
    refused = [err for err in errors if isinstance(err, ImproperlyConfigured)]
    assert len(refused) == 1, errors
    assert "OwnStaticPool', which shares one connection" in str(refused[0])


@pytest.mark.parametrize(
    "pool",
    [
        {"use_lifo": True, "poolclass": sqlalchemy.pool.QueuePool},
        {"poolclass": sqlalchemy.pool.QueuePool, "use_lifo": True},
    ],
)
def test_use_lifo_holds_whatever_the_order_of_the_keys(pool):
    assert PoolOptions.from_settings("x", {"POOL": pool}).pool_class == "lifo"


def test_use_lifo_with_a_pool_class_that_ignores_it_is_refused():
    with pytest.raises(ImproperlyConfigured, match="'use_lifo'] is True, which django-pool appl"):
        PoolOptions.from_settings("x", {"POOL": {"use_lifo": True, "pool_class": "null"}})
