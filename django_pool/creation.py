"""PooledCreationMixin: test databases can be created, cloned and dropped while pools live.

``CREATE DATABASE ... TEMPLATE`` and ``DROP DATABASE`` fail while anyone is
connected to the database ("is being accessed by other users"). Pooled
connections stay connected after Django "closes" them, so before each of these
steps the pools on that database are retired: idle connections close at
once, lent ones when they come back ("disconnect" the database).

Each ``TransactionTestCase`` test ends with Django closing every connection,
"to get a clean connection at the start of every test". A pooled connection
would carry its session (``SET``, temporary tables, advisory locks) into the
next test: the pools of test databases reset each connection given back
(``reset_session``), unless ``POOL`` says otherwise (``True``, ``False``, a hook).

A pooled alias and one with ``"POOL": False`` on the same database are one
test database, as two stock aliases are: the signature Django compares
names the stock ENGINE a pooled one wraps.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import SystemCheckError
from django.db import connections

from . import registry

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # Django's idiom for mixins: typed against what they mix into
    from django.db.backends.base.creation import BaseDatabaseCreation

    class _CreationBase(BaseDatabaseCreation):
        # Django's private steps this mixin extends, which django-stubs omits.
        def _get_test_db_name(self) -> str: ...
        def _create_test_db(self, verbosity: int, autoclobber: bool, keepdb: bool = ...) -> Any: ...
        def _clone_test_db(self, suffix: str, verbosity: int, keepdb: bool = ...) -> None: ...
        def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None: ...

else:
    _CreationBase = object

__all__ = ["PooledCreationMixin", "disconnect_database", "is_test_database"]

# The test databases of this process: created or kept, cloned, or mirrored by
# the test runner (or pytest-django).
_test_databases: set[str] = set()


def is_test_database(name: object) -> bool:
    """Return whether *name* is a test database of this process (its pools reset sessions)."""
    return str(name) in _test_databases


class PooledCreationMixin(_CreationBase):
    """Mix into a Django ``DatabaseCreation`` class, first. Supported API.

    Nothing to provide: before the test database is created, cloned or
    dropped, the pools on it (and on a clone's source) are retired, so no
    pooled connection keeps it busy.
    """

    def create_test_db(self, *args: Any, **kwargs: Any) -> str:
        # Settings the pool refuses (CONN_MAX_AGE, POOL) fail here, naming the
        # alias, before a test database exists: the first connection after
        # CREATE DATABASE raised them, and the database was left behind.
        wrapper: Any = self.connection
        try:
            wrapper._refuse_bad_pool_settings()
        except ImproperlyConfigured as err:
            raise _as_check_error(err) from None
        # Known before Django's first connection to it builds its pool.
        _test_databases.add(str(self._get_test_db_name()))
        name = super().create_test_db(*args, **kwargs)
        # Django connects once more "for the side effect of initializing the
        # test database"; the pool's connection goes back (the test thread
        # would otherwise hold one of each alias's places for the whole run,
        # even with release="transaction").
        wrapper.close()
        return name

    def get_test_db_clone_settings(self, suffix: str) -> dict[str, Any]:
        # A parallel test run's worker databases (also in a spawned worker).
        clone = super().get_test_db_clone_settings(suffix)
        _test_databases.add(str(clone["NAME"]))
        return clone

    def set_as_test_mirror(self, primary_settings_dict: dict[str, Any]) -> None:
        super().set_as_test_mirror(primary_settings_dict)
        _test_databases.add(str(primary_settings_dict["NAME"]))
        # The alias that creates and drops the database may have Django's own
        # ENGINE ("POOL": False, listed first): its DROP DATABASE would find
        # this alias's pooled connections. They are retired before it.
        for wrapper in connections.all(initialized_only=True):  # (the primary's is)
            if wrapper.settings_dict is primary_settings_dict and not isinstance(
                wrapper.creation, PooledCreationMixin
            ):
                _disconnect_before_drop(wrapper.creation)

    def test_db_signature(self) -> tuple[Any, ...]:
        # (HOST, PORT, ENGINE, test name) on a server: with the stock ENGINE
        # this one pools, an alias with "POOL": False on the same database (a
        # stock ENGINE) is the same test database, created once. Before, it
        # was created again over the pooled alias's, or failed as in use.
        # (SQLite's signature names no ENGINE.)
        engine = self.connection.settings_dict["ENGINE"]
        return tuple(
            _stock_engine(part) if part == engine else part for part in super().test_db_signature()
        )

    def _create_test_db(self, verbosity: int, autoclobber: bool, keepdb: bool = False) -> Any:
        # An old test database of that name may be dropped and created again.
        disconnect_database(self._get_test_db_name())
        return super()._create_test_db(verbosity, autoclobber, keepdb)

    def _clone_test_db(self, suffix: str, verbosity: int, keepdb: bool = False) -> None:
        disconnect_database(self.connection.settings_dict["NAME"])
        disconnect_database(self.get_test_db_clone_settings(suffix)["NAME"])
        return super()._clone_test_db(suffix, verbosity, keepdb)

    def _destroy_test_db(self, test_database_name: str, verbosity: int) -> None:
        disconnect_database(test_database_name)
        return super()._destroy_test_db(test_database_name, verbosity)


def _disconnect_before_drop(creation: Any) -> None:
    # Django's own creation object, for its alias only: its test database is
    # disconnected (disconnect_database) before it is dropped.
    drop = creation._destroy_test_db
    if getattr(drop, "disconnects_first", False):
        return

    def destroy(test_database_name: str, verbosity: int) -> None:
        try:
            disconnect_database(test_database_name)
        except Exception as err:  # noqa: BLE001 - the DROP still runs, and says if it fails
            logger.warning(
                "could not close the pools on %r before dropping it: %s", test_database_name, err
            )
        drop(test_database_name, verbosity)

    destroy.disconnects_first = True  # type: ignore[attr-defined]
    creation._destroy_test_db = destroy


def _stock_engine(engine: str) -> str:
    # The ENGINE a pooled one wraps: a twin's stock backend, a mirror's original.
    from .activation import TWINS
    from .backends.pooled import original_engine

    for stock, twin in TWINS.items():
        if twin == engine and not stock.endswith("_psycopg2"):
            return stock
    return original_engine(engine) or engine


def _as_check_error(err: ImproperlyConfigured) -> SystemCheckError:
    # What manage.py check prints for these settings (django-pool's errors,
    # every alias): manage.py test then shows a few lines, as for a failed
    # system check (a CommandError), not a traceback through the test runner.
    from .checks import check_settings

    errors = [str(e) for e in check_settings() if e.is_serious()] or [str(err)]
    count = f"{len(errors)} issue{'s' if len(errors) > 1 else ''}"
    return SystemCheckError(
        "System check identified some issues:\n\nERRORS:\n"
        + "\n".join(errors)
        + f"\n\nSystem check identified {count}."
    )


def disconnect_database(name: str) -> None:
    """Close every pooled connection to database *name* this process can reach."""
    # The calling thread's wrappers (the alias itself, its test mirrors) first,
    # so their connections are idle when the pools are retired.
    for wrapper in connections.all(initialized_only=True):
        if str(wrapper.settings_dict["NAME"]) == str(name):
            wrapper.close()
    registry.retire(database=str(name))
