"""PooledCreationMixin: test databases can be created, cloned and dropped while pools live.

``CREATE DATABASE ... TEMPLATE`` and ``DROP DATABASE`` fail while anyone is
connected to the database ("is being accessed by other users"). Pooled
connections stay connected after Django "closes" them, so before each of these
steps the pools on that database are retired: idle connections close at
once, lent ones when they come back ("disconnect" the database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import SystemCheckError
from django.db import connections

from . import registry

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

__all__ = ["PooledCreationMixin"]


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
        name = super().create_test_db(*args, **kwargs)
        # Django connects once more "for the side effect of initializing the
        # test database"; the pool's connection goes back (the test thread
        # would otherwise hold one of each alias's places for the whole run,
        # even with release="transaction").
        wrapper.close()
        return name

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
